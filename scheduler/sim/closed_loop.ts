// Closed-loop replay of session scripts (architecture §6 `--sessions`): `concurrency` top-level sessions run at once;
// a session's turn k+1 is sent its thinkTimeS after turn k ended (completed, rejected or cancelled); when a session's
// last turn ends its slot starts the next script. Sub-agents start when their parent's `afterTurn` turn ends and hold
// no slot. When more sessions are needed than the workload holds, scripts are reused with fresh hash namespaces:
// every block hash is xor-ed with a per-reuse salt, except the leading hashes that several scripts share (the global
// system prefix), which stay shared as they would between real users.
import type { ScheduleRequest } from '../core/types.js';
import type { ClosedLoopWorkload, SessionScript, WorkloadRequest } from '../workload/types.js';

/** The first `concurrency` sessions start staggered over at most this long (1 s apart at most). */
export const RAMP_S = 60;
const MAX_SPACING_S = 1;

export interface SessionRun {
  script: SessionScript;
  /** 0 for the script's first use; k for its k-th reuse (ids get `#k`, hashes a salt). */
  reuse: number;
  sessionId: string;
  salt: bigint;
  /** Index of the turn to send next (or being served). */
  turn: number;
  /** Slot of a top-level session; -1 for a sub-agent. */
  slot: number;
  /** The salted hashes of `turn`, computed when the previous turn asked for its continuation. */
  pendingHashes: readonly bigint[] | null;
}

export interface TurnRequest {
  w: WorkloadRequest;
  req: ScheduleRequest;
  /** The next turn's hashes when they extend this prompt's: the hashes this turn's output blocks will have. */
  continuation?: readonly bigint[];
}

/** schedule(timeS, runIndex): the run's current turn is due at timeS. */
export type ScheduleTurn = (timeS: number, runIndex: number) => void;

/** SplitMix64 finaliser: distinct, well-spread salts per reuse index. */
function saltOf(reuse: number): bigint {
  if (reuse === 0) return 0n;
  let z = (BigInt(reuse) * 0x9e3779b97f4a7c15n) & 0xffffffffffffffffn;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & 0xffffffffffffffffn;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & 0xffffffffffffffffn;
  return (z ^ (z >> 31n)) | 1n;
}

/** True when `next` starts with all of `cur` (chained hashes: comparing the last one suffices) and is longer. */
export function extendsPrefix(cur: readonly bigint[], next: readonly bigint[]): boolean {
  if (next.length <= cur.length) return false;
  return cur.length === 0 || next[cur.length - 1] === cur[cur.length - 1];
}

export class ClosedLoop {
  readonly runs: SessionRun[] = [];
  private readonly top: SessionScript[];
  private readonly children = new Map<string, SessionScript[]>();
  private readonly shared = new Set<bigint>();
  private readonly totalSessions: number;
  private startedTop = 0;

  /**
   * @param concurrency top-level sessions at once.
   * @param untilS no turn is sent after this time (Infinity: none is cut); with a finite untilS sessions keep
   *   starting (reusing scripts) until then, else max(concurrency, scripts) top-level sessions run in all.
   */
  constructor(workload: ClosedLoopWorkload, readonly concurrency: number, private readonly untilS: number) {
    this.top = workload.sessions.filter((s) => s.parent === undefined);
    for (const s of workload.sessions) {
      if (s.parent === undefined) continue;
      const list = this.children.get(s.parent.sessionId) ?? [];
      list.push(s);
      this.children.set(s.parent.sessionId, list);
    }
    this.totalSessions = this.top.length === 0 ? 0 : Number.isFinite(untilS) ? Infinity : Math.max(concurrency, this.top.length);
    this.findSharedPrefix(workload.sessions);
  }

  /** Hashes of the first turns that appear in two or more scripts: the shared system prefix, never salted. */
  private findSharedPrefix(scripts: readonly SessionScript[]): void {
    const seen = new Map<bigint, number>();
    scripts.forEach((script, k) => {
      const first = script.turns[0]?.request.req.blockHashes ?? [];
      for (const h of first) {
        const owner = seen.get(h);
        if (owner === undefined) seen.set(h, k);
        else if (owner !== k) this.shared.add(h);
      }
    });
  }

