// The two measurements of `bench overhead` against a live worker that answers at once (`--pace none`):
//   roundTrips:    one Step stream (the gateway's StepStreamClient), 64-decode plans sent back to back, one in
//                  flight — the wire and the worker, nothing of the scheduler; codecUsPerRoundTrip: its codec part;
//   gatewayWindow: the real gateway (startGateway: Scheduler, GatewayDriver, Step stream, KV events) keeping N
//                  sequences decoding on one instance, fed either through the Frontend (no client transport) or by
//                  Generate streams from a client process; wall time per driver step over a window.
import * as grpc from '@grpc/grpc-js';
import { performance } from 'node:perf_hooks';

import type { Scheduler } from '../scheduler/core/scheduler.js';
import type { RunningGateway } from '../scheduler/gateway/gateway.js';
import type { Finished, StartResult } from '../scheduler/gateway/frontend.js';
import { parseGenerate } from '../scheduler/gateway/request.js';
import { StepStreamClient } from '../scheduler/gateway/step_stream.js';
import type { ScheduledSequence } from '../scheduler/gen/proto/nvlsched/v1/ScheduledSequence.js';
import type { StepPlan } from '../scheduler/gen/proto/nvlsched/v1/StepPlan.js';
import type { StepResult__Output } from '../scheduler/gen/proto/nvlsched/v1/StepResult.js';
import { packOutputs, packSequences, unpackOutputs, unpackSequences } from '../scheduler/rpc/packed_step.js';
import { loadGatewayProto, loadWorkerProto } from '../scheduler/rpc/proto.js';
import { stepCodec } from '../scheduler/rpc/step_codec.js';
import { encodeRequestIdField, encodeTokenChunk } from '../scheduler/gateway/token_chunk.js';

