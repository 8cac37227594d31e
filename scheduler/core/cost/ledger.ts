// Cost ledger: what each request and each session (agent task) has cost, as it runs.
//
// - GPU-seconds: a step of `durationS` on an instance of `numGpus` GPUs costs durationS × numGpus, split among the
//   step's sequences by their share of the step's tokens (a 2,048-token prefill chunk pays 2048× a decode token).
//   Why tokens: a step's time is mostly GEMMs over its tokens; attention's dependence on context length and the
//   weight reads every decode shares are ignored (a decode-only step splits equally, as its items have 1 token
//   each). A step with no tokens to split (idle or all-zero) is charged to the totals only.
// - KV byte-seconds: blocks × the pool's bytes per block × seconds held. Either as intervals (onKvHeld) or as
//   levels integrated between calls with explicit times (setKvBlocks / setIdleKvBlocks). Idle retention between a
//   session's turns is charged to the session only (no request is running), and counted in both kvByteSeconds and
//   idleKvByteSeconds.
// - Tokens: inputTokens counts every prompt token, cachedInputTokens the part served from cache (OpenAI usage
//   convention: cached ⊆ input).
// - Money, by the pool's billing: 'gpu_time' (self-hosted with usdPerGpuHour, the default there) charges GPU-seconds
//   × usdPerGpuHour / 3600 plus idle KV at usdPerIdleKvGbHour; 'tokens' (external pools, and self-hosted pools
//   without a GPU price) charges (input − cached) × input price + cached × cached price + output × output price.
//   Counts are kept either way; only money follows the billing.
// Every charge to a request also goes to its session (if any), its tenant (if given) and to the totals; a session's
// idle retention goes to the tenant of its requests. finishRequest/finishSession return the record and forget it,
// so memory is bounded by live requests and sessions, plus one record per tenant (at most MAX_TENANTS; later
// names share OTHER_TENANTS so an unbounded stream of names cannot grow it).
import type { CostRecord, PoolKind } from '../types.js';

export type Billing = 'gpu_time' | 'tokens';

/** The prices and sizes the ledger needs of one pool (PoolSpec satisfies most of it). */
export interface LedgerPool {
  name: string;
  kind: PoolKind;
  usdPerMInputTokens: number;
  usdPerMCachedInputTokens: number;
  usdPerMOutputTokens: number;
  usdPerGpuHour?: number;
  /** KV bytes of one block over a whole instance (config/pools.ts poolKvBytesPerBlock); 0 = KV not measured. */
  kvBytesPerBlock?: number;
  /** Money per GB-hour of KV retained for an idle session (gpu_time billing); default 0. */
  usdPerIdleKvGbHour?: number;
  /** Default: gpu_time for self_hosted with usdPerGpuHour, else tokens. */
  billing?: Billing;
}

export interface StepInstance {
  pool: string;
  numGpus: number;
}

export interface StepShare {
  requestId: string;
  /** Tokens this sequence ran in the step (prefill chunk length, or 1 for a decode). */
  numTokens: number;
}

export interface TokenCounts {
  inputTokens?: number;
  cachedInputTokens?: number;
  outputTokens?: number;
}

export class CostLedgerError extends Error {
  constructor(readonly code: 'E_UNKNOWN_POOL' | 'E_UNKNOWN_REQUEST' | 'E_DUPLICATE_REQUEST' | 'E_SESSION_BUSY' | 'E_BAD_CHARGE', message: string) {
    super(message);
    this.name = 'CostLedgerError';
  }
}

interface Pricing {
  billing: Billing;
  usdPerGpuS: number;
  usdPerInputToken: number;
  usdPerCachedToken: number;
  usdPerOutputToken: number;
  kvBytesPerBlock: number;
  usdPerIdleKvByteS: number;
}

/** Per-tenant records kept at most; charges of further tenant names go to OTHER_TENANTS. */
export const MAX_TENANTS = 10_000;
export const OTHER_TENANTS = '(other tenants)';

interface RequestEntry {
  record: CostRecord;
  pricing: Pricing;
  session: SessionEntry | undefined;
  tenant: CostRecord | undefined;
  kvBlocks: number;
  kvSinceS: number;
}

