// The KV side of a simulated worker: one real native KV manager (metadata mode) per compute tray, numbering GPUs
// and the host tier tray-locally exactly as a live worker's events do, so its drained event batches feed the
// scheduler's KV index unchanged (InstanceSetup.members use the same numbering). Calls that fail are counted, not
// thrown: the engine's own ledger decides admission and the manager is sized so that it never runs out first
// (README "What is modelled"); a failure means that invariant broke, and tests check the count stays 0.
import { NativeKvManager } from '../kv/native.js';
import type { KvEventBatch } from '../kv/types.js';
import type { Cluster, WorkerSpec } from './cluster.js';

export interface KvFailure {
  op: string;
  code: string;
  message: string;
}

export class WorkerKv {
  readonly workerId: string;
  /** Something that can emit events happened since the last drain. */
  dirty = false;
  failures = 0;
  lastFailure: KvFailure | undefined;
  private readonly kv: NativeKvManager;

  constructor(cluster: Cluster, spec: WorkerSpec) {
    this.workerId = spec.workerId;
    this.kv = new NativeKvManager({
      topology: cluster.trayTopology,
      layout: cluster.kvLayout,
      tokensPerBlock: cluster.engine.blockTokens,
      // Every GPU's pool as large as the largest instance's budget (per-role degrees differ): the engine's ledger of
      // each instance admits, so the native side never runs out first.
      deviceBlocksPerGpu: cluster.shapes.reduce((n, s) => Math.max(n, s.engine.kvBlocksTotal), cluster.engine.kvBlocksTotal),
      hostBlocksPerTray: spec.hostBlocks,
      diskBlocksPerTray: 0,
      dataMode: 'metadata',
      backend: 'cpu',
    });
  }

  private fail(op: string, error: unknown): void {
    this.failures++;
    const e = error as { code?: string; message?: string };
    this.lastFailure = { op, code: e.code ?? 'E_UNKNOWN', message: e.message ?? String(error) };
  }

  /** A new sequence on `gpu` with its leading block hashes; 0 when it failed. */
  allocate(gpu: number, numTokens: number, hashes: BigUint64Array | undefined): number {
    this.dirty = true;
    try {
      return this.kv.allocate({ gpu, numTokens, ...(hashes ? { blockHashes: hashes } : {}) }).seqId;
    } catch (error) {
      this.fail('allocate', error);
      return 0;
    }
  }

  append(seqId: number, numTokens: number, hashes: BigUint64Array | undefined): boolean {
    try {
      const r = this.kv.append(seqId, numTokens, hashes);
      if (r.newBlocks > 0 || hashes) this.dirty = true;
      return true;
    } catch (error) {
      this.fail('append', error);
      return false;
    }
  }

  free(seqId: number): void {
    try {
      this.kv.free(seqId);
    } catch (error) {
      this.fail('free', error);
    }
  }

  /** Moves a sequence to its tray's host tier (a swap-out); false when the host tier has no room. */
  demote(seqId: number): boolean {
    return this.transfer(seqId, 'host', 0);
  }

  /** Moves a sequence back to `gpu` (a swap-in); false when it failed. */
  promote(seqId: number, gpu: number): boolean {
    return this.transfer(seqId, 'device', gpu);
  }

  private transfer(seqId: number, tier: 'host' | 'device', index: number): boolean {
    this.dirty = true;
    // The state changes synchronously (metadata mode); the Promise only reports the byte copy, which has none.
    this.kv.transfer(seqId, { tier, index }, 'move').catch(() => undefined);
    try {
      return this.kv.sequenceInfo(seqId).location.tier === tier;
    } catch (error) {
      this.fail('transfer', error);
      return false;
    }
  }

  /** The events since the last drain, or null when nothing could have happened. */
  drain(): KvEventBatch | null {
    if (!this.dirty) return null;
    this.dirty = false;
    const batch = this.kv.drainEventsPacked();
    return batch.count > 0 ? batch : null;
  }

  snapshot() {
    return this.kv.snapshot();
  }

  stats() {
    return this.kv.stats();
  }

  close(): void {
    this.kv.close();
  }
}
