// The `sim` backend: executes step plans against this tray's real native KV manager (metadata mode) and prices each
// step with the performance model's step predictor — the same KV manager config and predictor the simulator uses
// (scheduler/sim/worker_kv.ts, scheduler/sim/run.ts), so a live worker and a simulated one agree.
//
// Per sequence (keyed by instance id and the gateway's seq id): allocated on first sight with the plan's block
// hashes (num_cached_tokens + num_tokens), appended as it grows, freed when a plan lists it in finished_seq_ids.
// A sequence that cannot run (draining, unknown GPU, KV error) gets its error in its output and is left out of the
// step; the step still runs the others. Every KV call that fails changes nothing (native/SPEC.md).
// KV moves (kv_moves.ts): an ended session turn the scheduler retains is held under its session key (in HBM or
// moved to Grace) instead of freed, and freed on release — a next turn allocated meanwhile shares its blocks;
// swap preemptions move a sequence to Grace and back. A move without room frees instead and says so in the result.
import type { ScheduledSequence__Output } from '../gen/proto/nvlsched/v1/ScheduledSequence.js';
import type { SequenceOutput } from '../gen/proto/nvlsched/v1/SequenceOutput.js';
import type { StepPlan__Output } from '../gen/proto/nvlsched/v1/StepPlan.js';
import type { StepResult } from '../gen/proto/nvlsched/v1/StepResult.js';
import type { SnapshotResponse } from '../gen/proto/nvlsched/v1/SnapshotResponse.js';
import { NativeKvManager } from '../kv/native.js';
import { makeFittedOpTimes } from '../perf/fitted_optimes.js';
import { makeStepPredictor } from '../perf/step.js';
import { PackedOutputsWriter } from '../rpc/packed_step.js';
import type { StepBreakdown, StepPredictor, StepSequence } from '../perf/step_types.js';
import type { Cluster } from '../sim/cluster.js';
import { eventsToProto, snapshotToProto } from './events.js';
import { KvMoves } from './kv_moves.js';
import { syntheticTokenId } from './tokens.js';

interface SeqState {
  native: number;
  gpu: number;
  /** Tokens in KV after the last step that ran it. */
  tokens: number;
}

type SeqError = readonly [code: string, message: string];

export interface SimBackendOptions {
  cluster: Cluster;
  hostBlocks: number;
  seed: number;
  /** 'cuda': KV blocks in real device memory (worker --backend cuda). Default 'cpu' metadata mode. */
  kvBackend?: 'cpu' | 'cuda';
  /** 'bytes' with the cpu backend: every pool in host memory (hand-offs carry real bytes). Default 'metadata'. */
  kvData?: 'metadata' | 'bytes';
}

/** A running sequence as the hand-off sees it. */
export interface HeldSequence {
  native: number;
  gpu: number;
  tokens: number;
}

export class SimBackend {
  draining = false;
  liveSequences = 0;
  readonly gpusPerTray: number;
  /** Layers of the model's KV (a hand-off's layer-wise chunks). */
  readonly numLayers: number;
  /** The tray's KV manager; the KV hand-off (handoff_send.ts, handoff_receive.ts) calls its hand-off methods. */
  readonly kv: NativeKvManager;
  private readonly predictor: StepPredictor;
  private readonly seqs = new Map<string, Map<number, SeqState>>();
  private readonly gatewayIds = new Map<number, number>();
  private readonly breakdown: StepBreakdown = { stepS: 0, gemmS: 0, attentionS: 0, commS: 0, overheadS: 0 };
  private readonly batch: StepSequence[] = [];
  private readonly pool: StepSequence[] = [];
  private readonly maxContextTokens: number;
  private readonly vocabSize: number;
  private readonly seed: number;
  private readonly moves: KvMoves;

  constructor(options: SimBackendOptions) {
    const { cluster } = options;
    this.kv = new NativeKvManager({
      topology: cluster.trayTopology,
      layout: cluster.kvLayout,
      tokensPerBlock: cluster.engine.blockTokens,
      deviceBlocksPerGpu: cluster.engine.kvBlocksTotal,
      hostBlocksPerTray: options.hostBlocks,
      diskBlocksPerTray: 0,
      ...kvMemory(options),
    });
    this.gpusPerTray = cluster.trayTopology.gpusPerTray;
    this.numLayers = cluster.kvLayout.numLayers;
    this.predictor = makeStepPredictor(cluster.model, cluster.perf, makeFittedOpTimes());
    this.maxContextTokens = cluster.model.maxContextTokens;
    this.vocabSize = cluster.model.vocabSize;
    this.seed = options.seed;
    this.moves = new KvMoves(this.kv);
  }

