// A small deterministic cluster and load driver for scheduler tests and the scheduling-cost benchmark: pools of
// instances on NVLink domains, a seeded request mix of every shape (sessions with growing contexts and shared
// system prompts), and a step loop that decides EOS from each request's hidden true output length. Step durations
// come from the injected cost model, so the loop runs in virtual time.
import { Rng } from '../../util/random.js';
import { ENGINE_DEFAULTS, type EngineConfig } from '../engine/config.js';
import type { EnginePlan } from '../engine/types.js';
import { Scheduler, type EndedRequest, type InstanceSetup, type SubmitResult } from '../scheduler.js';
import type { InstanceView, PlacementCostModel, PoolSpec, ScheduleRequest } from '../types.js';

export interface ClusterOptions {
  policy: unknown;
  seed: number;
  /** Instances of the main pool; one per GPU group of gpusPerInstance on trays of 4 GPUs, 72 GPUs per domain. */
  instances: number;
  gpusPerInstance?: number;
  kvBlocksPerInstance?: number;
  engine?: Partial<EngineConfig>;
}

/** Prefill ≈ 20 µs/token + attention, decode step ≈ 8 ms + 40 µs/sequence, NVLink 400 GB/s, C2C 200 GB/s. */
export function simpleCostModel(): PlacementCostModel {
  const bytesPerBlock = 64 * 160e3; // 64 tokens of a 70B-class model's KV (fp8)
  return {
    prefillS: (_i, n, c) => (n <= 0 ? 0 : 0.002 + 20e-6 * n + 1e-10 * n * (c + n / 2)),
    fetchS: (_i, blocks, link) => (blocks <= 0 ? 0 : 20e-6 + (blocks * bytesPerBlock) / (link === 'nvlink' ? 400e9 : 200e9)),
    decodeStepS: (i: InstanceView) => 0.008 + 40e-6 * i.decodingSequences,
  };
}

export const TEST_POOL: PoolSpec = {
  name: 'llama',
  kind: 'self_hosted',
  model: 'llama-3.1-70b',
  quality: { tool_call: 0.9, reasoning: 0.8, terminal: 0.85, chat: 0.9 },
  reliableContextTokens: 131072,
  maxContextTokens: 131072,
  acceptBeyondReliable: false,
  usdPerMInputTokens: 0,
  usdPerMCachedInputTokens: 0,
  usdPerMOutputTokens: 0,
  tokenEfficiency: 1,
  usdPerGpuHour: 4,
};

export function clusterInstances(o: ClusterOptions): InstanceSetup[] {
  const gpusPerInstance = o.gpusPerInstance ?? 1;
  const engine: EngineConfig = { ...ENGINE_DEFAULTS, preemptionMode: { ...ENGINE_DEFAULTS.preemptionMode }, kvBlocksTotal: o.kvBlocksPerInstance ?? 4096, hostKvBlocksTotal: 8192, ...o.engine };
  return Array.from({ length: o.instances }, (_, i) => {
    const firstGpu = i * gpusPerInstance;
    const members = new Map<string, number[]>();
    for (let g = firstGpu; g < firstGpu + gpusPerInstance; g++) {
      const tray = `w${Math.floor(g / 4)}`;
      members.set(tray, [...(members.get(tray) ?? []), g % 4]);
    }
    return {
      instanceId: `i${i}`,
      pool: TEST_POOL.name,
      domainId: `rack${Math.floor(firstGpu / 72)}`,
      members: [...members].map(([workerId, gpus]) => ({ workerId, gpus })),
      engine,
    };
  });
}

export function makeCluster(o: ClusterOptions): Scheduler {
  return new Scheduler({ policy: o.policy, pools: [TEST_POOL], instances: clusterInstances(o), cost: simpleCostModel(), rng: new Rng(o.seed) });
}

export interface WorkloadRequest {
  req: ScheduleRequest;
  trueOutputTokens: number;
}

/** A seeded mix: tool calls on a shared 4K prefix, reasoning, chat, and multi-turn terminal sessions. */
export function makeWorkload(seed: number, count: number, ratePerS: number): WorkloadRequest[] {
  const rng = new Rng(seed);
  const systemPrefix = Array.from({ length: 64 }, (_, i) => 0x5eed0000n + BigInt(i));
  const sessions: { id: string; turn: number; hashes: bigint[]; tokens: number }[] = [];
  const out: WorkloadRequest[] = [];
  let t = 0;
  for (let n = 0; n < count; n++) {
    t += -Math.log(1 - rng.next()) / ratePerS;
    const kind = rng.next();
    const requestId = `r${n}`;
    const base = { requestId, tenant: 't0', arrivalS: t, hasTools: false, hasToolResults: false };
    if (kind < 0.3) {
      const extra = 1 + rng.int(16);
      const hashes = [...systemPrefix, ...Array.from({ length: extra }, () => rng.u64())];
      out.push({ req: { ...base, promptTokens: hashes.length * 64 + rng.int(64), maxOutputTokens: 512, blockHashes: hashes, hasTools: true }, trueOutputTokens: 10 + rng.int(120) });
    } else if (kind < 0.45) {
      const hashes = Array.from({ length: 2 + rng.int(20) }, () => rng.u64());
      out.push({ req: { ...base, promptTokens: hashes.length * 64, maxOutputTokens: 32768, blockHashes: hashes, reasoningEffort: 'high' }, trueOutputTokens: 200 + rng.int(3000) });
    } else if (kind < 0.7) {
      const hashes = Array.from({ length: 1 + rng.int(30) }, () => rng.u64());
      out.push({ req: { ...base, promptTokens: hashes.length * 64 + 10, maxOutputTokens: 1024, blockHashes: hashes }, trueOutputTokens: 20 + rng.int(400) });
    } else {
      let s = sessions.length < 8 || rng.next() < 0.2 ? undefined : sessions[rng.int(sessions.length)];
      if (!s) {
        s = { id: `s${sessions.length}`, turn: 0, hashes: [...systemPrefix], tokens: systemPrefix.length * 64 };
        sessions.push(s);
      }
      const grow = 2 + rng.int(20);
      for (let g = 0; g < grow; g++) s.hashes.push(rng.u64());
      s.tokens = s.hashes.length * 64;
      const req: ScheduleRequest = { ...base, promptTokens: s.tokens, maxOutputTokens: 4096, blockHashes: [...s.hashes], sessionId: s.id, turnIndex: s.turn++, hasTools: true, hasToolResults: s.turn > 1 };
      out.push({ req, trueOutputTokens: 30 + rng.int(600) });
    }
  }
  return out;
}

