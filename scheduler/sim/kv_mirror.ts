// The KV side of the simulated workers: mirrors what the engine plans into the tray's native KV manager — allocate a
// sequence with its prompt's block hashes when it first runs, append a block at a time as it grows, free it at its
// end or on a recompute preemption, move it to Grace and back on a swap, hold a finished turn's context while the
// scheduler retains the session — and drains each tray's events into the scheduler's KV index after its steps.
import type { EnginePlan } from '../core/engine/types.js';
import type { Scheduler } from '../core/scheduler.js';
import type { InstRun, LiveReq, SeqRun } from './sim_types.js';
import type { WorkerKv } from './worker_kv.js';

/** A session's context held between turns because the scheduler retained it (on HBM, or demoted to Grace). */
interface HeldSession {
  inst: InstRun;
  native: number;
  tier: 'device' | 'host';
}

export class KvMirror {
  eventsApplied = 0;
  private readonly held = new Map<string, HeldSession>();

  constructor(private readonly sched: Scheduler, private readonly blockTokens: number) {}

  /** Before a step runs: its preemptions, swap-ins and idle-session moves. */
  beforeStep(worker: WorkerKv, inst: InstRun, plan: EnginePlan): void {
    if (plan.preempted.length > 0) this.applyPreemptions(worker, inst, plan);
    if (plan.swappedIn.length > 0) this.applySwapIns(worker, inst, plan);
    if (plan.sessionMoves.length > 0 || plan.evictedSessions.length > 0) this.applySessionMoves(worker, inst, plan);
  }

  /** A request ended: its last tokens are appended, then its blocks are freed — or held if its session is retained. */
  ended(worker: WorkerKv, inst: InstRun, s: SeqRun, completed: boolean): void {
    if (s.native <= 0) return;
    this.flush(worker, s);
    if (!completed || !this.hold(worker, inst, s.live, s)) this.release(worker, s);
  }

  private hashesOf(live: LiveReq): BigUint64Array {
    if (!live.hashes) {
      const src = live.continuation ?? live.req.blockHashes;
      const out = new BigUint64Array(src.length);
      for (let i = 0; i < src.length; i++) out[i] = src[i] as bigint;
      live.hashes = out;
    }
    return live.hashes;
  }

  /** Brings the native sequence to `tokens`: allocate on first run, else append once a new block is needed. */
  sync(worker: WorkerKv, gpu: number, s: SeqRun, tokens: number): void {
    const bt = this.blockTokens;
    s.tokens = tokens;
    if (s.native === 0) {
      const hashes = this.hashesOf(s.live);
      const full = Math.floor(tokens / bt);
      const numHashed = Math.min(hashes.length, full);
      const id = worker.allocate(gpu, tokens, numHashed > 0 ? hashes.subarray(0, numHashed) : undefined);
      s.native = id > 0 ? id : -1;
      s.nativeTokens = tokens;
      s.hashedBlocks = numHashed;
      s.hashable = numHashed === full;
      return;
    }
    // A block is appended when the next token needs one; the hash of a block that just filled goes with it.
    if (Math.ceil(tokens / bt) > Math.ceil(s.nativeTokens / bt)) this.flush(worker, s);
  }

  private flush(worker: WorkerKv, s: SeqRun): void {
    const add = s.tokens - s.nativeTokens;
    if (add <= 0 || s.native <= 0) return;
    const full = Math.floor(s.tokens / this.blockTokens);
    let hashes: BigUint64Array | undefined;
    if (s.hashable) {
      const all = this.hashesOf(s.live);
      const upTo = Math.min(full, all.length);
      if (upTo > s.hashedBlocks) {
        hashes = all.subarray(s.hashedBlocks, upTo);
        s.hashedBlocks = upTo;
      }
      s.hashable = s.hashedBlocks === full;
    }
    if (!worker.append(s.native, add, hashes)) s.native = -1;
    s.nativeTokens = s.tokens;
  }