interface SessionEntry {
  record: CostRecord;
  /** The tenant of its requests (the first one that named one): idle retention is charged there too. */
  tenant: CostRecord | undefined;
  liveRequests: number;
  idlePricing: Pricing | undefined;
  idleBlocks: number;
  idleSinceS: number;
}

export function emptyCost(): CostRecord {
  return { gpuSeconds: 0, kvByteSeconds: 0, idleKvByteSeconds: 0, inputTokens: 0, cachedInputTokens: 0, outputTokens: 0, usd: 0 };
}

function pricingOf(pool: LedgerPool): Pricing {
  const billing = pool.billing ?? (pool.kind === 'self_hosted' && pool.usdPerGpuHour !== undefined ? 'gpu_time' : 'tokens');
  const gpuTime = billing === 'gpu_time';
  return {
    billing,
    usdPerGpuS: gpuTime ? (pool.usdPerGpuHour ?? 0) / 3600 : 0,
    usdPerInputToken: gpuTime ? 0 : pool.usdPerMInputTokens / 1e6,
    usdPerCachedToken: gpuTime ? 0 : pool.usdPerMCachedInputTokens / 1e6,
    usdPerOutputToken: gpuTime ? 0 : pool.usdPerMOutputTokens / 1e6,
    kvBytesPerBlock: pool.kvBytesPerBlock ?? 0,
    usdPerIdleKvByteS: gpuTime ? (pool.usdPerIdleKvGbHour ?? 0) / 1e9 / 3600 : 0,
  };
}

/** Messages are built only on failure (these run per step). */
function badCharge(message: string): never {
  throw new CostLedgerError('E_BAD_CHARGE', message);
}

export class CostLedger {
  private readonly pricing = new Map<string, Pricing>();
  private readonly requests = new Map<string, RequestEntry>();
  private readonly sessions = new Map<string, SessionEntry>();
  private readonly total = emptyCost();
  private readonly tenants = new Map<string, CostRecord>();

  constructor(pools: readonly LedgerPool[]) {
    for (const pool of pools) this.pricing.set(pool.name, pricingOf(pool));
  }

  billingOf(pool: string): Billing {
    return this.poolPricing(pool).billing;
  }

  /**
   * A request routed to `pool` at nowS; its charges also go to `sessionId` when given. The session's idle
   * retention (if any) ends here: from now on its blocks are the running request's prefix (setKvBlocks). With
   * `tenant`, every charge is also added to that tenant's record (byTenant()).
   */
  startRequest(requestId: string, pool: string, nowS: number, sessionId?: string, tenant?: string): void {
    if (this.requests.has(requestId)) throw new CostLedgerError('E_DUPLICATE_REQUEST', `request ${JSON.stringify(requestId)} already started`);
    const pricing = this.poolPricing(pool);
    const session = sessionId === undefined ? undefined : this.sessionEntry(sessionId);
    const tenantRecord = tenant === undefined ? undefined : this.tenantRecord(tenant);
    if (session) {
      this.endIdle(session, nowS);
      session.liveRequests++;
      session.tenant ??= tenantRecord;
    }
    this.requests.set(requestId, { record: emptyCost(), pricing, session, tenant: tenantRecord, kvBlocks: 0, kvSinceS: nowS });
  }

  /** One executed step: GPU time split among its sequences by token share. */
  onStep(instance: StepInstance, durationS: number, items: readonly StepShare[]): void {
    if (!(durationS >= 0 && instance.numGpus >= 0)) badCharge(`step duration and GPUs must be ≥ 0, got ${durationS} s × ${instance.numGpus}`);
    const gpuSeconds = durationS * instance.numGpus;
    let totalTokens = 0;
    for (const item of items) {
      // Checked before any charge, so a bad step changes nothing.
      if (!(item.numTokens >= 0)) badCharge(`step item ${item.requestId}: numTokens must be ≥ 0, got ${item.numTokens}`);
      this.requestEntry(item.requestId);
      totalTokens += item.numTokens;
    }
    const pricing = this.poolPricing(instance.pool);
    if (!(totalTokens > 0)) {
      this.total.gpuSeconds += gpuSeconds;
      this.total.usd += gpuSeconds * pricing.usdPerGpuS;
      return;
    }
    for (const item of items) {
      const entry = this.requestEntry(item.requestId);
      const share = (gpuSeconds * item.numTokens) / totalTokens;
      this.add(entry, 'gpuSeconds', share, share * pricing.usdPerGpuS);
    }
  }