  /** Blocks in use / in all per GPU (device) and for the tray's Grace tier (host), for metrics. */
  kvUsage(): Array<{ gpu?: number; tier: 'device' | 'host'; usedBlocks: number; totalBlocks: number }> {
    const out: Array<{ gpu?: number; tier: 'device' | 'host'; usedBlocks: number; totalBlocks: number }> = [];
    for (const p of this.kv.stats().pools) {
      if (p.location.tier === 'device') out.push({ gpu: p.location.index, tier: 'device', usedBlocks: p.usedBlocks, totalBlocks: p.totalBlocks });
      else if (p.location.tier === 'host') out.push({ tier: 'host', usedBlocks: p.usedBlocks, totalBlocks: p.totalBlocks });
    }
    return out;
  }

  /** Where the KV blocks live: 'cpu' (metadata) or 'cuda' (device memory). */
  get kvBackend(): string {
    return this.kv.backendInfo().backend;
  }

  /** Sessions held between turns (all instances). */
  get heldSessions(): number {
    return this.moves.heldCount;
  }

  get tokensPerBlock(): number {
    return this.kv.tokensPerBlock;
  }

  /** KV length of a running sequence; undefined when the worker does not hold it. */
  tokensOf(instanceId: string, seqId: number): number | undefined {
    return this.seqs.get(instanceId)?.get(seqId)?.tokens;
  }

  /**
   * Runs one plan. `packed`: the outputs that ran come as packed_outputs (the answer to a packed plan), `outputs`
   * then holds only the refused sequences; otherwise one output per sequence, in plan order.
   */
  execute(plan: StepPlan__Output, o: { packed?: boolean } = {}): StepResult {
    const table = this.instance(plan.instanceId);
    const result: StepResult = { stepId: plan.stepId, durationS: 0, outputs: [], kvEvents: [], errorCode: '', errorMessage: '', freedSeqIds: [], droppedSessions: [] };
    const freed = result.freedSeqIds as number[];
    const dropped = result.droppedSessions as string[];
    for (const h of plan.holdSessions ?? []) {
      const s = table.get(h.seqId);
      if (!s) continue;
      this.forget(table, h.seqId, s);
      if (!this.moves.hold(plan.instanceId, h.sessionKey, s.native, h.toHost)) dropped.push(h.sessionKey);
    }
    for (const id of plan.finishedSeqIds) this.release(table, id);
    // Released holds are freed before the sequences allocate: the engine reclaimed that room for them. A next turn
    // still finds the released blocks as a prefix hit (freed blocks stay cached until evicted).
    for (const key of plan.releaseSessions ?? []) this.moves.release(plan.instanceId, key);
    for (const id of plan.swapOutSeqIds ?? []) {
      const s = table.get(id);
      if (s && !this.moves.move(s.native, 'host', 0)) {
        this.release(table, id);
        freed.push(id);
      }
    }
    for (const id of plan.swapInSeqIds ?? []) {
      const s = table.get(id);
      if (s && !this.moves.move(s.native, 'device', s.gpu)) {
        this.release(table, id);
        freed.push(id);
      }
    }
    for (const m of plan.sessionMoves ?? []) {
      if (!this.moves.moveHeld(plan.instanceId, m.sessionKey, m.toHost, m.gpu)) dropped.push(m.sessionKey);
    }
    const outputs = result.outputs as SequenceOutput[];
    // A packed plan's answer: the outputs that ran as packed columns (no object each), only refused ones as messages.
    const packed = o.packed === true ? new PackedOutputsWriter(plan.sequences.length, plan.sequences.length) : undefined;
    this.batch.length = 0;
    for (let i = 0; i < plan.sequences.length; i++) {
      const item = plan.sequences[i] as ScheduledSequence__Output;
      const held = table.get(item.seqId);
      const cachedBefore = held?.tokens ?? item.numCachedTokens;
      const error = held === undefined ? this.firstSight(table, item) : this.appendKv(held, item);
      if (error) {
        outputs.push({ seqId: item.seqId, tokenIds: [], finished: false, errorCode: error[0], errorMessage: error[1] });
        if (!result.errorCode) {
          result.errorCode = error[0];
          result.errorMessage = `sequences[${i}] (seq ${item.seqId}): ${error[1]}`;
        }
        continue;
      }
      this.pushBatch(item, cachedBefore);
      const tokenId = syntheticTokenId(this.seed, item.seqId, cachedBefore + item.numTokens, this.vocabSize);
      if (packed) packed.addOne(item.seqId, tokenId);
      else outputs.push({ seqId: item.seqId, tokenIds: [tokenId], finished: false, errorCode: '', errorMessage: '' });
    }
    const packedOutputs = packed?.finish();
    if (packedOutputs) result.packedOutputs = packedOutputs;
    result.durationS = this.batch.length > 0 ? this.predictor.predict(this.batch, this.breakdown).stepS : 0;
    const events = this.kv.drainEventsPacked();
    if (events.count > 0) result.kvEvents = eventsToProto(events, (id) => this.gatewayIds.get(id) ?? 0);
    return result;
  }

