// Builders for tests and the micro-benchmark: instances, requests, contexts and a small analytic cost model.
import { Rng } from '../../util/random.js';
import type {
  Classification, InstanceView, PlacementContext, PlacementCostModel, PrefixHit, ScheduleRequest, Shape,
} from '../types.js';

export function instance(instanceId: string, overrides: Partial<InstanceView> = {}): InstanceView {
  return {
    instanceId,
    pool: 'p',
    domainId: 'd0',
    workerIds: ['w0'],
    numGpus: 1,
    healthy: true,
    draining: false,
    maxContextTokens: 131072,
    queuedRequests: 0,
    runningRequests: 0,
    pendingPrefillTokens: 0,
    decodingSequences: 0,
    kvBlocksTotal: 10_000,
    kvBlocksUsed: 0,
    kvBlocksRetained: 0,
    stepTokenBudget: 8192,
    inFlightRequests: 0,
    ...overrides,
  };
}

export function request(overrides: Partial<ScheduleRequest> = {}): ScheduleRequest {
  return {
    requestId: 'r1',
    tenant: 't',
    arrivalS: 0,
    promptTokens: 1600,
    maxOutputTokens: 1024,
    blockHashes: Array.from({ length: 100 }, (_, i) => BigInt(i + 1)),
    hasTools: false,
    hasToolResults: false,
    ...overrides,
  };
}

export function classification(shape: Shape = 'chat', overrides: Partial<Classification> = {}): Classification {
  return {
    shape,
    reason: 'test',
    output: { expectedTokens: 200, p50Tokens: 200, p90Tokens: 800, samples: 10, source: 'shape' },
    slo: { ttftS: 1, tpotS: 0.05 },
    ...overrides,
  };
}

export interface CostModelOptions {
  /** Seconds per prompt token on one GPU (the linear, GEMM part). Default 5e-5 (20k tokens/s). */
  perTokenS?: number;
  /** Seconds per (new token × context token) on one GPU (the attention part). Default 1e-9. */
  attentionS?: number;
  /** Seconds per KV block over C2C and over NVLink, and a fixed latency per fetch. */
  c2cBlockS?: number;
  nvlinkBlockS?: number;
  fetchLatencyS?: number;
  decodeStepS?: number;
}

/** A small analytic cost model: prefill = (linear + attention) / numGpus, fetch = latency + blocks · per-block. */
export function analyticCostModel(o: CostModelOptions = {}): PlacementCostModel & { calls: number } {
  const perTokenS = o.perTokenS ?? 5e-5;
  const attentionS = o.attentionS ?? 1e-9;
  const model = {
    calls: 0,
    prefillS(inst: InstanceView, numNewTokens: number, numCachedTokens: number): number {
      model.calls++;
      return (numNewTokens * perTokenS + numNewTokens * (numCachedTokens + numNewTokens / 2) * attentionS) / inst.numGpus;
    },
    fetchS(_inst: InstanceView, numBlocks: number, link: 'nvlink' | 'c2c'): number {
      model.calls++;
      return (o.fetchLatencyS ?? 1e-5) + numBlocks * (link === 'nvlink' ? (o.nvlinkBlockS ?? 2e-6) : (o.c2cBlockS ?? 4e-6));
    },
    decodeStepS(_inst: InstanceView): number {
      model.calls++;
      return o.decodeStepS ?? 0.02;
    },
  };
  return model;
}

export interface ContextOptions {
  req?: Partial<ScheduleRequest>;
  shape?: Shape;
  cls?: Partial<Classification>;
  /** Hits by instance id (missing: no hit), or a function. */
  hits?: Record<string, Partial<PrefixHit>> | ((inst: InstanceView) => PrefixHit);
  sessionHome?: string;
  seed?: number;
  blockTokens?: number;
  cost?: PlacementCostModel;
  nowS?: number;
}

const NO_HIT: PrefixHit = { deviceBlocks: 0, hostBlocks: 0, neighbourBlocks: 0 };

export function context(o: ContextOptions = {}): PlacementContext {
  const hits = o.hits;
  const prefix = typeof hits === 'function'
    ? hits
    : (inst: InstanceView): PrefixHit => ({ ...NO_HIT, ...(hits?.[inst.instanceId] ?? {}) });
  const ctx: PlacementContext = {
    req: request(o.req),
    cls: classification(o.shape ?? 'chat', o.cls),
    nowS: o.nowS ?? 0,
    blockTokens: o.blockTokens ?? 16,
    prefix,
    cost: o.cost ?? analyticCostModel(),
    rng: new Rng(o.seed ?? 1),
  };
  if (o.sessionHome !== undefined) ctx.sessionHome = o.sessionHome;
  return ctx;
}
