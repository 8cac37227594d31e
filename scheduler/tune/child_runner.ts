// A simulator child process (trial_child.ts) that runs one trial at a time over IPC, for the tune-worker: the
// worker's own event loop stays free (BullMQ lock renewal, signals) while the synchronous simulator runs. A child
// that dies mid-trial fails that trial and is replaced on the next run; close() kills it.
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TrialMetrics, TrialSpec } from './types.js';

/** trial_child next to this module, with this module's extension (.ts under tsx, .js in dist/). */
function childScript(): string {
  const here = fileURLToPath(import.meta.url);
  return path.join(path.dirname(here), `trial_child${path.extname(here)}`);
}

type Reply = { type: 'ready' } | { type: 'done'; id: string; metrics: TrialMetrics } | { type: 'error'; id: string; message: string };

export interface ChildRunner {
  run(spec: TrialSpec): Promise<TrialMetrics>;
  close(): void;
  /** The child's pid while one is running (tests). */
  readonly pid: number | undefined;
}

export function makeChildRunner(): ChildRunner {
  let child: ChildProcess | undefined;
  let busy = false;

  function start(): ChildProcess {
    // execArgv is inherited, so a worker started through tsx forks a child that can load the .ts module.
    const c = fork(childScript(), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    c.once('exit', () => {
      if (child === c) child = undefined;
    });
    return c;
  }

  return {
    get pid() {
      return child?.pid;
    },
    run(spec) {
      if (busy) return Promise.reject(new Error('child runner: one trial at a time'));
      busy = true;
      const c = (child ??= start());
      return new Promise<TrialMetrics>((resolve, reject) => {
        const onMessage = (message: unknown) => {
          const m = message as Reply;
          if (m.type === 'ready' || m.id !== spec.id) return;
          done();
          if (m.type === 'done') resolve(m.metrics);
          else reject(new Error(`trial ${spec.id}: ${m.message}`));
        };
        const onExit = (code: number | null, signal: string | null) => {
          done();
          reject(new Error(`trial ${spec.id}: the simulator process exited (${signal ?? `code ${code}`}) mid-trial`));
        };
        const done = () => {
          busy = false;
          c.off('message', onMessage);
          c.off('exit', onExit);
        };
        c.on('message', onMessage);
        c.once('exit', onExit);
        c.send({ type: 'run', spec });
      });
    },
    close() {
      const c = child;
      child = undefined;
      if (c && c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    },
  };
}
