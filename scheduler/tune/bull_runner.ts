// `tune --redis`: the coordinator's TrialRunner over BullMQ. Each rung's trials become jobs on one queue, with
// jobId = `<run id>.<trial id>` so a trial can never be queued twice; any number of tune-workers take them. Results
// come back as `completed` events (read from the event stream position taken before the jobs were added, so none
// is missed) and are kept by trial id: a trial counts once whatever the events say. A worker killed mid-trial
// leaves its job locked until the lock expires; another worker's stalled check puts it back and it runs again
// elsewhere (BullMQ's stalled-job recovery). A job that fails stops the run with the worker's reason; a rung with
// unfinished trials after `rungTimeoutS` stops it with their states.
import { Queue, QueueEvents } from 'bullmq';
import { lastEventId } from './redis.js';
import type { TrialResult, TrialRunner, TrialSpec } from './types.js';

/** Bumped when TrialSpec or TrialResult change shape: workers refuse jobs of another protocol. */
export const TUNE_PROTOCOL = 1;
export const TRIAL_JOB_NAME = 'trial';

export interface TrialJobData {
  protocol: number;
  runId: string;
  spec: TrialSpec;
}

export interface BullRunnerOptions {
  redisUrl: string;
  queue: string;
  /** Distinguishes this run's jobs from earlier runs' on the same queue. */
  runId: string;
  rungTimeoutS: number;
  log?: (line: string) => void;
}

export function jobIdOf(runId: string, trialId: string): string {
  return `${runId}.${trialId}`;
}

function isResult(value: unknown, spec: TrialSpec): value is TrialResult {
  const r = value as Partial<TrialResult> | null;
  return typeof r === 'object' && r !== null && r.id === spec.id && typeof r.metrics?.goodput_per_gpu_hour === 'number';
}

export async function makeBullRunner(o: BullRunnerOptions): Promise<TrialRunner> {
  const connection = { url: o.redisUrl };
  const queue = new Queue<TrialJobData>(o.queue, { connection });
  queue.on('error', (err) => o.log?.(`queue: ${err.message}`));
  const events = new QueueEvents(o.queue, { connection, lastEventId: await lastEventId(o.redisUrl, o.queue) });
  events.on('error', (err) => o.log?.(`queue events: ${err.message}`));
  await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);

  async function describeUnfinished(pending: ReadonlyMap<string, TrialSpec>): Promise<string> {
    const states = await Promise.all([...pending.keys()].map(async (jobId) => `${pending.get(jobId)?.id} ${await queue.getJobState(jobId)}`));
    return states.join(', ');
  }

  return {
    async runRung(specs, onResult) {
      const pending = new Map(specs.map((s) => [jobIdOf(o.runId, s.id), s]));
      const results = new Map<string, TrialResult>();
      let settle: { resolve: () => void; reject: (e: Error) => void } | undefined;
      const finished = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
      finished.catch(() => {}); // awaited below; this only keeps an early rejection from counting as unhandled
      const onCompleted = ({ jobId, returnvalue }: { jobId: string; returnvalue: unknown }) => {
        const spec = pending.get(jobId);
        if (!spec) return; // another run's job, or an event for a trial already counted
        const value = typeof returnvalue === 'string' ? (JSON.parse(returnvalue) as unknown) : returnvalue;
        if (!isResult(value, spec)) {
          settle?.reject(new Error(`tune: trial ${spec.id}: a worker returned something that is not its result`));
          return;
        }
        pending.delete(jobId);
        results.set(spec.id, value);
        onResult(value);
        if (pending.size === 0) settle?.resolve();
      };
      const onFailed = ({ jobId, failedReason }: { jobId: string; failedReason: string }) => {
        const spec = pending.get(jobId);
        if (spec) settle?.reject(new Error(`tune: trial ${spec.id} failed on a tune-worker: ${failedReason}`));
      };
      events.on('completed', onCompleted);
      events.on('failed', onFailed);
      const timer = setTimeout(() => {
        void describeUnfinished(pending).then(
          (states) => settle?.reject(new Error(`tune: rung ${specs[0]?.rung}: ${pending.size} of ${specs.length} trials unfinished after ` +
            `${o.rungTimeoutS} s (${states}); are tune-workers running on queue '${o.queue}' at ${o.redisUrl}?`)),
          (err: Error) => settle?.reject(new Error(`tune: rung timed out and Redis did not answer: ${err.message}`)),
        );
      }, o.rungTimeoutS * 1000);
      try {
        await queue.addBulk(specs.map((spec) => ({
          name: TRIAL_JOB_NAME,
          data: { protocol: TUNE_PROTOCOL, runId: o.runId, spec },
          // attempts 1: a trial that throws is a bug to show, not to retry; a stalled trial (killed worker) is
          // recovered by the stalled check, which does not spend attempts.
          opts: { jobId: jobIdOf(o.runId, spec.id), attempts: 1, removeOnComplete: { age: 24 * 3600 }, removeOnFail: { age: 7 * 24 * 3600 } },
        })));
        if (specs.length > 0) await finished;
      } finally {
        clearTimeout(timer);
        events.off('completed', onCompleted);
        events.off('failed', onFailed);
      }
      return specs.map((s) => results.get(s.id) as TrialResult);
    },
    async close() {
      await events.close();
      await queue.close();
    },
  };
}
