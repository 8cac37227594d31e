// The worker's KV moves between tiers, against the tray's native KV manager (metadata mode: the state changes inside
// the call, the returned Promise only reports a byte copy there is none of): swap a running sequence to Grace and
// back, and hold an ended session turn's sequence under its session key between turns (in HBM, or demoted to Grace)
// until the gateway releases it. A move that finds no room reports false and changes nothing (native/SPEC.md); the
// caller then frees and says so in the step result.
import type { NativeKvManager } from '../kv/native.js';

interface Held {
  native: number;
  tier: 'device' | 'host';
}

export class KvMoves {
  /** instance id → session key → the held native sequence. */
  private readonly held = new Map<string, Map<string, Held>>();
  private count = 0;

  constructor(private readonly kv: NativeKvManager) {}

  get heldCount(): number {
    return this.count;
  }

  /** Moves a live sequence to the tray's Grace tier ('host') or to `gpu` ('device'); false when it did not move. */
  move(native: number, tier: 'device' | 'host', gpu: number): boolean {
    try {
      const pending = tier === 'host' ? this.kv.demote(native) : this.kv.promote(native, gpu);
      pending.catch(() => undefined); // the outcome is read below, synchronously
      return this.kv.sequenceInfo(native).location.tier === tier;
    } catch {
      return false;
    }
  }

  /**
   * Takes over an ended turn's sequence under `key` (a previous hold of the key is freed first: turns of one
   * session may overlap). toHost demotes it; when that fails the sequence is freed and false returned.
   */
  hold(instanceId: string, key: string, native: number, toHost: boolean): boolean {
    this.release(instanceId, key);
    if (toHost && !this.move(native, 'host', 0)) {
      this.kv.free(native);
      return false;
    }
    let table = this.held.get(instanceId);
    if (!table) {
      table = new Map();
      this.held.set(instanceId, table);
    }
    table.set(key, { native, tier: toHost ? 'host' : 'device' });
    this.count++;
    return true;
  }

  /** Moves a held session between tiers; false (and freed) when it could not move; true when absent or already there. */
  moveHeld(instanceId: string, key: string, toHost: boolean, gpu: number): boolean {
    const h = this.held.get(instanceId)?.get(key);
    if (!h) return true;
    const tier = toHost ? 'host' : 'device';
    if (h.tier === tier) return true;
    if (this.move(h.native, tier, gpu)) {
      h.tier = tier;
      return true;
    }
    this.release(instanceId, key);
    return false;
  }

  /** Frees what `key` holds on the instance; unknown keys are ignored (already released or dropped). */
  release(instanceId: string, key: string): void {
    const table = this.held.get(instanceId);
    const h = table?.get(key);
    if (!table || !h) return;
    table.delete(key);
    this.count--;
    this.kv.free(h.native);
  }

  /** Frees everything held for an instance (its step stream ended). */
  releaseInstance(instanceId: string): void {
    const table = this.held.get(instanceId);
    if (!table) return;
    for (const key of [...table.keys()]) this.release(instanceId, key);
    this.held.delete(instanceId);
  }
}
