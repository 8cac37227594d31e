// The tune-worker: a BullMQ Worker on the tuning queue whose trials run in simulator child processes (one per
// concurrent job), so that this process only talks to Redis and keeps renewing its job locks however long a trial
// takes. Killed, its locks expire after `lockMs` and a live worker's stalled check (every `stalledIntervalMs`) puts
// the job back for someone else; `maxStalled` bounds how often one trial may be recovered before it fails.
import { Worker, type Job } from 'bullmq';
import { TRIAL_JOB_NAME, TUNE_PROTOCOL, type TrialJobData } from './bull_runner.js';
import { makeChildRunner, type ChildRunner } from './child_runner.js';
import type { TrialResult } from './types.js';

export interface TuneWorkerOptions {
  redisUrl: string;
  queue: string;
  /** Stored on each result (`worker`); default host:pid. */
  name: string;
  /** Trials at once, each in its own simulator process. */
  concurrency: number;
  lockMs: number;
  stalledIntervalMs: number;
  maxStalled: number;
  log: (line: string) => void;
}

export const TUNE_WORKER_DEFAULTS = { concurrency: 1, lockMs: 30_000, stalledIntervalMs: 15_000, maxStalled: 2 } as const;

export interface TuneWorker {
  /**
   * Stops taking jobs, waits for the trials in flight (force: abandons them to the stalled check), kills the
   * simulator processes. Bounded even when Redis is gone: BullMQ's own close then waits at most CLOSE_GRACE_MS.
   */
  close(force?: boolean): Promise<void>;
}

/**
 * How long BullMQ may take to close once no trial of ours is running: it retries forever without Redis, and after a
 * forced close it would wait for the abandoned trial, which never settles (so that one gets less).
 */
const CLOSE_GRACE_MS = 5000;
const FORCED_CLOSE_GRACE_MS = 1000;

export async function startTuneWorker(o: TuneWorkerOptions): Promise<TuneWorker> {
  const idle: ChildRunner[] = Array.from({ length: o.concurrency }, () => makeChildRunner());
  const all = [...idle];
  const inFlight = new Set<Promise<unknown>>();
  /** Set by a forced close: trials in flight are left to the stalled check rather than failed (see processTrial). */
  let abandoning = false;

  async function processTrial(job: Job<TrialJobData>): Promise<TrialResult> {
    const { protocol, spec } = job.data;
    if (job.name !== TRIAL_JOB_NAME || protocol !== TUNE_PROTOCOL) {
      throw new Error(`job ${job.id}: not a protocol-${TUNE_PROTOCOL} trial (name ${job.name}, protocol ${protocol}); is the coordinator another nvlsched version?`);
    }
    const runner = idle.pop();
    if (!runner) throw new Error('tune-worker: more jobs than simulator processes (a bug)');
    const startMs = Date.now();
    o.log(`started trial ${spec.id} (job ${job.id})`);
    const running = runner.run(spec);
    inFlight.add(running);
    try {
      const metrics = await running;
      o.log(`finished trial ${spec.id} in ${((Date.now() - startMs) / 1000).toFixed(1)} s`);
      return { id: spec.id, rung: spec.rung, sample: spec.sample, duration_s: spec.durationS, params: spec.params, metrics, worker: o.name };
    } catch (error) {
      // A forced close kills the simulator under a running trial: failing the job would end the whole tuning run,
      // so it is never settled; its lock lapses with this process and another worker runs it again.
      if (abandoning) await new Promise<never>(() => {});
      throw error;
    } finally {
      inFlight.delete(running);
      idle.push(runner);
    }
  }

  const worker = new Worker<TrialJobData, TrialResult>(o.queue, processTrial, {
    connection: { url: o.redisUrl, maxRetriesPerRequest: null },
    name: o.name,
    concurrency: o.concurrency,
    lockDuration: o.lockMs,
    stalledInterval: o.stalledIntervalMs,
    maxStalledCount: o.maxStalled,
    autorun: false,
  });
  worker.on('error', (err) => o.log(`worker: ${err.message}`));
  worker.on('failed', (job, err) => o.log(`trial ${job?.data.spec.id ?? '?'} failed: ${err.message}`));
  await worker.waitUntilReady();
  void worker.run().catch((err: Error) => o.log(`worker stopped: ${err.message}`));
  o.log(`taking trials from queue '${o.queue}' at ${o.redisUrl} (${o.concurrency} at a time)`);
  return {
    async close(force = false) {
      abandoning ||= force;
      // Forced: the simulators go first, so no trial in flight can still complete here (it runs again elsewhere).
      if (force) for (const runner of all) runner.close();
      const closing = worker.close(force).catch((err: Error) => o.log(`close: ${err.message}`));
      // The simulators do not need Redis: trials in flight finish (their results are lost if Redis is gone).
      if (!force) await Promise.allSettled([...inFlight]);
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, force ? FORCED_CLOSE_GRACE_MS : CLOSE_GRACE_MS)));
      await Promise.race([closing, grace]);
      clearTimeout(timer);
      for (const runner of all) runner.close();
    },
  };
}
