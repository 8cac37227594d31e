// Idle sessions of one instance between turns: asks the retention policy at each turn end (with the think-time
// predictor's gap), records where the KV went, says when a demoted session should be promoted back, and feeds the
// observed gaps back to the predictor when the next turn arrives. It decides; the caller moves the blocks (engine
// retainSession / promoteSession / releaseSession) and reports what the engine evicted on its own.
import type { RetentionAction, RetentionPolicy, ThinkTimePredictor } from '../types.js';
import type { SessionRetentionInput } from './types.js';

export type IdleTier = 'device' | 'host';

/** What the caller knows at a turn end (the engine's view gives the pressures and blocks). */
export interface TurnEnd {
  sessionId: string;
  tenant: string;
  nowS: number;
  kvBlocks: number;
  contextTokens: number;
  devicePressure: number;
  hostPressure: number;
  deviceKvBlocksTotal: number;
  recomputeS: number;
  promoteS: number;
  returnProbability?: number;
}

export interface IdleDecision {
  sessionId: string;
  action: RetentionAction;
  reason: string;
  /** For 'demote' with a predicted gap: when to promote it back (now + max(0, expected gap − lead)); else null. */
  promoteAtS: number | null;
}

interface IdleSession {
  tenant: string;
  endedS: number;
  /** Where its KV is; null once dropped (kept to measure the gap when it returns). */
  tier: IdleTier | null;
  input: SessionRetentionInput;
  promoteAtS: number | null;
}

export class SessionRetention {
  private readonly idle = new Map<string, IdleSession>();
  /** Demoted sessions by promotion time, ascending; entries whose session moved on are skipped lazily. */
  private promotions: { atS: number; sessionId: string }[] = [];

  constructor(private readonly policy: RetentionPolicy, private readonly predictor: ThinkTimePredictor) {}

  get size(): number {
    return this.idle.size;
  }

  tierOf(sessionId: string): IdleTier | null {
    return this.idle.get(sessionId)?.tier ?? null;
  }

  turnEnded(t: TurnEnd): IdleDecision {
    const gap = this.predictor.predict(t.sessionId, t.tenant);
    const input: SessionRetentionInput = {
      sessionId: t.sessionId,
      nowS: t.nowS,
      kvBlocks: t.kvBlocks,
      contextTokens: t.contextTokens,
      devicePressure: t.devicePressure,
      hostPressure: t.hostPressure,
      recomputeS: t.recomputeS,
      promoteS: t.promoteS,
      deviceKvBlocksTotal: t.deviceKvBlocksTotal,
      ...(gap ? { expectedGapS: gap.expectedS, p90GapS: gap.p90S } : {}),
      ...(t.returnProbability !== undefined ? { returnProbability: t.returnProbability } : {}),
    };
    const session: IdleSession = { tenant: t.tenant, endedS: t.nowS, tier: null, input, promoteAtS: null };
    this.idle.set(t.sessionId, session);
    return this.apply(t.sessionId, session, this.policy.decide(input));
  }

  /**
   * The session's next turn arrived: returns where its KV is (so the caller routes it and counts the cached
   * prefix) and the gap, which the predictor learns from. Unknown sessions (first turn) return tier null.
   */
  turnStarted(sessionId: string, tenant: string, nowS: number): { tier: IdleTier | null; gapS: number | null } {
    const session = this.idle.get(sessionId);
    if (!session) return { tier: null, gapS: null };
    this.idle.delete(sessionId);
    const gapS = Math.max(0, nowS - session.endedS);
    this.predictor.observe(sessionId, tenant, gapS);
    return { tier: session.tier, gapS };
  }

  /** When the next demoted session is due to be promoted (null: none), so an idle executor can wake for it. */
  nextPromotionS(): number | null {
    while (this.promotions.length > 0) {
      const p = this.promotions[0] as { atS: number; sessionId: string };
      const session = this.idle.get(p.sessionId);
      if (session && session.tier === 'host' && session.promoteAtS === p.atS) return p.atS;
      this.promotions.shift(); // stale: the session moved on
    }
    return null;
  }

  /** Demoted sessions whose promotion time has come, in time order; each is marked as on the device again. */
  duePromotions(nowS: number): string[] {
    const due: string[] = [];
    let taken = 0;
    for (; taken < this.promotions.length; taken++) {
      const p = this.promotions[taken] as { atS: number; sessionId: string };
      if (p.atS > nowS) break;
      const session = this.idle.get(p.sessionId);
      if (!session || session.tier !== 'host' || session.promoteAtS !== p.atS) continue;
      session.tier = 'device';
      session.promoteAtS = null;
      due.push(p.sessionId);
    }
    if (taken > 0) this.promotions.splice(0, taken);
    return due;
  }

  /**
   * Asks again for a kept or demoted session with today's pressures (call it as pressure rises). Returns the new
   * decision when the KV must move down (keep → demote/drop, demote → drop); it never moves a session up early.
   */
  reconsider(sessionId: string, nowS: number, devicePressure: number, hostPressure: number): IdleDecision | null {
    const session = this.idle.get(sessionId);
    if (!session || session.tier === null) return null;
    const elapsedS = nowS - session.endedS;
    const expected = session.input.expectedGapS;
    // Overdue sessions are assumed to wait another median gap rather than to be about to arrive.
    const remaining = expected !== undefined && expected > elapsedS ? expected - elapsedS : expected;
    const input: SessionRetentionInput = { ...session.input, nowS, devicePressure, hostPressure, ...(remaining !== undefined ? { expectedGapS: remaining } : {}) };
    const decision = this.policy.decide(input);
    const down = session.tier === 'device' ? decision.action !== 'keep' : decision.action === 'drop';
    if (!down) return null;
    session.input = input;
    return this.apply(sessionId, session, decision);
  }

  /** The engine reclaimed the session's HBM (EnginePlan.evictedSessions): its KV is gone. */
  evicted(sessionId: string): void {
    const session = this.idle.get(sessionId);
    if (session) {
      session.tier = null;
      session.promoteAtS = null;
    }
  }

  /** Forgets sessions idle longer than maxIdleS; returns them (the caller releases any KV they still hold). */
  expire(nowS: number, maxIdleS: number): string[] {
    const gone: string[] = [];
    for (const [id, session] of this.idle) {
      if (nowS - session.endedS > maxIdleS) {
        gone.push(id);
        this.idle.delete(id);
      }
    }
    return gone;
  }

  private apply(sessionId: string, session: IdleSession, d: { action: RetentionAction; reason: string }): IdleDecision {
    session.tier = d.action === 'keep' ? 'device' : d.action === 'demote' ? 'host' : null;
    session.promoteAtS = null;
    if (d.action === 'demote') {
      // Without a predicted gap there is nothing to promote ahead of: the turn promotes it on arrival.
      const expected = session.input.expectedGapS ?? null;
      if (expected !== null) {
        const at = session.input.nowS + Math.max(0, expected - this.policy.promoteLeadS(session.input));
        session.promoteAtS = at;
        this.insertPromotion(at, sessionId);
      }
    }
    return { sessionId, action: d.action, reason: d.reason, promoteAtS: session.promoteAtS };
  }

  private insertPromotion(atS: number, sessionId: string): void {
    const list = this.promotions;
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((list[mid] as { atS: number }).atS <= atS) lo = mid + 1;
      else hi = mid;
    }
    list.splice(lo, 0, { atS, sessionId });
  }
}