  /** The sequence left this worker (handed off or migrated): its last tokens are appended, then it is freed. */
  dropSeq(worker: WorkerKv, s: SeqRun): void {
    if (s.native > 0) this.flush(worker, s);
    this.release(worker, s);
  }

  private release(worker: WorkerKv, s: SeqRun): void {
    if (s.native > 0) worker.free(s.native);
    s.native = 0;
    s.nativeTokens = 0;
    s.hashedBlocks = 0;
    s.hashable = true;
    s.swapped = false;
  }

  private applyPreemptions(worker: WorkerKv, inst: InstRun, plan: EnginePlan): void {
    for (const p of plan.preempted) {
      const s = inst.seqs.get(p.seqId);
      if (!s) continue;
      if (p.mode === 'swap' && s.native > 0) {
        this.flush(worker, s);
        if (s.native > 0 && worker.demote(s.native)) {
          s.swapped = true;
          continue;
        }
      }
      this.release(worker, s);
    }
  }

  private applySwapIns(worker: WorkerKv, inst: InstRun, plan: EnginePlan): void {
    for (const m of plan.swappedIn) {
      const s = inst.seqs.get(m.seqId);
      if (!s || !s.swapped) continue;
      s.swapped = false;
      if (!worker.promote(s.native, inst.gpu)) this.release(worker, s);
    }
  }

  /**
   * A session turn completed: if the scheduler retained its context, the worker keeps the sequence's blocks (on
   * HBM, or moved to the Grace tier for a demotion) until the next turn, an eviction or a promotion says otherwise.
   */
  private hold(worker: WorkerKv, inst: InstRun, live: LiveReq, s: SeqRun): boolean {
    const sessionId = live.req.sessionId;
    if (sessionId === undefined) return false;
    const tier = this.sched.sessionTier(inst.id, sessionId);
    if (tier === undefined) return false;
    // Two turns of one session may overlap (open-loop traces): the later end replaces what the earlier one held.
    this.releaseHeld(sessionId);
    if (tier === 'host' && !worker.demote(s.native)) return false;
    this.held.set(sessionId, { inst, native: s.native, tier });
    s.native = 0;
    return true;
  }

  /** The session's next turn was taken (the scheduler released its retained context): free what was held. */
  releaseHeld(sessionId: string): void {
    const h = this.held.get(sessionId);
    if (!h) return;
    this.held.delete(sessionId);
    h.inst.worker?.free(h.native);
  }

  /** The engine's idle-session decisions of this plan: evictions free HBM, moves demote to or promote from Grace. */
  private applySessionMoves(worker: WorkerKv, inst: InstRun, plan: EnginePlan): void {
    for (const key of plan.evictedSessions) {
      if (this.held.get(key)?.inst === inst) this.releaseHeld(key);
    }
    for (const m of plan.sessionMoves) {
      const h = this.held.get(m.sessionKey);
      if (!h || h.inst !== inst || h.tier === m.to) continue;
      const moved = m.to === 'host' ? worker.demote(h.native) : worker.promote(h.native, inst.gpu);
      if (moved) h.tier = m.to;
      else this.releaseHeld(m.sessionKey);
    }
  }

  /** After a step: the tray's events since its last drain go to the scheduler's KV index. */
  drain(worker: WorkerKv): void {
    const batch = worker.drain();
    if (!batch) return;
    this.eventsApplied += batch.count;
    if (this.sched.applyKvEvents(worker.workerId, batch).resyncNeeded) this.sched.applyKvSnapshot(worker.workerId, worker.snapshot());
  }
}


/**
 * Where the scheduler keeps a session's context between turns on one instance. WORKAROUND: the Scheduler has no
 * public accessor for it yet (asked for: `Scheduler.sessionTier(instanceId, sessionId)`); this reads the instance's
 * engine through the scheduler's private table and answers undefined (the worker then frees, as before) if that
 * table ever changes shape.
 */
