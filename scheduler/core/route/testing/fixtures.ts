// Small builders for router tests: a pool, its load, a request and its classification, each with overrides.
import type { Classification, PoolLoad, PoolSpec, ScheduleRequest, Shape } from '../../types.js';

export function pool(name: string, o: Partial<PoolSpec> = {}): PoolSpec {
  return {
    name,
    kind: 'self_hosted',
    model: `${name}-model`,
    quality: { tool_call: 0.8, reasoning: 0.8, terminal: 0.8, chat: 0.8 },
    reliableContextTokens: 65536,
    maxContextTokens: 131072,
    acceptBeyondReliable: false,
    usdPerMInputTokens: 1,
    usdPerMCachedInputTokens: 1,
    usdPerMOutputTokens: 4,
    tokenEfficiency: 1,
    ...o,
  };
}

/** Quality q for every shape. */
export function q(value: number): Record<Shape, number> {
  return { tool_call: value, reasoning: value, terminal: value, chat: value };
}

export function load(name: string, o: Partial<PoolLoad> & { ttftS?: number; cachedPromptTokens?: number } = {}): PoolLoad {
  const { ttftS = 0.1, ...rest } = o;
  return { pool: name, predictedTtftS: q(ttftS), saturation: 0.2, healthy: true, ...rest };
}

export function request(o: Partial<ScheduleRequest> = {}): ScheduleRequest {
  return {
    requestId: 'r1',
    tenant: 't',
    arrivalS: 0,
    promptTokens: 10_000,
    maxOutputTokens: 100_000,
    blockHashes: [],
    hasTools: false,
    hasToolResults: false,
    ...o,
  };
}

export function classification(shape: Shape, expectedTokens: number, o: { p90Tokens?: number; ttftSloS?: number } = {}): Classification {
  return {
    shape,
    reason: 'test',
    output: { expectedTokens, p50Tokens: expectedTokens, p90Tokens: o.p90Tokens ?? 2 * expectedTokens, samples: 1, source: 'shape' },
    slo: { ttftS: o.ttftSloS ?? 1, tpotS: 0.05 },
  };
}