  /** Tokens the request consumed or produced (increments; call as they become known). */
  onTokens(requestId: string, counts: TokenCounts): void {
    const entry = this.requestEntry(requestId);
    const input = counts.inputTokens ?? 0;
    const cached = counts.cachedInputTokens ?? 0;
    const output = counts.outputTokens ?? 0;
    if (!(input >= 0 && cached >= 0 && output >= 0 && cached <= input)) badCharge(`token counts must be ≥ 0 with cached ≤ input, got ${JSON.stringify(counts)}`);
    const p = entry.pricing;
    this.add(entry, 'inputTokens', input, (input - cached) * p.usdPerInputToken + cached * p.usdPerCachedToken);
    this.add(entry, 'cachedInputTokens', cached, 0);
    this.add(entry, 'outputTokens', output, output * p.usdPerOutputToken);
  }

  /** KV held by a running (or queued) request over [fromS, toS]. */
  onKvHeld(requestId: string, blocks: number, fromS: number, toS: number): void {
    const entry = this.requestEntry(requestId);
    if (!(blocks >= 0 && toS >= fromS)) badCharge(`KV interval must have blocks ≥ 0 and toS ≥ fromS, got ${blocks} blocks over [${fromS}, ${toS}]`);
    this.add(entry, 'kvByteSeconds', blocks * entry.pricing.kvBytesPerBlock * (toS - fromS), 0);
  }

  /** The request now holds `blocks`; the previous level is charged up to nowS. */
  setKvBlocks(requestId: string, blocks: number, nowS: number): void {
    const entry = this.requestEntry(requestId);
    if (!(blocks >= 0 && nowS >= entry.kvSinceS)) badCharge(`KV level needs blocks ≥ 0 and nowS ≥ ${entry.kvSinceS}, got ${blocks} at ${nowS}`);
    this.onKvHeld(requestId, entry.kvBlocks, entry.kvSinceS, nowS);
    entry.kvBlocks = blocks;
    entry.kvSinceS = nowS;
  }

  /** KV retained for an idle session (between turns) on `pool` over [fromS, toS]: charged to the session. */
  onIdleKvHeld(sessionId: string, pool: string, blocks: number, fromS: number, toS: number): void {
    if (!(blocks >= 0 && toS >= fromS)) badCharge(`idle KV interval must have blocks ≥ 0 and toS ≥ fromS, got ${blocks} blocks over [${fromS}, ${toS}]`);
    this.chargeIdle(this.sessionEntry(sessionId), this.poolPricing(pool), blocks * (toS - fromS));
  }

  /** The idle session now retains `blocks` on `pool` (0 when its next turn starts or the KV is dropped). */
  setIdleKvBlocks(sessionId: string, pool: string, blocks: number, nowS: number): void {
    const pricing = this.poolPricing(pool);
    const session = this.sessionEntry(sessionId);
    if (!(blocks >= 0)) badCharge(`idle KV level needs blocks ≥ 0, got ${blocks}`);
    this.endIdle(session, nowS);
    session.idlePricing = pricing;
    session.idleBlocks = blocks;
  }

  /** A copy of the request's record so far, or undefined if unknown (never started, or finished). */
  request(requestId: string): CostRecord | undefined {
    const entry = this.requests.get(requestId);
    return entry ? { ...entry.record } : undefined;
  }

  session(sessionId: string): CostRecord | undefined {
    const entry = this.sessions.get(sessionId);
    return entry ? { ...entry.record } : undefined;
  }

  /** Everything charged so far, finished requests and sessions included. */
  totals(): CostRecord {
    return { ...this.total };
  }

