// The engine's only view of KV memory: counts of blocks per sequence and per idle session, on the device (HBM)
// and the host tier (Grace). The simulator plugs the native KV manager in behind this interface later, so it stays
// narrow: the engine asks, the ledger answers yes or no and never decides anything itself.

export interface KvLedger {
  readonly deviceBlocksTotal: number;
  readonly hostBlocksTotal: number;
  deviceBlocksFree(): number;
  hostBlocksUsed(): number;
  /** Grows seqId's device holding to `blocks` in total (no-op when it holds that many). False, and no change, when the device lacks room. */
  tryReserve(seqId: number, blocks: number): boolean;
  /** Frees everything seqId holds, on the device and on the host. */
  release(seqId: number): void;
  /** Moves seqId's device blocks to the host tier. False, and no change, when the host lacks room. */
  swapOut(seqId: number): boolean;
  /** Frees seqId's host copy and holds `blocks` on the device instead. False, and no change, when the device lacks room. */
  swapIn(seqId: number, blocks: number): boolean;
  /** Holds `blocks` for an idle session on `tier`. False, and no change, when that tier lacks room. */
  retain(sessionKey: string, blocks: number, tier: 'device' | 'host'): boolean;
  /** Frees an idle session's blocks; returns how many were freed (0 if unknown). */
  unretain(sessionKey: string): number;
  /** Device blocks held for idle sessions. */
  retainedDeviceBlocks(): number;
}

/** Counts blocks without storing any: the engine's own accounting and the tests' ledger. */
export class CountingKvLedger implements KvLedger {
  private deviceUsed = 0;
  private hostUsed = 0;
  private retainedDevice = 0;
  private readonly deviceBySeq = new Map<number, number>();
  private readonly hostBySeq = new Map<number, number>();
  private readonly sessions = new Map<string, { blocks: number; tier: 'device' | 'host' }>();

  constructor(readonly deviceBlocksTotal: number, readonly hostBlocksTotal = 0) {
    if (!Number.isInteger(deviceBlocksTotal) || deviceBlocksTotal < 1) throw new RangeError(`deviceBlocksTotal: expected an integer ≥ 1, got ${deviceBlocksTotal}`);
    if (!Number.isInteger(hostBlocksTotal) || hostBlocksTotal < 0) throw new RangeError(`hostBlocksTotal: expected an integer ≥ 0, got ${hostBlocksTotal}`);
  }

  deviceBlocksFree(): number {
    return this.deviceBlocksTotal - this.deviceUsed;
  }

  hostBlocksUsed(): number {
    return this.hostUsed;
  }

  retainedDeviceBlocks(): number {
    return this.retainedDevice;
  }

  tryReserve(seqId: number, blocks: number): boolean {
    const held = this.deviceBySeq.get(seqId) ?? 0;
    if (blocks <= held) return true;
    if (blocks - held > this.deviceBlocksFree()) return false;
    this.deviceUsed += blocks - held;
    this.deviceBySeq.set(seqId, blocks);
    return true;
  }

  release(seqId: number): void {
    this.deviceUsed -= this.deviceBySeq.get(seqId) ?? 0;
    this.hostUsed -= this.hostBySeq.get(seqId) ?? 0;
    this.deviceBySeq.delete(seqId);
    this.hostBySeq.delete(seqId);
  }

  swapOut(seqId: number): boolean {
    const held = this.deviceBySeq.get(seqId) ?? 0;
    if (held > this.hostBlocksTotal - this.hostUsed) return false;
    this.deviceUsed -= held;
    this.hostUsed += held;
    this.deviceBySeq.delete(seqId);
    this.hostBySeq.set(seqId, (this.hostBySeq.get(seqId) ?? 0) + held);
    return true;
  }

  swapIn(seqId: number, blocks: number): boolean {
    const held = this.deviceBySeq.get(seqId) ?? 0;
    if (blocks - held > this.deviceBlocksFree()) return false;
    this.deviceUsed += Math.max(0, blocks - held);
    this.deviceBySeq.set(seqId, Math.max(blocks, held));
    this.hostUsed -= this.hostBySeq.get(seqId) ?? 0;
    this.hostBySeq.delete(seqId);
    return true;
  }

  retain(sessionKey: string, blocks: number, tier: 'device' | 'host'): boolean {
    // Room counts the session's current holding on the target tier, and a failed move keeps the old copy.
    const old = this.sessions.get(sessionKey);
    const mine = old && old.tier === tier ? old.blocks : 0;
    const free = tier === 'device' ? this.deviceBlocksFree() : this.hostBlocksTotal - this.hostUsed;
    if (blocks > free + mine) return false;
    this.unretain(sessionKey);
    if (tier === 'device') {
      this.deviceUsed += blocks;
      this.retainedDevice += blocks;
    } else {
      this.hostUsed += blocks;
    }
    this.sessions.set(sessionKey, { blocks, tier });
    return true;
  }

  unretain(sessionKey: string): number {
    const held = this.sessions.get(sessionKey);
    if (!held) return 0;
    this.sessions.delete(sessionKey);
    if (held.tier === 'device') {
      this.deviceUsed -= held.blocks;
      this.retainedDevice -= held.blocks;
    } else {
      this.hostUsed -= held.blocks;
    }
    return held.blocks;
  }
}
