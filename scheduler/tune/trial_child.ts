// The tune-worker's simulator process (forked with an IPC channel by child_runner.ts). The simulator is synchronous:
// running it here keeps the worker's event loop free to renew its BullMQ job lock, so a long trial is never taken
// for a stalled one. Messages: in {type: 'run', spec}; out {type: 'done', id, metrics} | {type: 'error', id,
// message}. It exits when the worker goes away: on IPC disconnect, or — checked during a run, when the event loop
// is blocked — when its parent process changed (the worker was killed).
import { runTrial } from './trial.js';
import type { TrialSpec } from './types.js';

const parentPid = process.ppid;

function orphaned(): boolean {
  return process.ppid !== parentPid;
}

async function handle(spec: TrialSpec): Promise<void> {
  try {
    const metrics = await runTrial(spec, () => {
      if (orphaned()) process.exit(1);
    });
    process.send?.({ type: 'done', id: spec.id, metrics });
  } catch (error) {
    process.send?.({ type: 'error', id: spec.id, message: (error as Error).message });
  }
}

process.on('message', (message: unknown) => {
  const m = message as { type?: string; spec?: TrialSpec };
  if (m.type === 'run' && m.spec) void handle(m.spec);
});
process.on('disconnect', () => process.exit(0));
process.send?.({ type: 'ready' });
