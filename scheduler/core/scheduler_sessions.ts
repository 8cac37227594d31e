// Session retention bookkeeping for the Scheduler (scheduler.ts): which instance is each session's home (where its
// context was left at its last turn end), what a turn start releases there, what the retention policy keeps at a
// turn end, and forgetting what an instance that lost its KV held. The ledger charges the idle KV it keeps.
import type { CostLedger } from './cost/ledger.js';
import type { Instance } from './scheduler_state.js';
import type { PlacementCostModel, ScheduleRequest } from './types.js';

/** Largest number of sessions whose home instance is remembered (oldest forgotten first). */
const MAX_SESSION_HOMES = 200_000;

export interface SessionDeps {
  instances: ReadonlyMap<string, Instance>;
  ledger: CostLedger;
  cost: PlacementCostModel;
  blockTokens: number;
}

export class SessionHomes {
  /** sessionId → instanceId, in insertion order (the oldest first, for the bound). */
  private readonly homes = new Map<string, string>();

  constructor(private readonly deps: SessionDeps) {}

  /** The instance a session's last turn ended on (undefined: none remembered). */
  home(sessionId: string): string | undefined {
    return this.homes.get(sessionId);
  }

  /** A session's turn was admitted on `inst`: its idle context at home is released, and `inst` is its new home. */
  startTurn(req: ScheduleRequest, inst: Instance, nowS: number): void {
    if (req.sessionId === undefined) return;
    const homeId = this.homes.get(req.sessionId);
    const home = homeId !== undefined ? this.deps.instances.get(homeId) : undefined;
    if (home) {
      home.retention.turnStarted(req.sessionId, req.tenant, nowS);
      home.engine.releaseSession(req.sessionId);
      this.deps.ledger.setIdleKvBlocks(req.sessionId, home.setup.pool, 0, nowS);
    }
    this.homes.delete(req.sessionId);
    this.homes.set(req.sessionId, inst.setup.instanceId);
    if (this.homes.size > MAX_SESSION_HOMES) {
      const oldest = this.homes.keys().next().value as string;
      this.homes.delete(oldest);
    }
  }

  /** A session's turn ended: the retention policy keeps, demotes or drops its context on this instance. */
  endTurn(req: ScheduleRequest, inst: Instance, contextTokens: number, nowS: number): void {
    if (req.sessionId === undefined) return;
    const kvBlocks = Math.max(1, Math.ceil(contextTokens / this.deps.blockTokens));
    const load = inst.engine.view();
    const cost = this.deps.cost;
    const decision = inst.retention.turnEnded({
      sessionId: req.sessionId,
      tenant: req.tenant,
      nowS,
      kvBlocks,
      contextTokens,
      devicePressure: (load.kvBlocksUsed + load.kvBlocksRetained) / Math.max(1, load.kvBlocksTotal),
      hostPressure: 0,
      deviceKvBlocksTotal: load.kvBlocksTotal,
      recomputeS: cost.prefillS(inst.view, contextTokens, 0),
      promoteS: cost.fetchS(inst.view, kvBlocks, 'c2c'),
    });
    let heldBlocks = 0;
    if (decision.action === 'keep' && inst.engine.retainSession(req.sessionId, kvBlocks, 'device')) heldBlocks = kvBlocks;
    else if (decision.action === 'demote' && inst.engine.retainSession(req.sessionId, kvBlocks, 'host')) heldBlocks = kvBlocks;
    else if (decision.action !== 'drop') inst.retention.evicted(req.sessionId);
    if (heldBlocks > 0) this.deps.ledger.setIdleKvBlocks(req.sessionId, inst.setup.pool, heldBlocks, nowS);
  }

  /**
   * The instance lost its KV (its worker died or its stream broke: the worker freed every hold): forget the idle
   * sessions retained there, so that a session's next turn is not credited context the worker no longer has and
   * the blocks stop counting as used. Returns the sessions dropped (the caller refreshes the instance's view).
   */
  dropRetained(inst: Instance, nowS: number): string[] {
    const instanceId = inst.setup.instanceId;
    const dropped = inst.engine.retainedSessions();
    for (const sessionId of dropped) {
      inst.engine.releaseSession(sessionId);
      inst.retention.evicted(sessionId);
      this.deps.ledger.setIdleKvBlocks(sessionId, inst.setup.pool, 0, nowS);
      if (this.homes.get(sessionId) === instanceId) this.homes.delete(sessionId);
    }
    return dropped;
  }
}
