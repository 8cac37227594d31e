// Micro-benchmark of one placement decision on an NVL72-sized pool: the KV-index walk for all candidates
// (PrefixLookup.prepare) plus the policy's filters, scorers and picker. The clock is injected (the core reads no
// wall clock): the CLI and tests pass performance.now. The cost model is the small analytic one from testing.ts,
// so figures exclude whatever the real performance model costs per call (pricing.ts memoises those calls).
//
// Workload (seeded): `instances` single-GPU instances on trays of 4 GPUs in `domains` NVLink domains; a shared
// 16-block system prompt cached on every instance; `conversations` chains of `promptBlocks` blocks, each cached on
// its home instance (device), on its tray's Grace tier, and for a quarter of them on a second instance. Requests
// continue a conversation (a random 75–100% of its chain, then 1–4 new blocks) or, one in eight, start a new one.
import { KvIndex } from '../kvindex/kv_index.js';
import { PrefixLookup } from '../kvindex/prefix_lookup.js';
import { WorkerEventLog } from '../kvindex/testing.js';
import { Rng } from '../../util/random.js';
import type { InstanceView, PlacementContext, ScheduleRequest } from '../types.js';
import { SHAPES } from '../types.js';
import { makePlacementPolicy } from './profiles.js';
import { analyticCostModel, classification, instance } from './testing.js';

export interface PlacementBenchOptions {
  policy: string;
  /** Default 72 (one NVL72 rack of single-GPU instances). */
  instances?: number;
  /** Blocks per prompt. Default 64. */
  promptBlocks?: number;
  /** Timed decisions (after 10% warm-up). Default 2,000. */
  iterations?: number;
  seed?: number;
  /** Default 1. */
  domains?: number;
  /** Conversations cached in the index. Default 512. */
  conversations?: number;
  blockTokens?: number;
}

export interface PlacementBenchResult {
  policy: string;
  instances: number;
  promptBlocks: number;
  iterations: number;
  /** Whole decision: index walk + place(). */
  p50Us: number;
  p99Us: number;
  meanUs: number;
  /** The index walk alone (PrefixLookup.prepare). */
  lookupP50Us: number;
  lookupP99Us: number;
  indexedHashes: number;
  /** Distinct instances chosen: shows the bench made real choices. */
  instancesChosen: number;
}

const SYSTEM_BLOCKS = 16;

function quantile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

interface Workload {
  index: KvIndex;
  views: InstanceView[];
  chains: bigint[][];
}

function buildWorkload(o: Required<PlacementBenchOptions>, rng: Rng): Workload {
  const index = new KvIndex();
  const views: InstanceView[] = [];
  const logs: WorkerEventLog[] = [];
  const perDomain = Math.ceil(o.instances / o.domains);
  for (let i = 0; i < o.instances; i++) {
    const worker = Math.floor(i / 4);
    if (!logs[worker]) logs[worker] = new WorkerEventLog(`w${worker}`);
    const domainId = `d${Math.floor(i / perDomain)}`;
    index.registerInstance(`i${i}`, domainId, [{ workerId: `w${worker}`, gpus: [i % 4] }]);
    views.push(instance(`i${i}`, {
      domainId, workerIds: [`w${worker}`], kvBlocksTotal: 60_000,
      kvBlocksUsed: rng.int(4_000), kvBlocksRetained: rng.int(4_000), queuedRequests: rng.int(4), runningRequests: rng.int(32),
      pendingPrefillTokens: rng.int(8_000), decodingSequences: rng.int(32), inFlightRequests: rng.int(36),
    }));
  }
  const system = Array.from({ length: SYSTEM_BLOCKS }, () => rng.u64());
  for (let i = 0; i < o.instances; i++) {
    const log = logs[Math.floor(i / 4)] as WorkerEventLog;
    index.applyEvents(log.workerId, log.stored('device', i % 4, system));
  }
  const chains: bigint[][] = [];
  for (let c = 0; c < o.conversations; c++) {
    const chain = [...system];
    while (chain.length < o.promptBlocks) chain.push(rng.u64());
    chains.push(chain);
    const home = rng.int(o.instances);
    const log = logs[Math.floor(home / 4)] as WorkerEventLog;
    index.applyEvents(log.workerId, [...log.stored('device', home % 4, chain, SYSTEM_BLOCKS), ...log.stored('host', 0, chain)]);
    if (rng.int(4) === 0) {
      const second = rng.int(o.instances);
      const log2 = logs[Math.floor(second / 4)] as WorkerEventLog;
      index.applyEvents(log2.workerId, log2.stored('device', second % 4, chain.slice(0, Math.floor(chain.length / 2)), SYSTEM_BLOCKS));
    }
  }
  return { index, views, chains };
}

