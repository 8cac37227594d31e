// Live pre-copy, destination side: copies committed by a HandoffSend with precopy = true wait here, unrunnable
// (no Step plan names them: the instance's table does not list them), until the tail arrives (HandoffAppend appends
// the tokens the source wrote since and the copy is adopted) or the move is dropped (abort, or no tail within the
// pre-copy's timeout_s: a gateway that died between the phases must not leave blocks taken).
import type { HeldSequence, SimBackend } from './sim_backend.js';

interface Parked {
  held: HeldSequence;
  timer: NodeJS.Timeout;
}

export class ParkedCopies {
  private readonly copies = new Map<string, Parked>();

  constructor(private readonly backend: SimBackend, private readonly log: (line: string) => void) {}

  get size(): number {
    return this.copies.size;
  }

  has(instanceId: string, seqId: number): boolean {
    return this.copies.has(key(instanceId, seqId));
  }

  /** Parks a committed copy; freed after `timeoutS` unless taken or dropped first. */
  park(instanceId: string, seqId: number, held: HeldSequence, timeoutS: number): void {
    const k = key(instanceId, seqId);
    const timer = setTimeout(() => {
      if (this.drop(instanceId, seqId)) this.log(`pre-copy ${k}: no tail within ${timeoutS} s; the parked copy is freed`);
    }, timeoutS * 1000);
    timer.unref();
    this.copies.set(k, { held, timer });
  }

  /** Removes a parked copy and hands it to the caller (who adopts or frees it). */
  take(instanceId: string, seqId: number): HeldSequence | undefined {
    const k = key(instanceId, seqId);
    const p = this.copies.get(k);
    if (!p) return undefined;
    clearTimeout(p.timer);
    this.copies.delete(k);
    return p.held;
  }

  /** Frees a parked copy; false when there was none. */
  drop(instanceId: string, seqId: number): boolean {
    const held = this.take(instanceId, seqId);
    if (!held) return false;
    try {
      this.backend.kv.free(held.native);
    } catch {
      // the manager closed under us (worker shutting down): nothing is left to release
    }
    return true;
  }

  /** Worker shutdown: frees every parked copy. */
  clear(): void {
    for (const k of [...this.copies.keys()]) {
      const [instanceId, seq] = splitKey(k);
      this.drop(instanceId, seq);
    }
  }
}

function key(instanceId: string, seqId: number): string {
  return `${seqId}@${instanceId}`;
}

function splitKey(k: string): [string, number] {
  const at = k.indexOf('@');
  return [k.slice(at + 1), Number(k.slice(0, at))];
}