  /** Everything charged so far per tenant (requests started with one, and their sessions' idle retention). */
  byTenant(): Record<string, CostRecord> {
    const out: Record<string, CostRecord> = {};
    for (const [name, record] of this.tenants) out[name] = { ...record };
    return out;
  }

  get liveRequests(): number {
    return this.requests.size;
  }

  get liveSessions(): number {
    return this.sessions.size;
  }

  /** Charges the request's KV level up to nowS, returns its record and forgets it. */
  finishRequest(requestId: string, nowS: number): CostRecord {
    const entry = this.requestEntry(requestId);
    this.setKvBlocks(requestId, 0, nowS);
    this.requests.delete(requestId);
    if (entry.session) entry.session.liveRequests--;
    return entry.record;
  }

  /**
   * Charges the session's idle retention up to nowS, returns its record and forgets it (undefined if unknown).
   * Refused while one of its requests is live: their later charges would have nowhere to go.
   */
  finishSession(sessionId: string, nowS: number): CostRecord | undefined {
    const session = this.sessions.get(sessionId);
    if (!session) return undefined;
    if (session.liveRequests > 0) throw new CostLedgerError('E_SESSION_BUSY', `session ${JSON.stringify(sessionId)} has ${session.liveRequests} live request(s); finish them first`);
    this.endIdle(session, nowS);
    this.sessions.delete(sessionId);
    return session.record;
  }

  private add(entry: RequestEntry, field: keyof CostRecord, amount: number, usd: number): void {
    entry.record[field] += amount;
    entry.record.usd += usd;
    if (entry.session) {
      entry.session.record[field] += amount;
      entry.session.record.usd += usd;
    }
    if (entry.tenant) {
      entry.tenant[field] += amount;
      entry.tenant.usd += usd;
    }
    this.total[field] += amount;
    this.total.usd += usd;
  }

  private chargeIdle(session: SessionEntry, pricing: Pricing, blockSeconds: number): void {
    const byteSeconds = blockSeconds * pricing.kvBytesPerBlock;
    const usd = byteSeconds * pricing.usdPerIdleKvByteS;
    for (const record of [session.record, this.total, session.tenant]) {
      if (!record) continue;
      record.kvByteSeconds += byteSeconds;
      record.idleKvByteSeconds += byteSeconds;
      record.usd += usd;
    }
  }

  /** Charges the idle level held since idleSinceS up to nowS and restarts the level there (at 0 blocks). */
  private endIdle(session: SessionEntry, nowS: number): void {
    if (!(nowS >= session.idleSinceS)) badCharge(`idle KV time must not go back: nowS ${nowS} < ${session.idleSinceS}`);
    if (session.idlePricing && session.idleBlocks > 0) this.chargeIdle(session, session.idlePricing, session.idleBlocks * (nowS - session.idleSinceS));
    session.idleBlocks = 0;
    session.idleSinceS = nowS;
  }

  private poolPricing(pool: string): Pricing {
    const pricing = this.pricing.get(pool);
    if (!pricing) throw new CostLedgerError('E_UNKNOWN_POOL', `unknown pool ${JSON.stringify(pool)}; known: ${[...this.pricing.keys()].join(', ')}`);
    return pricing;
  }

  private requestEntry(requestId: string): RequestEntry {
    const entry = this.requests.get(requestId);
    if (!entry) throw new CostLedgerError('E_UNKNOWN_REQUEST', `request ${JSON.stringify(requestId)} was not started (or already finished)`);
    return entry;
  }

  private tenantRecord(tenant: string): CostRecord {
    let record = this.tenants.get(tenant);
    if (!record) {
      const name = this.tenants.size < MAX_TENANTS - 1 ? tenant : OTHER_TENANTS;
      record = this.tenants.get(name) ?? emptyCost();
      this.tenants.set(name, record);
    }
    return record;
  }

  private sessionEntry(sessionId: string): SessionEntry {
    let session = this.sessions.get(sessionId);
    if (!session) {
      session = { record: emptyCost(), tenant: undefined, liveRequests: 0, idlePricing: undefined, idleBlocks: 0, idleSinceS: Number.NEGATIVE_INFINITY };
      this.sessions.set(sessionId, session);
    }
    return session;
  }
}