  private pushBatch(item: ScheduledSequence__Output, cachedBefore: number): void {
    const n = this.batch.length;
    let s = this.pool[n];
    if (!s) {
      s = { phase: 'decode', numNewTokens: 1, numCachedTokens: 0 };
      this.pool.push(s);
    }
    s.phase = item.isPrefill ? 'prefill' : 'decode';
    s.numNewTokens = item.numTokens;
    s.numCachedTokens = cachedBefore;
    this.batch.push(s);
  }

  /**
   * Brings a running sequence's KV to this step's length (a new one: firstSight); an error says why it cannot run
   * (nothing changed then).
   */
  private appendKv(s: SeqState, item: ScheduledSequence__Output): SeqError | null {
    if (item.gpu !== s.gpu) return ['E_GPU_MISMATCH', `the sequence lives on gpu ${s.gpu}, the plan says gpu ${item.gpu}`];
    const total = s.tokens + item.numTokens;
    if (total > this.maxContextTokens) return contextError(total, this.maxContextTokens);
    try {
      this.kv.append(s.native, item.numTokens, hashesOf(item));
    } catch (error) {
      return kvError(error);
    }
    s.tokens = total;
    return null;
  }

  private firstSight(table: Map<number, SeqState>, item: ScheduledSequence__Output): SeqError | null {
    if (this.draining) return ['E_DRAINING', 'the worker is draining and accepts no new sequences'];
    if (item.gpu >= this.gpusPerTray) return ['E_UNKNOWN_GPU', `gpu ${item.gpu} is not on this tray (GPUs 0..${this.gpusPerTray - 1})`];
    const total = item.numCachedTokens + item.numTokens;
    if (total > this.maxContextTokens) return contextError(total, this.maxContextTokens);
    let native: number;
    try {
      const hashes = hashesOf(item);
      native = this.kv.allocate({ gpu: item.gpu, numTokens: total, ...(hashes ? { blockHashes: hashes } : {}), reserveTokens: item.reserveTokens }).seqId;
    } catch (error) {
      return kvError(error);
    }
    table.set(item.seqId, { native, gpu: item.gpu, tokens: total });
    this.gatewayIds.set(native, item.seqId);
    this.liveSequences++;
    return null;
  }

  /** Frees a sequence's KV; ids the worker does not hold (never ran, or refused) are ignored. */
  private release(table: Map<number, SeqState>, seqId: number): void {
    const s = table.get(seqId);
    if (!s) return;
    this.forget(table, seqId, s);
    this.kv.free(s.native);
  }

  /** Drops the gateway's handle on a sequence (its native blocks are freed or held by the caller). */
  private forget(table: Map<number, SeqState>, seqId: number, s: SeqState): void {
    table.delete(seqId);
    this.gatewayIds.delete(s.native);
    this.liveSequences--;
  }

  /** A running sequence of an instance (the source of a hand-off); undefined when the worker does not hold it. */
  sequence(instanceId: string, seqId: number): HeldSequence | undefined {
    const s = this.seqs.get(instanceId)?.get(seqId);
    return s ? { native: s.native, gpu: s.gpu, tokens: s.tokens } : undefined;
  }