function makeRequests(o: Required<PlacementBenchOptions>, w: Workload, rng: Rng): ScheduleRequest[] {
  const requests: ScheduleRequest[] = [];
  for (let r = 0; r < 256; r++) {
    const chain = w.chains[rng.int(w.chains.length)] as bigint[];
    const fresh = rng.int(8) === 0;
    const keep = fresh ? SYSTEM_BLOCKS : Math.floor(chain.length * (0.75 + 0.25 * rng.next()));
    const hashes = chain.slice(0, keep);
    while (hashes.length < keep + 1 + rng.int(4)) hashes.push(rng.u64());
    requests.push({
      requestId: `r${r}`, tenant: 't', arrivalS: r, promptTokens: hashes.length * o.blockTokens + rng.int(o.blockTokens),
      maxOutputTokens: 4096, blockHashes: hashes, hasTools: false, hasToolResults: false, sessionId: `s${r % 64}`,
    });
  }
  return requests;
}

/**
 * Outside the timed region: the chosen instance takes the request's load, and a random instance finishes one, so
 * load-aware policies see their own decisions (as they would live) instead of a frozen snapshot.
 */
function applyLoad(views: InstanceView[], instanceId: string, req: ScheduleRequest, blockTokens: number, rng: Rng): void {
  const inst = views[Number(instanceId.slice(1))] as InstanceView;
  inst.inFlightRequests++;
  inst.queuedRequests++;
  inst.pendingPrefillTokens += req.promptTokens;
  inst.kvBlocksUsed += Math.ceil(req.promptTokens / blockTokens);
  const done = views[rng.int(views.length)] as InstanceView;
  if (done.inFlightRequests > 0) {
    done.inFlightRequests--;
    done.queuedRequests = Math.max(0, done.queuedRequests - 1);
    done.pendingPrefillTokens = Math.max(0, done.pendingPrefillTokens - req.promptTokens);
    done.kvBlocksUsed = Math.max(0, done.kvBlocksUsed - Math.ceil(req.promptTokens / blockTokens));
  }
}

export function benchPlacement(options: PlacementBenchOptions, nowMs: () => number): PlacementBenchResult {
  const o: Required<PlacementBenchOptions> = {
    instances: 72, promptBlocks: 64, iterations: 2000, seed: 1, domains: 1, conversations: 512, blockTokens: 16, ...options,
  };
  const rng = new Rng(o.seed);
  const work = buildWorkload(o, rng);
  const requests = makeRequests(o, work, rng);
  const policy = makePlacementPolicy(o.policy, 'bench.policy');
  const lookup = new PrefixLookup(work.index);
  const cost = analyticCostModel();
  const classes = SHAPES.map((s) => classification(s));
  const warmup = Math.ceil(o.iterations / 10);
  const total = new Float64Array(o.iterations);
  const walk = new Float64Array(o.iterations);
  const chosen = new Set<string>();
  const ctx: PlacementContext = {
    req: requests[0] as ScheduleRequest, cls: classes[0] as PlacementContext['cls'], nowS: 0, blockTokens: o.blockTokens,
    prefix: lookup.prefix, cost, rng,
  };
  for (let it = -warmup; it < o.iterations; it++) {
    const k = (it + warmup) % requests.length;
    ctx.req = requests[k] as ScheduleRequest;
    ctx.cls = classes[k % classes.length] as PlacementContext['cls'];
    ctx.nowS = it + warmup;
    ctx.sessionHome = k % 3 === 0 ? `i${k % o.instances}` : undefined;
    const t0 = nowMs();
    lookup.prepare(ctx.req.blockHashes, work.views);
    const t1 = nowMs();
    const decision = policy.place(ctx, work.views);
    const t2 = nowMs();
    if (decision.ok) applyLoad(work.views, decision.instanceId, ctx.req, o.blockTokens, rng);
    if (it < 0) continue;
    walk[it] = (t1 - t0) * 1000;
    total[it] = (t2 - t0) * 1000;
    if (decision.ok) chosen.add(decision.instanceId);
  }
  const mean = total.reduce((a, b) => a + b, 0) / o.iterations;
  total.sort();
  walk.sort();
  return {
    policy: o.policy, instances: o.instances, promptBlocks: o.promptBlocks, iterations: o.iterations,
    p50Us: quantile(total, 0.5), p99Us: quantile(total, 0.99), meanUs: mean,
    lookupP50Us: quantile(walk, 0.5), lookupP99Us: quantile(walk, 0.99),
    indexedHashes: work.index.stats().indexedHashes, instancesChosen: chosen.size,
  };
}