export interface DriveResult {
  submits: SubmitResult[];
  ended: EndedRequest[];
  /** One line per step: instance, step id, items (seq:kind:tokens), preemptions — for determinism checks. */
  trace: string[];
  maxKvOverCapacity: number;
  steps: number;
  endS: number;
}

/**
 * Runs the workload to completion in virtual time: instances step back to back (each step's duration from the cost
 * model) and complete at the step's end, arrivals are submitted when their time comes; every call into the
 * scheduler happens in time order, as in the simulator. Bounded: stops after maxSteps steps in total.
 */
export function drive(s: Scheduler, work: readonly WorkloadRequest[], cost: PlacementCostModel, maxSteps = 200_000): DriveResult {
  const truth = new Map(work.map((w) => [w.req.requestId, w.trueOutputTokens]));
  const ids = s.instanceIds();
  const pending = new Map<string, { plan: EnginePlan; finished: number[]; endS: number; durationS: number }>();
  const res: DriveResult = { submits: [], ended: [], trace: [], maxKvOverCapacity: 0, steps: 0, endS: 0 };
  let next = 0;
  let nowS = 0;
  while (res.steps < maxSteps) {
    for (const id of ids) {
      const p = pending.get(id);
      if (!p || p.endS > nowS) continue;
      pending.delete(id);
      res.ended.push(...s.completeStep(id, p.plan, { stepId: p.plan.stepId, durationS: p.durationS, finishedSeqIds: p.finished }, p.endS));
      const v = s.instanceView(id);
      res.maxKvOverCapacity = Math.max(res.maxKvOverCapacity, v.kvBlocksUsed + v.kvBlocksRetained - v.kvBlocksTotal);
    }
    while (next < work.length && (work[next] as WorkloadRequest).req.arrivalS <= nowS) res.submits.push(s.submit((work[next++] as WorkloadRequest).req, nowS));
    for (const id of ids) {
      if (pending.has(id)) continue;
      const plan = s.planStep(id, nowS);
      if (plan.items.length === 0) {
        s.completeStep(id, plan, { stepId: plan.stepId, durationS: 0, finishedSeqIds: [] }, nowS);
        continue;
      }
      res.steps++;
      const durationS = stepDurationS(cost, s.instanceView(id), plan);
      res.trace.push(`${id}#${plan.stepId}@${nowS.toFixed(6)}:${plan.items.map((it) => `${it.seqId}${it.kind[0]}${it.numNewTokens}`).join(',')}|${plan.preempted.map((p) => `${p.seqId}${p.mode[0]}`).join(',')}`);
      // Plans are reused by the engine after completeStep: keep what the completion needs now.
      pending.set(id, { plan, finished: eosOf(s, id, plan, truth), endS: nowS + durationS, durationS });
    }
    let nextEvent = next < work.length ? (work[next] as WorkloadRequest).req.arrivalS : Infinity;
    for (const p of pending.values()) nextEvent = Math.min(nextEvent, p.endS);
    if (nextEvent === Infinity) {
      if (s.stats().live === 0) break;
      nowS += 0.001; // held by a wait window: advance a little
      continue;
    }
    nowS = Math.max(nowS, nextEvent);
  }
  res.endS = nowS;
  return res;
}

function eosOf(s: Scheduler, instanceId: string, plan: EnginePlan, truth: ReadonlyMap<string, number>): number[] {
  const finished: number[] = [];
  for (const item of plan.items) {
    const found = s.sequence(instanceId, item.seqId);
    if (!found) continue;
    const { seq, requestId } = found;
    const emits = item.kind === 'decode' || seq.prefilledTokens + item.numNewTokens >= seq.promptTokens;
    if (emits && seq.outputTokens + 1 >= (truth.get(requestId) ?? 1)) finished.push(item.seqId);
  }
  return finished;
}

function stepDurationS(cost: PlacementCostModel, view: InstanceView, plan: EnginePlan): number {
  let prefillS = 0;
  let decodes = 0;
  for (const item of plan.items) {
    if (item.kind === 'decode') decodes++;
    else prefillS += cost.prefillS(view, item.numNewTokens, item.numCachedTokens);
  }
  return prefillS + (decodes > 0 ? cost.decodeStepS({ ...view, decodingSequences: decodes }) : 0);
}