  /**
   * Takes a committed hand-off's sequence as (instanceId, seqId): the instance's next Step plans append to it as if
   * it had prefilled here. False (nothing changed) when the instance already runs that id.
   */
  adopt(instanceId: string, seqId: number, held: HeldSequence): boolean {
    const table = this.instance(instanceId);
    if (table.has(seqId)) return false;
    table.set(seqId, { native: held.native, gpu: held.gpu, tokens: held.tokens });
    this.gatewayIds.set(held.native, seqId);
    this.liveSequences++;
    return true;
  }

  /** After a 'move' hand-off completed (the native manager freed the sequence): drops the handle if still the same. */
  handedOff(instanceId: string, seqId: number, native: number): void {
    const table = this.seqs.get(instanceId);
    const s = table?.get(seqId);
    if (table && s && s.native === native) this.forget(table, seqId, s);
  }

  /** Frees a running sequence handed off by a migration's tail (the destination adopted its copy). */
  freeSequence(instanceId: string, seqId: number): boolean {
    const table = this.seqs.get(instanceId);
    if (!table?.has(seqId)) return false;
    this.release(table, seqId);
    return true;
  }

  /** Writes KV bytes of a running sequence (bytes mode; tests and benches stand in for the model's forward pass). */
  writeKv(instanceId: string, seqId: number, tokenOffset: number, data: Uint8Array): void {
    const s = this.seqs.get(instanceId)?.get(seqId);
    if (!s) throw new Error(`writeKv: instance ${instanceId} runs no sequence ${seqId}`);
    this.kv.write(s.native, tokenOffset, data);
  }

  /** Reads KV bytes of a running sequence (bytes mode). */
  readKv(instanceId: string, seqId: number, tokenOffset: number, numTokens: number): Uint8Array {
    const s = this.seqs.get(instanceId)?.get(seqId);
    if (!s) throw new Error(`readKv: instance ${instanceId} runs no sequence ${seqId}`);
    return this.kv.read(s.native, tokenOffset, numTokens);
  }

  /** Frees every sequence of an instance (its step stream ended: the gateway re-runs them elsewhere). */
  releaseInstance(instanceId: string): number {
    const table = this.seqs.get(instanceId);
    if (!table) return 0;
    const ids = [...table.keys()];
    for (const id of ids) this.release(table, id);
    this.seqs.delete(instanceId);
    this.moves.releaseInstance(instanceId);
    return ids.length;
  }

  private instance(instanceId: string): Map<number, SeqState> {
    let table = this.seqs.get(instanceId);
    if (!table) {
      table = new Map();
      this.seqs.set(instanceId, table);
    }
    return table;
  }

  snapshot(): SnapshotResponse {
    return snapshotToProto(this.kv.snapshot());
  }

  close(): void {
    this.kv.close();
  }
}

/**
 * The KV manager's memory: metadata only (sim), real bytes in host memory (sim with kvData 'bytes'), or real bytes on
 * the GPUs (cuda) — with bytes every pool is allocated, so
 * the byte limit is the pools' own size (the operator sizes them with --kv-blocks; the default fills HBM).
 */
function kvMemory(o: SimBackendOptions): { dataMode: 'metadata' | 'bytes'; backend: 'cpu' | 'cuda'; maxRealBytes?: number } {
  const backend = o.kvBackend === 'cuda' ? 'cuda' : 'cpu';
  if (backend === 'cpu' && o.kvData !== 'bytes') return { dataMode: 'metadata', backend };
  const c = o.cluster;
  // A block on one GPU holds that GPU's tensor-parallel shard of the instance's block.
  const blockBytes = c.kvBytesPerBlock / c.tensorParallel;
  const bytes = blockBytes * (c.engine.kvBlocksTotal * c.trayTopology.gpusPerTray + o.hostBlocks);
  return { dataMode: 'bytes', backend, maxRealBytes: Math.ceil(bytes * 1.05) + 1 };
}

function hashesOf(item: ScheduledSequence__Output): BigUint64Array | undefined {
  const n = item.blockHashes.length;
  if (n === 0) return undefined;
  const out = new BigUint64Array(n);
  for (let i = 0; i < n; i++) out[i] = BigInt(item.blockHashes[i] as string);
  return out;
}

function contextError(total: number, max: number): SeqError {
  return ['E_CONTEXT_TOO_LONG', `${total} tokens exceed the model's context of ${max}`];
}

function kvError(error: unknown): SeqError {
  const e = error as { code?: unknown; message?: unknown };
  return [typeof e.code === 'string' ? e.code : 'E_INTERNAL', typeof e.message === 'string' ? e.message : String(error)];
}
