// `nvlsched bench sched [--json]`: what a scheduling decision costs in process, at the scale — 72 model
// instances (one GB200 NVL72 rack, Llama 3.1 70B at TP1), about 1,000 running and 10,000 queued sequences, the KV
// index holding every admitted prompt's blocks (fed as worker KV events). Per policy it times
//   routing decision: Scheduler.submit() — classify, route, KV prefix lookup over all 72 instances, placement
//                     pipeline, admission, enqueue (the request is then cancelled, untimed, to keep the state);
//   step decision:    one instance's planStep() + completeStep() (bookkeeping of the step's outcome).
// Figures, not tests: a shared machine moves them by ±30%; compare policies within one run.
import { performance } from 'node:perf_hooks';

import { parseFlags } from '../scheduler/cli/args.js';
import { ENGINE_DEFAULTS, type EngineConfig } from '../scheduler/core/engine/config.js';
import { POLICY_NAMES, readPolicy } from '../scheduler/core/policy.js';
import { Scheduler } from '../scheduler/core/scheduler.js';
import { TEST_POOL, clusterInstances, makeWorkload } from '../scheduler/core/testing/cluster.js';
import { packEvents } from '../scheduler/kv/event_batch.js';
import type { KvEvent } from '../scheduler/kv/types.js';
import { makeFittedOpTimes } from '../scheduler/perf/fitted_optimes.js';
import { getModel } from '../scheduler/perf/models.js';
import { makePerfCostModel } from '../scheduler/perf/placement_cost.js';
import { Rng } from '../scheduler/util/random.js';

export interface SchedBenchOptions {
  policy: string;
  instances: number;
  running: number;
  queued: number;
  decisions: number;
  steps: number;
  seed: number;
  /** Timings per routing decision for the min-of-k figures (default 3). */
  repeats?: number;
}

export interface SchedBenchResult {
  policy: string;
  instances: number;
  running: number;
  queued: number;
  indexed_hashes: number;
  route_p50_us: number;
  route_p99_us: number;
  /** Each decision timed `repeats` times (same request, same state: cancelled in between); the fastest kept. */
  route_min_p50_us: number;
  route_min_p99_us: number;
  step_p50_us: number;
  step_p99_us: number;
  route_rejected: number;
}

function quantile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