  /** Schedules the first turns of the first `concurrency` sessions, staggered. */
  start(schedule: ScheduleTurn): void {
    const spacingS = Math.min(MAX_SPACING_S, RAMP_S / Math.max(1, this.concurrency));
    for (let slot = 0; slot < this.concurrency; slot++) this.startTop(slot, slot * spacingS, schedule);
  }

  private startTop(slot: number, atS: number, schedule: ScheduleTurn): void {
    // Scripts without turns end at once; bounded so a workload of only empty scripts cannot loop.
    for (let tries = 0; tries <= this.top.length && this.startedTop < this.totalSessions; tries++) {
      const k = this.startedTop++;
      const script = this.top[k % this.top.length] as SessionScript;
      if (script.turns.length === 0) continue;
      this.startRun(script, Math.floor(k / this.top.length), slot, atS, schedule);
      return;
    }
  }

  private startRun(script: SessionScript, reuse: number, slot: number, atS: number, schedule: ScheduleTurn): void {
    const run: SessionRun = {
      script,
      reuse,
      sessionId: reuse === 0 ? script.sessionId : `${script.sessionId}#${reuse}`,
      salt: saltOf(reuse),
      turn: 0,
      slot,
      pendingHashes: null,
    };
    this.runs.push(run);
    this.scheduleTurn(this.runs.length - 1, atS, schedule);
  }

  private scheduleTurn(runIndex: number, afterS: number, schedule: ScheduleTurn): void {
    const run = this.runs[runIndex] as SessionRun;
    const atS = afterS + Math.max(0, run.script.turns[run.turn]?.thinkTimeS ?? 0);
    if (atS <= this.untilS) schedule(atS, runIndex);
  }

  /** The request of the run's current turn, sent at nowS. */
  turnRequest(runIndex: number, nowS: number): TurnRequest {
    const run = this.runs[runIndex] as SessionRun;
    const turn = run.script.turns[run.turn] as SessionScript['turns'][number];
    const base = turn.request.req;
    const hashes = run.pendingHashes ?? this.salted(base.blockHashes, run.salt);
    const req: ScheduleRequest = {
      ...base,
      requestId: run.reuse === 0 ? base.requestId : `${base.requestId}#${run.reuse}`,
      sessionId: run.sessionId,
      arrivalS: nowS,
      blockHashes: hashes,
    };
    const next = run.script.turns[run.turn + 1];
    run.pendingHashes = next ? this.salted(next.request.req.blockHashes, run.salt) : null;
    const out: TurnRequest = { w: turn.request, req };
    if (run.pendingHashes && extendsPrefix(hashes, run.pendingHashes)) out.continuation = run.pendingHashes;
    return out;
  }

  /** The run's current turn ended at endS: start its sub-agents, schedule its next turn or the slot's next session. */
  turnEnded(runIndex: number, endS: number, schedule: ScheduleTurn): void {
    const run = this.runs[runIndex] as SessionRun;
    const ended = run.turn++;
    for (const child of this.children.get(run.script.sessionId) ?? []) {
      if (child.parent?.afterTurn === ended && child.turns.length > 0) this.startRun(child, run.reuse, -1, endS, schedule);
    }
    if (run.turn < run.script.turns.length) this.scheduleTurn(runIndex, endS, schedule);
    else if (run.slot >= 0 && endS <= this.untilS) this.startTop(run.slot, endS, schedule);
  }

  private salted(hashes: readonly bigint[], salt: bigint): readonly bigint[] {
    if (salt === 0n) return hashes;
    let i = 0;
    while (i < hashes.length && this.shared.has(hashes[i] as bigint)) i++;
    if (i === hashes.length) return hashes;
    const out = hashes.slice(0, i);
    for (; i < hashes.length; i++) out.push((hashes[i] as bigint) ^ salt);
    return out;
  }
}
