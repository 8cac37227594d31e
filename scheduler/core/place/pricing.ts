// Prices a prefix hit with the performance model: for one candidate, the cheapest way to get the prompt's KV ready
// — recompute everything past the device hit, or also promote the Grace (host) blocks over C2C, or also pull the
// neighbour's blocks over NVLink — in seconds. Tiers are contiguous (host blocks follow device blocks, neighbour
// blocks follow host blocks), so the choices are nested: device only; + host; + host + neighbour.
//
// Speed: the cost model may be the full step predictor, and placement asks it a few times per candidate. prefillS
// and fetchS are pure functions of the instance's hardware shape (pool: model and GPUs; numGpus: parallelism) and
// their arguments, so their answers are memoised per cost-model object across calls (GUARDRAILS.md). decodeStepS
// depends on the current batch and is never memoised.
import type { InstanceView, PlacementContext, PrefixHit } from '../types.js';

/** Entries kept per hardware shape before the memo starts over (bounds memory on long runs). */
const MEMO_LIMIT = 4096;
/** Arguments up to 2^22 (4M tokens or blocks) are memoised; larger ones go straight to the model. */
const ARG_LIMIT = 2 ** 22;

export interface PrefillPlan {
  /** Seconds to prefill the whole prompt from nothing. */
  fullS: number;
  /** Seconds of the cheapest plan: remaining prefill plus fetches it uses. */
  bestS: number;
  /** Tokens the best plan does not compute (device hit plus fetched tiers). */
  cachedTokens: number;
  /** Tokens the best plan computes. */
  uncachedTokens: number;
}

export class PrefillPricer {
  private cost: PlacementContext['cost'] | undefined;
  private readonly shapes = new Map<string, Map<number, number>>();
  private lastPool = '';
  private lastGpus = -1;
  private memo = new Map<number, number>();
  readonly plan: PrefillPlan = { fullS: 0, bestS: 0, cachedTokens: 0, uncachedTokens: 0 };

  prefillS(ctx: PlacementContext, inst: InstanceView, newTokens: number, cachedTokens: number): number {
    if (newTokens <= 0) return 0;
    return this.lookup(ctx, inst, 0, newTokens, cachedTokens);
  }

  /** link: 1 c2c (Grace), 2 nvlink (neighbour). */
  fetchS(ctx: PlacementContext, inst: InstanceView, blocks: number, link: 1 | 2): number {
    return blocks > 0 ? this.lookup(ctx, inst, link, blocks, 0) : 0;
  }

  /**
   * Fills and returns this.plan (reused: copy what you keep). Candidates of one request mostly share their hit
   * (e.g. only a common system prompt cached), so an unchanged input returns the previous plan at once.
   */
  price(ctx: PlacementContext, inst: InstanceView, hit: PrefixHit, useHost: boolean, useNeighbour: boolean): PrefillPlan {
    const p = ctx.req.promptTokens;
    const b = ctx.blockTokens;
    const last = this.last;
    if (
      last.cost === ctx.cost && last.pool === inst.pool && last.numGpus === inst.numGpus && last.promptTokens === p &&
      last.blockTokens === b && last.device === hit.deviceBlocks && last.host === hit.hostBlocks &&
      last.neighbour === hit.neighbourBlocks && last.useHost === useHost && last.useNeighbour === useNeighbour
    ) {
      return this.plan;
    }
    this.remember(ctx, inst, hit, useHost, useNeighbour);
    const device = Math.min(hit.deviceBlocks * b, p);
    const hostEnd = useHost ? Math.min(device + hit.hostBlocks * b, p) : device;
    const nbEnd = useNeighbour && hostEnd === device + hit.hostBlocks * b ? Math.min(hostEnd + hit.neighbourBlocks * b, p) : hostEnd;
    const plan = this.plan;
    plan.fullS = this.prefillS(ctx, inst, p, 0);
    plan.bestS = device > 0 ? this.prefillS(ctx, inst, p - device, device) : plan.fullS;
    plan.cachedTokens = device;
    if (hostEnd > device) {
      const promoteS = this.fetchS(ctx, inst, hit.hostBlocks, 1);
      const s = this.prefillS(ctx, inst, p - hostEnd, hostEnd) + promoteS;
      if (s < plan.bestS) {
        plan.bestS = s;
        plan.cachedTokens = hostEnd;
      }
      if (nbEnd > hostEnd) {
        const s2 = this.prefillS(ctx, inst, p - nbEnd, nbEnd) + promoteS + this.fetchS(ctx, inst, hit.neighbourBlocks, 2);
        if (s2 < plan.bestS) {
          plan.bestS = s2;
          plan.cachedTokens = nbEnd;
        }
      }
    } else if (nbEnd > device) {
      const s = this.prefillS(ctx, inst, p - nbEnd, nbEnd) + this.fetchS(ctx, inst, hit.neighbourBlocks, 2);
      if (s < plan.bestS) {
        plan.bestS = s;
        plan.cachedTokens = nbEnd;
      }
    }
    plan.uncachedTokens = p - plan.cachedTokens;
    return plan;
  }

  private readonly last = {
    cost: undefined as PlacementContext['cost'] | undefined, pool: '', numGpus: -1, promptTokens: -1, blockTokens: -1,
    device: -1, host: -1, neighbour: -1, useHost: false, useNeighbour: false,
  };

  private remember(ctx: PlacementContext, inst: InstanceView, hit: PrefixHit, useHost: boolean, useNeighbour: boolean): void {
    const last = this.last;
    last.cost = ctx.cost;
    last.pool = inst.pool;
    last.numGpus = inst.numGpus;
    last.promptTokens = ctx.req.promptTokens;
    last.blockTokens = ctx.blockTokens;
    last.device = hit.deviceBlocks;
    last.host = hit.hostBlocks;
    last.neighbour = hit.neighbourBlocks;
    last.useHost = useHost;
    last.useNeighbour = useNeighbour;
  }

  private lookup(ctx: PlacementContext, inst: InstanceView, kind: number, a: number, b: number): number {
    if (a >= ARG_LIMIT || b >= ARG_LIMIT || !Number.isInteger(a) || !Number.isInteger(b)) return this.ask(ctx, inst, kind, a, b);
    const memo = this.memoFor(ctx, inst);
    const key = (kind * ARG_LIMIT + a) * ARG_LIMIT + b;
    const known = memo.get(key);
    if (known !== undefined) return known;
    if (memo.size >= MEMO_LIMIT) memo.clear();
    const v = this.ask(ctx, inst, kind, a, b);
    memo.set(key, v);
    return v;
  }

  private ask(ctx: PlacementContext, inst: InstanceView, kind: number, a: number, b: number): number {
    if (kind === 0) return ctx.cost.prefillS(inst, a, b);
    return ctx.cost.fetchS(inst, a, kind === 2 ? 'nvlink' : 'c2c');
  }

  /** The memo for this instance's hardware shape; everything is forgotten when the cost model object changes. */
  private memoFor(ctx: PlacementContext, inst: InstanceView): Map<number, number> {
    if (ctx.cost !== this.cost) {
      this.cost = ctx.cost;
      this.shapes.clear();
      this.lastGpus = -1;
    }
    if (inst.pool === this.lastPool && inst.numGpus === this.lastGpus) return this.memo;
    const shape = `${inst.pool}\u0000${inst.numGpus}`;
    let memo = this.shapes.get(shape);
    if (!memo) {
      memo = new Map();
      this.shapes.set(shape, memo);
    }
    this.lastPool = inst.pool;
    this.lastGpus = inst.numGpus;
    this.memo = memo;
    return memo;
  }
}
