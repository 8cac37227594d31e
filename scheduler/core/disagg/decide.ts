// The disaggregation decision per request (a policy slot). Baselines from the systems we compare with and ours:
//
// - `aggregated`: never; roles are ignored, every instance serves as mixed (the aggregated deployment of the same
//   GPUs).
// - `always`: every request with a prefill instance in reach (vLLM/SGLang P/D behind a proxy: every request takes
//   the prefill pool).
// - `dynamo-conditional`: Dynamo's conditional disaggregation skips the prefill pool when the effective (uncached)
//   ISL < 2048 and effective/raw ISL < 0.7, or when the prefill pool is busy (ai-dynamo/dynamo
//   docs/components/router/router-disaggregated-serving.md, `isl_bounding`; shared/docs/reference/anchors-mission.md
//   §3). "Busy" is a queue bound here (`busyQueuedRequests`, off by default).
// - `llm-d-threshold`: llm-d's prefix-based P/D decider disaggregates when the uncached tokens on the chosen decode
//   pod are at least `nonCachedTokens` (llm-d-inference-scheduler profilehandler/disagg, anchors-mission.md §2.2;
//   llm-d's default 0 turns it off, so we default to 1024 — an assumption).
// - `shape-aware` (ours): prices both options with the performance model — see shapeAware below.
import { ConfigError, asParams, onlyKeys, readBool, readNumber, type Params } from '../config/params.js';
import type { DisaggContext, DisaggregationPolicy } from './types.js';

/** Dynamo's effective-ISL bound; also our default for the longest suffix a decode instance prefills itself. */
export const DYNAMO_MAX_LOCAL_ISL = 2048;

interface Common {
  localPrefillMaxTokens: number;
  crossDomain: boolean;
}

function readCommon(p: Params, path: string, localPrefillMaxTokens = DYNAMO_MAX_LOCAL_ISL): Common {
  return {
    localPrefillMaxTokens: readNumber(p, 'localPrefillMaxTokens', path, localPrefillMaxTokens, { integer: true, min: 0 }),
    crossDomain: readBool(p, 'crossDomain', path, false),
  };
}

const COMMON_KEYS = ['localPrefillMaxTokens', 'crossDomain'] as const;

function uncachedOnDecode(ctx: DisaggContext): number {
  return Math.max(0, ctx.promptTokens - ctx.decodeCachedTokens);
}

export function makeAggregated(params: unknown, path: string): DisaggregationPolicy {
  onlyKeys(asParams(params, path), path, []);
  return { name: 'aggregated', localPrefillMaxTokens: Infinity, ignoresRoles: true, crossDomain: false, decide: () => false };
}

export function makeAlways(params: unknown, path: string): DisaggregationPolicy {
  const p = asParams(params, path);
  onlyKeys(p, path, COMMON_KEYS);
  return { name: 'always', ...readCommon(p, path), ignoresRoles: false, decide: () => true };
}

export function makeDynamoConditional(params: unknown, path: string): DisaggregationPolicy {
  const p = asParams(params, path);
  onlyKeys(p, path, [...COMMON_KEYS, 'maxLocalIslTokens', 'maxUncachedRatio', 'busyQueuedRequests']);
  const maxIsl = readNumber(p, 'maxLocalIslTokens', path, DYNAMO_MAX_LOCAL_ISL, { integer: true, min: 0 });
  const maxRatio = readNumber(p, 'maxUncachedRatio', path, 0.7, { min: 0, max: 1 });
  const busy = readNumber(p, 'busyQueuedRequests', path, Infinity, { min: 1 });
  return {
    name: 'dynamo-conditional',
    ...readCommon(p, path),
    ignoresRoles: false,
    decide(ctx) {
      const effective = uncachedOnDecode(ctx);
      if (effective < maxIsl && effective / Math.max(1, ctx.promptTokens) < maxRatio) return false;
      return ctx.prefill.queuedRequests < busy;
    },
  };
}

export function makeLlmdThreshold(params: unknown, path: string): DisaggregationPolicy {
  const p = asParams(params, path);
  onlyKeys(p, path, [...COMMON_KEYS, 'nonCachedTokens']);
  const threshold = readNumber(p, 'nonCachedTokens', path, 1024, { integer: true, min: 0 });
  return {
    name: 'llm-d-threshold',
    ...readCommon(p, path),
    ignoresRoles: false,
    decide: (ctx) => threshold > 0 && uncachedOnDecode(ctx) >= threshold,
  };
}

