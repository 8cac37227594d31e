// Micro-benchmark of one instance's step decision: planStep + completeStep with `running` sequences in the batch
// and `queued` waiting, in steady state (finished sequences are replaced so both stay level). This harness is the
// only engine file that reads a timer, and only through the injected `nowMs`.
//   npx tsx scheduler/core/engine/bench.ts [running] [queued] [steps]   → one JSON line per policy
import { performance } from 'node:perf_hooks';
import { Rng } from '../../util/random.js';
import { parseTenants } from '../config/tenants.js';
import { SHAPES } from '../types.js';
import { InstanceEngine } from './engine.js';
import { makeTestSeqInit } from './bench_workload.js';
import { readEngineConfig } from './config.js';
import { makeBatchPolicy } from './registry.js';

export interface BenchOptions {
  running: number;
  queued: number;
  seed: number;
  policy?: string;
  /** Measured steps (after warm-up). Default 2000. */
  steps?: number;
  /** InstanceEngineOptions.recyclePlans. Default true (how the simulator and worker stream run it). */
  recyclePlans?: boolean;
  /** HBM KV blocks per running sequence (64-token blocks). Default 80: ample; 15 keeps KV full and preempts ~0.2 sequences a step. */
  kvBlocksPerSeq?: number;
  /** Tenants the requests are spread over, with fair share on (a tenants section); 0 (default): no section. */
  tenants?: number;
  nowMs?: () => number;
}

export interface BenchResult {
  policy: string;
  tenants: number;
  recyclePlans: boolean;
  kvBlocksPerSeq: number;
  running: number;
  queued: number;
  steps: number;
  p50Us: number;
  p99Us: number;
  maxUs: number;
  meanItemsPerStep: number;
  meanRunning: number;
  admittedPerStep: number;
  preemptionsPerStep: number;
}

/**
 * About one sequence in 1000 ends per step (~1 per step at 1,000 running) and queued prompts average ~1,000 tokens,
 * so every policy can refill the batch (shape-aware admits ≤ 2048 prefill tokens per decode step) and the batch
 * stays near `running`: the figure measured is the full-batch case.
 */
const EOS_RATE = 1 / 1000;
const QUEUED_PROMPT_MAX = 2000;
const WARMUP_STEPS = 1000;

function quantile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

export function benchEngine(opts: BenchOptions): BenchResult {
  const policy = opts.policy ?? 'fcfs';
  const steps = opts.steps ?? 2000;
  const nowMs = opts.nowMs ?? (() => performance.now());
  const rng = new Rng(opts.seed);
  const engine = new InstanceEngine({
    instanceId: 'bench',
    config: readEngineConfig({ kvBlocksTotal: opts.running * (opts.kvBlocksPerSeq ?? 80), maxRunningSeqs: opts.running, maxQueuedSeqs: opts.queued * 2 + 16 }, 'bench.engine'),
    policy: makeBatchPolicy({ name: policy }, 'bench.batch'),
    recyclePlans: opts.recyclePlans ?? true,
    ...(opts.tenants ? { tenants: parseTenants({}) } : {}),
  });
  let nowS = 0;
  let n = 0;
  const tenants = opts.tenants ?? 0;
  const enqueue = (promptMax: number) => {
    const init = makeTestSeqInit(rng, `r${n++}`, rng.pick(SHAPES), nowS, promptMax);
    return engine.enqueue(tenants > 0 ? { ...init, tenant: `t${n % tenants}` } : init, nowS);
  };
  // Warm-up: fill the batch with short prompts, then the queue with realistic ones.
  for (let i = 0; i < opts.running; i++) enqueue(64);
  for (let guard = 0; engine.view().runningRequests < opts.running && guard < 100; guard++) oneStep(engine, rng, (nowS += 0.02), 0);
  for (let i = 0; i < opts.queued; i++) enqueue(QUEUED_PROMPT_MAX);
  // Unmeasured steady-state steps first, so the JIT has compiled the hot path before timing starts.
  for (let s = 0; s < WARMUP_STEPS; s++) {
    const r = oneStep(engine, rng, (nowS += 0.02), EOS_RATE);
    for (let k = 0; k < r.finished; k++) enqueue(QUEUED_PROMPT_MAX);
  }
  const times = new Float64Array(steps);
  let items = 0;
  let admitted = 0;
  let preempted = 0;
  let running = 0;
  for (let s = 0; s < steps; s++) {
    nowS += 0.02;
    const t0 = nowMs();
    const r = oneStep(engine, rng, nowS, EOS_RATE);
    times[s] = (nowMs() - t0) * 1000;
    items += r.items;
    admitted += r.admitted;
    preempted += r.preempted;
    running += engine.view().runningRequests;
    for (let k = 0; k < r.finished; k++) enqueue(QUEUED_PROMPT_MAX);
  }
  times.sort();
  return {
    policy,
    tenants,
    recyclePlans: opts.recyclePlans ?? true,
    kvBlocksPerSeq: opts.kvBlocksPerSeq ?? 80,
    running: opts.running,
    queued: opts.queued,
    steps,
    p50Us: quantile(times, 0.5),
    p99Us: quantile(times, 0.99),
    maxUs: times[times.length - 1] as number,
    meanItemsPerStep: items / steps,
    meanRunning: running / steps,
    admittedPerStep: admitted / steps,
    preemptionsPerStep: preempted / steps,
  };
}

function oneStep(engine: InstanceEngine, rng: Rng, nowS: number, eosRate: number): { items: number; admitted: number; preempted: number; finished: number } {
  const plan = engine.planStep(nowS);
  const eos: number[] = [];
  for (const item of plan.items) if (item.kind === 'decode' && rng.next() < eosRate) eos.push(item.seqId);
  const items = plan.items.length;
  const finished = engine.completeStep(plan, { stepId: plan.stepId, durationS: 0.02, finishedSeqIds: eos }, nowS + 0.02);
  return { items, admitted: plan.admitted.length, preempted: plan.preempted.length, finished: finished.length };
}

if (process.argv[1]?.endsWith('bench.ts')) {
  const [running = 1000, queued = 10000, steps = 2000] = process.argv.slice(2).map(Number);
  benchEngine({ running, queued, steps, seed: 0 }); // discarded: the first run in a process pays for JIT and heap growth
  const cases = [
    { recyclePlans: true, kvBlocksPerSeq: 80 },
    { recyclePlans: false, kvBlocksPerSeq: 80 },
    { recyclePlans: true, kvBlocksPerSeq: 15 },
    // Fair share between 16 tenants (a tenants section): the per-step cost of the tenant heap and fair victims.
    { recyclePlans: true, kvBlocksPerSeq: 80, tenants: 16 },
    { recyclePlans: true, kvBlocksPerSeq: 15, tenants: 16 },
  ];
  for (const c of cases) {
    for (const policy of ['fcfs', 'priority', 'shape-aware']) {
      console.log(JSON.stringify(benchEngine({ running, queued, steps, seed: 1, policy, ...c })));
    }
  }
}
