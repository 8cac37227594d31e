// Distributed tuning over a real Redis and real `nvlsched tune-worker` processes: a worker killed with SIGKILL in
// the middle of a trial loses nothing — the trial is retried by another worker, every trial is counted exactly
// once with metrics, and the distributed results equal the in-process ones trial for trial.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { Queue } from 'bullmq';

import { packageRoot } from '../util/paths.js';
import { jobIdOf, makeBullRunner } from './bull_runner.js';
import { makeLocalRunner } from './local_runner.js';
import { startTestRedis } from './testing/redis_server.js';
import { tune, type TuneOptions } from './tune.js';
import { withTimeout as waitAtMost } from '../util/timeout.js';

const MAIN = path.join(packageRoot(), 'scheduler', 'cli', 'main.ts');
const LIMIT_MS = 60_000;

// Two rungs: 4 configurations on 2 simulated s, 2 (+ the default) on 4 s. Light load keeps each trial ~1 s.
const OPTIONS: TuneOptions = {
  workload: { seed: 3, strict: false, rateScale: 2 },
  goodput: { all: {}, byShape: {} },
  samples: 4, eta: 2, minDurationS: 2, maxDurationS: 4, seed: 3,
};

/** Removes a test queue's keys (a shared REDIS_URL keeps no leftovers); Redis may already be gone. */
async function dropQueue(url: string, name: string): Promise<void> {
  const q = new Queue(name, { connection: { url } });
  try {
    await q.obliterate({ force: true });
  } finally {
    await q.close();
  }
}

/** Waits at most LIMIT_MS for `p`. */
const withTimeout = <T>(p: Promise<T>, what: string): Promise<T> => waitAtMost(p, LIMIT_MS, what);

interface WorkerProc {
  child: ChildProcess;
  exited: Promise<number | null>;
  /** Resolves with the trial id of the first "started trial" line. */
  firstTrial: Promise<string>;
  /** Resolves at the first stderr line matching. */
  logged: (pattern: RegExp) => Promise<string>;
}

function startWorker(url: string, queue: string, name: string, detached: boolean): Promise<WorkerProc> {
  const args = ['--import', 'tsx', MAIN, 'tune-worker', '--redis', url, '--queue', queue, '--name', name,
    '--lock-ms', '1500', '--stalled-interval-ms', '500'];
  // Detached: its own process group, so the test can kill the worker and its simulator child together (a machine lost).
  const child = spawn(process.execPath, args, { cwd: packageRoot(), stdio: ['ignore', 'pipe', 'pipe'], detached });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const lines = createInterface({ input: child.stderr as NodeJS.ReadableStream });
  const logged = (pattern: RegExp) => withTimeout(new Promise<string>((resolve) => {
    const onLine = (line: string) => {
      if (!pattern.test(line)) return;
      lines.off('line', onLine);
      resolve(line);
    };
    lines.on('line', onLine);
  }), `tune-worker ${name} to log ${pattern}`);
  const firstTrial = logged(/ started trial /).then((line) => (/ started trial (\S+)/.exec(line) as RegExpExecArray)[1] as string);
  const ready = new Promise<WorkerProc>((resolve, reject) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).once('line', (line) => {
      const event = JSON.parse(line) as { event?: string };
      if (event.event === 'ready') resolve({ child, exited, firstTrial, logged });
      else reject(new Error(`unexpected first line: ${line}`));
    });
    child.once('exit', (code) => reject(new Error(`tune-worker ${name} exited (${code}) before it was ready`)));
  });
  return withTimeout(ready, `tune-worker ${name} to be ready`);
}