/**
 * Ours. Both options priced in SLO budget (seconds of delay over the SLO they eat into), with the performance model:
 *
 *   aggregated    = ttft(D) / ttftSLO + interference · prefill(D) · Σ_decodes(D) 1 / (outputTokens · tpotSLO)
 *                   — its own TTFT on the decode candidate, plus the stall its prefill puts on every decode running
 *                   there: a stall of x s raises a decode's TPOT by x / its output length, which is x / (N · tpot)
 *                   of its TPOT budget (engine counter decodeSloWeightPerS). A 100 ms prefill costs a running
 *                   80-token tool call (30 ms TPOT) 4 % of its budget, a 3,000-token reasoning decode 0.07 %.
 *   disaggregated = (wait(P) + prefill(P) + transfer(P→D over NVLink)) / ttftSLO
 *                   — its own TTFT on the prefill candidate, its decode starting after the KV moved. The prefill
 *                   pool's load enters through wait(P): as it fills, keeping requests local becomes cheaper.
 *
 * with an SLO guard first: when only one option keeps the request's TTFT within its SLO, that one. So a tool call
 * whose long prefix is cached on D stays unless D runs tight decodes and P is idle; a long cold reasoning prompt
 * next to busy short-SLO decodes moves (a long stall against a transfer of ~1 ms per GB over NVLink).
 */
export function makeShapeAwareDisagg(params: unknown, path: string): DisaggregationPolicy {
  const p = asParams(params, path);
  onlyKeys(p, path, [...COMMON_KEYS, 'interference', 'minUncachedTokens']);
  const interference = readNumber(p, 'interference', path, 1, { min: 0 });
  const minUncached = readNumber(p, 'minUncachedTokens', path, 256, { integer: true, min: 0 });
  return {
    name: 'shape-aware',
    // Roles are hints to ours, not rules: a decode instance prefills a long suffix itself when decide() says the
    // prefill pool would cost more (when it is backed up, say); the baselines keep Dynamo's 2,048-token bound.
    ...readCommon(p, path, Infinity),
    ignoresRoles: false,
    decide(ctx) {
      const uncachedD = uncachedOnDecode(ctx);
      // A suffix below a few blocks is a decode-sized step: moving a whole prompt's KV for it never pays.
      if (uncachedD < minUncached) return false;
      const { cost, decode, prefill } = ctx;
      const stallS = cost.prefillS(decode, uncachedD, ctx.decodeCachedTokens);
      const ttftAgg = decode.pendingPrefillTokens * ctx.waitSPerToken.decode + stallS;
      const uncachedP = Math.max(1, ctx.promptTokens - ctx.prefillCachedTokens);
      const transferS = ctx.transferBlocks > 0 ? cost.fetchS(decode, ctx.transferBlocks, 'nvlink') : 0;
      const ttftDis = prefill.pendingPrefillTokens * ctx.waitSPerToken.prefill + cost.prefillS(prefill, uncachedP, ctx.prefillCachedTokens) + transferS;
      const slo = ctx.cls.slo.ttftS;
      const aggOk = ttftAgg <= slo;
      const disOk = ttftDis <= slo;
      if (aggOk !== disOk) return disOk;
      const aggregated = ttftAgg / slo + interference * stallS * (decode.decodeSloWeightPerS ?? 0);
      const disaggregated = ttftDis / slo;
      return disaggregated < aggregated;
    },
  };
}

export const DISAGG_POLICIES: Readonly<Record<string, (params: unknown, path: string) => DisaggregationPolicy>> = {
  aggregated: makeAggregated,
  always: makeAlways,
  'dynamo-conditional': makeDynamoConditional,
  'llm-d-threshold': makeLlmdThreshold,
  'shape-aware': makeShapeAwareDisagg,
};

export function makeDisaggregationPolicy(value: unknown, path: string): DisaggregationPolicy {
  const spec = asParams(typeof value === 'string' ? { name: value } : value, path);
  onlyKeys(spec, path, ['name', 'params']);
  const name = typeof spec.name === 'string' ? spec.name : spec.name === undefined ? 'aggregated' : '';
  const factory = Object.hasOwn(DISAGG_POLICIES, name) ? DISAGG_POLICIES[name] : undefined;
  if (!factory) throw new ConfigError(`${path}.name`, `unknown disaggregation policy ${JSON.stringify(spec.name)}; known: ${Object.keys(DISAGG_POLICIES).join(', ')}`);
  return factory(spec.params, `${path}.params`);
}