export function benchSched(o: SchedBenchOptions): SchedBenchResult {
  const engine: EngineConfig = {
    ...ENGINE_DEFAULTS,
    preemptionMode: { ...ENGINE_DEFAULTS.preemptionMode },
    kvBlocksTotal: 200_000,
    hostKvBlocksTotal: 0,
    maxRunningSeqs: Math.ceil(o.running / o.instances),
    maxQueuedSeqs: 1_000_000,
  };
  const instances = clusterInstances({ policy: o.policy, seed: o.seed, instances: o.instances, engine });
  const cost = makePerfCostModel(
    [{ pool: TEST_POOL.name, model: getModel('llama-3.1-70b'), instance: { gpu: 'gb200', tensorParallel: 1, expertParallel: 1, gemmDtype: 'fp8' }, kvDtype: 'fp8', blockTokens: engine.blockTokens }],
    makeFittedOpTimes(),
  );
  // Admission `always` so that the queues can be filled to the 10,000; the configured admission plugin
  // itself is a few comparisons (scheduler/core/admission).
  const base = readPolicy(o.policy).name;
  const s = new Scheduler({ policy: { base, admission: { name: 'always' } }, pools: [TEST_POOL], instances, cost, rng: new Rng(o.seed) });
  const eventIds = new Map<string, number>();
  const feed = (instanceId: string, hashes: readonly bigint[]) => {
    const member = instances.find((i) => i.instanceId === instanceId)?.members[0];
    if (!member || hashes.length === 0) return;
    let id = eventIds.get(member.workerId) ?? 0;
    let parent = 0n;
    const events: KvEvent[] = hashes.map((hash) => {
      const e: KvEvent = { eventId: ++id, kind: 'stored', location: { tier: 'device', index: member.gpus[0] as number }, hash, parentHash: parent };
      parent = hash;
      return e;
    });
    eventIds.set(member.workerId, id);
    s.applyKvEvents(member.workerId, packEvents(events));
  };

  // Fill: submit everything, step each instance until its running set is full (no sequence finishes).
  const fill = makeWorkload(o.seed, o.running + o.queued, 1e9);
  for (const w of fill) {
    const r = s.submit({ ...w.req, arrivalS: 0 }, 0);
    if (r.ok && !r.external) feed(r.instanceId, w.req.blockHashes);
  }
  let nowS = 0;
  const ids = s.instanceIds();
  for (let round = 0; round < 64; round++) {
    for (const id of ids) {
      const plan = s.planStep(id, nowS);
      s.completeStep(id, plan, { stepId: plan.stepId, durationS: 0.02, finishedSeqIds: [] }, nowS + 0.02);
    }
    nowS += 0.02;
  }
  let running = 0;
  let queued = 0;
  for (const id of ids) {
    running += s.instanceView(id).runningRequests;
    queued += s.instanceView(id).queuedRequests;
  }

  const stepUs = new Float64Array(o.steps);
  for (let k = 0; k < o.steps; k++) {
    const id = ids[k % ids.length] as string;
    const t0 = performance.now();
    const plan = s.planStep(id, nowS);
    s.completeStep(id, plan, { stepId: plan.stepId, durationS: 0.02, finishedSeqIds: [] }, nowS);
    stepUs[k] = (performance.now() - t0) * 1000;
    if (k % ids.length === ids.length - 1) nowS += 0.02;
  }
  // Warm-up, untimed: the fill above leaves a major GC in progress and routing code paths the fill never took
  // (decisions against full queues); timing starts once the process is in the steady state a gateway runs in.
  makeWorkload(o.seed + 2, Math.min(2000, o.decisions), 1e9).forEach((w, k) => {
    const req = { ...w.req, requestId: `warm${k}`, arrivalS: nowS };
    if (s.submit(req, nowS).ok) s.cancel(req.requestId, 'bench warm-up', nowS);
  });
  const probe = makeWorkload(o.seed + 1, o.decisions, 1e9);
  const routeUs = new Float64Array(o.decisions);
  // The same decision timed again (the request is cancelled in between, so the state is the same): the fastest of
  // the tries is the decision's own cost with less of what a shared machine adds (preemption, interrupts, another
  // process's cache traffic). The first try is the plain figure.
  const repeats = Math.max(1, o.repeats ?? 3);
  const routeMinUs = new Float64Array(o.decisions);
  let rejected = 0;
  probe.forEach((w, k) => {
    const req = { ...w.req, requestId: `probe${k}`, arrivalS: nowS };
    let best = Infinity;
    for (let t = 0; t < repeats; t++) {
      const t0 = performance.now();
      const r = s.submit(req, nowS);
      const us = (performance.now() - t0) * 1000;
      if (t === 0) routeUs[k] = us;
      best = Math.min(best, us);
      if (r.ok) s.cancel(req.requestId, 'bench probe', nowS);
      else if (t === 0) rejected++;
    }
    routeMinUs[k] = best;
  });
  routeMinUs.sort();
  stepUs.sort();
  routeUs.sort();
  const round = (x: number) => Math.round(x * 10) / 10;
  return {
    policy: o.policy,
    instances: o.instances,
    running,
    queued,
    indexed_hashes: s.kvIndex.stats().indexedHashes,
    route_p50_us: round(quantile(routeUs, 0.5)),
    route_p99_us: round(quantile(routeUs, 0.99)),
    route_min_p50_us: round(quantile(routeMinUs, 0.5)),
    route_min_p99_us: round(quantile(routeMinUs, 0.99)),
    step_p50_us: round(quantile(stepUs, 0.5)),
    step_p99_us: round(quantile(stepUs, 0.99)),
    route_rejected: rejected,
  };
}

/**
 * The machine's own noise at this scale: a fixed, allocation-free job of about 20 µs timed 3,000 times. On an idle
 * core its p99 is close to its p50; what a shared machine adds to every timing shows as p99 − p50 here.
 */