test('tune over BullMQ: a worker SIGKILLed mid-trial, its trial retried elsewhere, every trial once', async (t) => {
  const redis = await startTestRedis();
  if ('skip' in redis) {
    t.skip(redis.skip);
    return;
  }
  const queue = `tune-test-${process.pid}-${Date.now().toString(36)}`;
  const runId = 'kill';
  const workers: WorkerProc[] = [];
  const runner = await makeBullRunner({ redisUrl: redis.url, queue, runId, rungTimeoutS: 50 });
  try {
    const a = await startWorker(redis.url, queue, 'A', true);
    workers.push(a);
    const tuning = tune(OPTIONS, runner);
    tuning.catch(() => {});
    const killed = await withTimeout(a.firstTrial, 'worker A to start a trial');
    process.kill(-(a.child.pid as number), 'SIGKILL');
    await a.exited;
    workers.push(await startWorker(redis.url, queue, 'B', false));
    const result = await withTimeout(tuning, 'the tuning run');

    const ids = result.trials.map((r) => r.id);
    assert.equal(new Set(ids).size, ids.length, 'no trial twice');
    // Rung 0: all four; rung 1: the best two, plus the default if halving dropped it.
    assert.deepEqual(ids.slice(0, 4), ['r0-s00', 'r0-s01', 'r0-s02', 'r0-s03']);
    assert.ok(ids.includes('r1-s00') && (ids.length === 6 || ids.length === 7), ids.join(' '));
    for (const r of result.trials) assert.ok(r.metrics.requests > 0 && r.metrics.goodput_per_gpu_hour >= 0, `${r.id} has metrics`);
    const retried = result.trials.find((r) => r.id === killed);
    assert.equal(retried?.worker, 'B', `the killed trial ${killed} was finished by the other worker`);
    assert.ok(result.trials.every((r) => r.worker === 'B'), 'A finished nothing: it was killed during its first trial');

    // BullMQ's view: that job was started twice (once on A, once on B) and recovered once from the stalled state.
    const q = new Queue(queue, { connection: { url: redis.url } });
    try {
      const job = await q.getJob(jobIdOf(runId, killed));
      assert.equal(await job?.getState(), 'completed');
      assert.equal(job?.attemptsStarted, 2);
      assert.equal(job?.stalledCounter, 1);
      assert.equal(job?.processedBy, 'B');
    } finally {
      await q.close();
    }

    // The same search in this process gives the same trials with the same metrics (sim wall time aside).
    const local = await tune(OPTIONS, makeLocalRunner());
    const strip = (m: Record<string, unknown>) => ({ ...m, sim_wall_s: 0 });
    assert.deepEqual(result.trials.map((r) => [r.id, strip({ ...r.metrics })]), local.trials.map((r) => [r.id, strip({ ...r.metrics })]));
    assert.equal(result.best.id, local.best.id);
  } finally {
    await runner.close();
    for (const w of workers) {
      if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGTERM');
      await withTimeout(w.exited, 'a tune-worker to exit');
    }
    await dropQueue(redis.url, queue);
    await redis.stop();
  }
});

test('tune-worker: a second signal abandons its trial to another worker (not failed); without Redis it still exits', async (t) => {
  const redis = await startTestRedis();
  if ('skip' in redis) {
    t.skip(redis.skip);
    return;
  }
  const queue = `tune-test-${process.pid}-${Date.now().toString(36)}-term`;
  const workers: WorkerProc[] = [];
  const runner = await makeBullRunner({ redisUrl: redis.url, queue, runId: 'term', rungTimeoutS: 50 });
  let redisStopped = false;
  try {
    const a = await startWorker(redis.url, queue, 'A', false);
    workers.push(a);
    const tuning = tune(OPTIONS, runner);
    tuning.catch(() => {});
    const abandoned = await withTimeout(a.firstTrial, 'worker A to start a trial');
    // Two different signals (two of one kind may merge into one delivery), both within the trial's ~1 s.
    a.child.kill('SIGINT');
    a.child.kill('SIGTERM');
    await a.logged(/: abandoning the trials in flight/);
    assert.equal(await withTimeout(a.exited, 'worker A to exit'), 0);
    workers.push(await startWorker(redis.url, queue, 'B', false));
    const result = await withTimeout(tuning, 'the tuning run');
    assert.equal(new Set(result.trials.map((r) => r.id)).size, result.trials.length);
    assert.equal(result.trials.find((r) => r.id === abandoned)?.worker, 'B');
    await runner.close();

    // Redis gone (only when this test started it): a SIGTERM still ends the worker, within its close grace.
    if (!process.env.REDIS_URL) {
      await redis.stop();
      redisStopped = true;
      const b = workers[1] as WorkerProc;
      b.child.kill('SIGTERM');
      assert.equal(await withTimeout(b.exited, 'worker B to exit without Redis'), 0);
    }
  } finally {
    await runner.close();
    for (const w of workers) {
      if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
      await withTimeout(w.exited, 'a tune-worker to exit');
    }
    if (!redisStopped) {
      await dropQueue(redis.url, queue);
      await redis.stop();
    }
  }
});