export const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** `p`, or an error naming `what` after `ms`; the timer never outlives the wait. */
export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`bench overhead: timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function quantile(sorted: Float64Array, q: number): number {
  return sorted.length === 0 ? 0 : (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number);
}

export interface RoundTripResult {
  roundTrips: number;
  seconds: number;
  perS: number;
  p50Us: number;
  p99Us: number;
  /** CPU of this process (the client side) per round trip. */
  clientCpuUs: number;
  /** CPU of the worker process per round trip; null when unknown (off Linux, or the worker is this process). */
  workerCpuUs: number | null;
}

/** Decode steps per sequence before the sequences are freed and prefilled again (untimed): bounds the worker's KV. */
const CYCLE_DECODES = 4096;
const PROMPT_TOKENS = 512;

/** A plan as the gateway sends it: the sequences in packed columns (scheduler/rpc/packed_step.ts). */
function plan(stepId: number, seqIds: readonly number[], prefill: boolean, finishedSeqIds: number[]): StepPlan {
  const sequences: ScheduledSequence[] = seqIds.map((seqId) => ({
    seqId, gpu: 0, numTokens: prefill ? PROMPT_TOKENS : 1, isPrefill: prefill, blockHashes: [], reserveTokens: 0, numCachedTokens: 0,
  }));
  return { stepId, instanceId: 'bench-overhead', packedSequences: packSequences(sequences), finishedSeqIds };
}

const seqCount = (p: StepPlan): number => (p.packedSequences ? unpackSequences(p.packedSequences as Uint8Array).length : 0);

/** Outputs of a packed plan's answer: the packed ones plus the refused ones. */
function outputCount(r: StepResult__Output): number {
  return (r.packedOutputs.length > 0 ? unpackOutputs(r.packedOutputs).length : 0) + r.outputs.length;
}

/** Back-to-back 64-decode plans over one Step stream for `seconds` (after `warmupS`) or `maxRoundTrips`. */
export async function roundTrips(
  port: number,
  o: { sequences: number; seconds: number; warmupS: number; maxRoundTrips: number },
  workerCpuS: () => number | null = () => null,
): Promise<RoundTripResult> {
  const proto = loadWorkerProto();
  const client = new proto.nvlsched.v1.Worker(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const stream = new StepStreamClient(client);
  try {
    let stepId = 0;
    let seqIds: number[] = [];
    let decodes = CYCLE_DECODES;
    const send = async (p: StepPlan): Promise<void> => {
      const r = await stream.send(p);
      if (r.errorCode !== '' || outputCount(r) !== seqCount(p)) {
        throw new Error(`bench overhead: the worker could not run step ${String(p.stepId)}: ${r.errorCode} ${r.errorMessage} (${outputCount(r)} outputs)`);
      }
    };
    const decode = async (): Promise<void> => {
      if (decodes >= CYCLE_DECODES) {
        const fresh = Array.from({ length: o.sequences }, (_, i) => stepId * o.sequences + i);
        await send(plan(++stepId, fresh, true, seqIds));
        seqIds = fresh;
        decodes = 0;
      }
      decodes++;
      await send(plan(++stepId, seqIds, false, []));
    };
    const warmEnd = performance.now() + o.warmupS * 1000;
    while (performance.now() < warmEnd) await decode();
    const lat = new Float64Array(o.maxRoundTrips);
    let n = 0;
    const cpu0 = process.cpuUsage();
    const worker0 = workerCpuS();
    const t0 = performance.now();
    const end = t0 + o.seconds * 1000;
    while (n < o.maxRoundTrips && performance.now() < end) {
      if (decodes >= CYCLE_DECODES) await decode(); // the re-prefill is not timed; its decode is not counted
      const a = performance.now();
      decodes++;
      await send(plan(++stepId, seqIds, false, []));
      lat[n++] = performance.now() - a;
    }
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const worker1 = workerCpuS();
    const sorted = lat.subarray(0, n).sort();
    const perRt = (us: number): number => us / Math.max(1, n);
    return {
      roundTrips: n,
      seconds,
      perS: n / seconds,
      p50Us: quantile(sorted, 0.5) * 1000,
      p99Us: quantile(sorted, 0.99) * 1000,
      clientCpuUs: perRt(cpu.user + cpu.system),
      workerCpuUs: worker0 === null || worker1 === null ? null : perRt((worker1 - worker0) * 1e6),
    };
  } finally {
    stream.end();
    client.close();
  }
}

/**
 * The codec's share of one round trip, without the wire: build + encode a plan of `sequences` decodes, decode it,
 * encode the worker's answer (one token each), decode it — with the Step stream's codec (rpc/step_codec.ts: by hand
 * in this common form) or with proto-loader's generic (de)serialisers, as the stream used before.
 */
export function codecUsPerRoundTrip(sequences: number, iterations: number, codec: 'stream' | 'generic' = 'stream'): number {
  const method = loadWorkerProto().nvlsched.v1.Worker.service.Step;
  const c = codec === 'stream'
    ? stepCodec
    : { serializePlan: method.requestSerialize, deserializePlan: method.requestDeserialize, serializeResult: method.responseSerialize, deserializeResult: method.responseDeserialize };
  const ids = Array.from({ length: sequences }, (_, i) => i);
  const outputs = ids.map((seqId) => ({ seqId, tokenIds: [seqId * 7919 % 128_000] }));
  const once = (k: number): void => {
    const p = c.deserializePlan(c.serializePlan(plan(k, ids, false, [])));
    unpackSequences(p.packedSequences);
    const result = { stepId: k, durationS: 0.0134, kvEvents: [], errorCode: '', errorMessage: '', outputs: [], packedOutputs: packOutputs(outputs) };
    unpackOutputs(c.deserializeResult(c.serializeResult(result)).packedOutputs);
  };
  for (let k = 0; k < Math.min(500, iterations); k++) once(k);
  const t0 = performance.now();
  for (let k = 0; k < iterations; k++) once(k);
  return ((performance.now() - t0) * 1000) / iterations;
}

/**
 * µs to encode the Generate stream's per-step message (one token to one client) the generic way (protobufjs, as
 * grpc-js's serializer does) and by hand (gateway/token_chunk.ts, what the service writes), interleaved in one loop.
 */
export function tokenChunkEncodeUs(iterations: number): { generic_us: number; hand_us: number } {
  const method = loadGatewayProto().nvlsched.v1.Gateway.service.Generate as grpc.MethodDefinition<unknown, unknown>;
  const field = encodeRequestIdField('chatcmpl-12345-678');
  let generic = 0;
  let hand = 0;
  let bytes = 0;
  for (let k = 0; k < iterations; k++) {
    const ids = [(k * 7919) % 200_000];
    const t0 = performance.now();
    bytes += method.responseSerialize({ requestId: 'chatcmpl-12345-678', tokenIds: ids, shape: 'SHAPE_CHAT' }).length;
    const t1 = performance.now();
    bytes += encodeTokenChunk(field, ids, 'SHAPE_CHAT').length;
    const t2 = performance.now();
    if (k >= 500) {
      generic += t1 - t0;
      hand += t2 - t1;
    }
  }
  if (bytes === 0) throw new Error('unreachable');
  const n = Math.max(1, iterations - 500);
  return { generic_us: Math.round((generic * 1000 * 100) / n) / 100, hand_us: Math.round((hand * 1000 * 100) / n) / 100 };
}

type Timed = 'planStep' | 'completeStep' | 'applyKvEvents';

/**
 * While the gateway runs: the wall time of some Scheduler methods, and the sequences the plans scheduled
 * (own-property wrappers on the instance, removed by undo).
 */
export function timeScheduler(sched: Scheduler, names: readonly Timed[]): { us: Record<string, number>; planned: () => number; undo(): void } {
  const us: Record<string, number> = {};
  let planned = 0;
  const target = sched as unknown as Record<string, (...args: unknown[]) => unknown>;
  for (const name of names) {
    const original = (target[name] as (...args: unknown[]) => unknown).bind(sched);
    us[name] = 0;
    target[name] = (...args: unknown[]) => {
      const t0 = performance.now();
      const out = original(...args);
      us[name] = (us[name] as number) + (performance.now() - t0) * 1000;
      if (name === 'planStep') planned += (out as ReturnType<Scheduler['planStep']>).items.length;
      return out;
    };
  }
  return { us, planned: () => planned, undo: () => names.forEach((name) => delete target[name]) };
}

/** Keeps `sequences` requests decoding through the Frontend (no client transport), closed loop; stop() cancels them. */
export function frontendLoad(gw: RunningGateway, o: { sequences: number; maxTokens: number; promptTokens: number }): { tokens(): number; errors(): number; stop(): void } {
  const limits = { maxContextTokens: gw.topology.cluster.model.maxContextTokens, blockTokens: gw.topology.cluster.engine.blockTokens };
  const live = new Map<string, Extract<StartResult, { ok: true }>>();
  let tokens = 0;
  let errors = 0;
  let next = 0;
  let stopped = false;
  const open = (): void => {
    if (stopped || errors >= 4 * o.sequences) return;
    const k = next++;
    const base = (k * o.promptTokens) % 1_000_000;
    const parsed = parseGenerate({
      requestId: '', model: '', prompt: '', promptTokenIds: Array.from({ length: o.promptTokens }, (_, i) => base + i), maxTokens: o.maxTokens,
      shapeHint: 'SHAPE_UNSPECIFIED', sessionId: '', turnIndex: 0, priority: 0, tenant: '', numTools: 0, hasToolResults: false, reasoningEffort: '', blockHashes: [],
    }, limits, `overhead-${k}`, gw.frontend.now());
    if (!parsed.ok) throw new Error(`bench overhead: request refused by validation: ${parsed.error}`);
    const started = gw.frontend.start(parsed.value, {
      onTokens: (ids) => void (tokens += ids.length),
      onEnd: (f: Finished) => {
        live.delete(f.requestId);
        if (f.finishReason === 'error') errors++;
        open();
      },
    });
    if (!started.ok) {
      errors++;
      return;
    }
    live.set(started.requestId, started);
  };
  for (let i = 0; i < o.sequences; i++) open();
  return {
    tokens: () => tokens,
    errors: () => errors,
    stop: () => {
      stopped = true;
      for (const s of [...live.values()]) s.cancel('bench overhead: window over');
    },
  };
}

export interface WindowSample {
  steps: number;
  seconds: number;
  gatewayCpuS: number;
  workerCpuS: number | null;
  clientsCpuS: number | null;
  schedulerUs: Record<string, number>;
  /** Sequences the plans of the window scheduled (one token each for a decode). */
  plannedSequences: number;
}

/** Counters of a live gateway over `seconds`: driver steps, wall time, CPU of each process, scheduler time. */
export async function measureWindow(gw: RunningGateway, seconds: number, cpu: { worker: () => number | null; clients: () => number | null }): Promise<WindowSample> {
  const timed = timeScheduler(gw.sched, ['planStep', 'completeStep', 'applyKvEvents']);
  try {
    const steps0 = gw.driver.stepsRun;
    const worker0 = cpu.worker();
    const clients0 = cpu.clients();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await delay(seconds * 1000);
    const wall = (performance.now() - t0) / 1000;
    const own = process.cpuUsage(cpu0);
    const worker1 = cpu.worker();
    const clients1 = cpu.clients();
    return {
      steps: gw.driver.stepsRun - steps0,
      seconds: wall,
      gatewayCpuS: (own.user + own.system) / 1e6,
      workerCpuS: worker0 === null || worker1 === null ? null : worker1 - worker0,
      clientsCpuS: clients0 === null || clients1 === null ? null : clients1 - clients0,
      schedulerUs: { ...timed.us },
      plannedSequences: timed.planned(),
    };
  } finally {
    timed.undo();
  }
}

/** Waits (bounded) until the gateway's only instance runs `sequences` sequences. */
export async function waitRunning(gw: RunningGateway, sequences: number, timeoutMs: number): Promise<void> {
  const id = gw.sched.instanceIds()[0] as string;
  const end = performance.now() + timeoutMs;
  while (gw.sched.instanceView(id).runningRequests < sequences) {
    if (performance.now() > end) throw new Error(`bench overhead: ${gw.sched.instanceView(id).runningRequests} of ${sequences} sequences running after ${timeoutMs} ms`);
    await delay(20);
  }
}