export function machineNoise(samples = 3000): { fixed_job_p50_us: number; fixed_job_p99_us: number } {
  const data = new Float64Array(4096).map((_, i) => i * 1.5);
  const lookup = new Map<number, number>();
  for (let i = 0; i < 4096; i++) lookup.set(i, i);
  let sink = 0;
  const job = (): void => {
    let acc = 0;
    for (let r = 0; r < 6; r++) for (let i = 0; i < 4096; i += 7) acc += (data[i] as number) * (lookup.get(i) ?? 0);
    sink += acc;
  };
  for (let k = 0; k < 1000; k++) job();
  const us = new Float64Array(samples);
  for (let k = 0; k < samples; k++) {
    const t0 = performance.now();
    job();
    us[k] = (performance.now() - t0) * 1000;
  }
  us.sort();
  if (sink === 0) throw new Error('unreachable: keeps the job from being optimised away');
  const round = (x: number) => Math.round(x * 10) / 10;
  return { fixed_job_p50_us: round(quantile(us, 0.5)), fixed_job_p99_us: round(quantile(us, 0.99)) };
}

export async function run(argv: string[]): Promise<number> {
  const { flags } = parseFlags(argv, {
    json: { type: 'boolean', help: 'only the JSON line' },
    policy: { type: 'string', help: `comma-separated policies (default shape-aware,dynamo-kv; "all": ${POLICY_NAMES.join(', ')})` },
    instances: { type: 'number', help: 'model instances (default 72)' },
    running: { type: 'number', help: 'running sequences in all (default 1000)' },
    queued: { type: 'number', help: 'queued sequences in all (default 10000)' },
    decisions: { type: 'number', help: 'routing decisions timed (default 3000)' },
    steps: { type: 'number', help: 'step decisions timed (default 3000)' },
    seed: { type: 'number', help: 'workload seed (default 1)' },
    repeats: { type: 'number', help: 'timings per routing decision for the min-of-k columns (default 3)' },
  });
  const policyFlag = (flags.policy as string | undefined) ?? 'shape-aware,dynamo-kv';
  const policies = policyFlag === 'all' ? POLICY_NAMES : policyFlag.split(',');
  const results: SchedBenchResult[] = [];
  for (const policy of policies) {
    if (!flags.json) process.stderr.write(`bench sched: ${policy} ...\n`);
    results.push(benchSched({
      policy,
      instances: (flags.instances as number | undefined) ?? 72,
      running: (flags.running as number | undefined) ?? 1000,
      queued: (flags.queued as number | undefined) ?? 10_000,
      decisions: (flags.decisions as number | undefined) ?? 3000,
      steps: (flags.steps as number | undefined) ?? 3000,
      seed: (flags.seed as number | undefined) ?? 1,
      repeats: (flags.repeats as number | undefined) ?? 3,
    }));
  }
  const machine = machineNoise();
  if (!flags.json) {
    process.stdout.write('| policy | instances | running | queued | route p50 µs | route p99 µs | route min-of-k p50 µs | route min-of-k p99 µs | step p50 µs | step p99 µs |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n');
    for (const r of results) {
      process.stdout.write(`| ${r.policy} | ${r.instances} | ${r.running} | ${r.queued} | ${r.route_p50_us} | ${r.route_p99_us} | ${r.route_min_p50_us} | ${r.route_min_p99_us} | ${r.step_p50_us} | ${r.step_p99_us} |\n`);
    }
    process.stdout.write(`machine noise: a fixed ~20 µs job: p50 ${machine.fixed_job_p50_us} µs, p99 ${machine.fixed_job_p99_us} µs (an idle core keeps p99 near p50)\n`);
    process.stdout.write('targets (issue 4, one core): step p99 ≤ 200 µs, route p99 ≤ 50 µs\n');
  }
  process.stdout.write(JSON.stringify({ bench: 'sched', targets: { step_p99_us: 200, route_p99_us: 50 }, machine, results }) + '\n');
  return 0;
}
