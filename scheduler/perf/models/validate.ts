// Checks a model config from YAML/JSON ("any other model") and returns a clean copy holding only known fields.
// Every error names the field and the allowed range. Shape rules (heads divide, windows fit) are checked here so
// the derived formulas in ../models.ts can assume them.
import type { MlaDims, ModelConfig, MoeSpec, SlidingWindowSpec } from './types.js';

const MAX_DIM = 2 ** 31 - 1;

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'object') return Array.isArray(value) ? 'an array' : 'an object';
  return String(value);
}

function obj(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`${field} must be an object, got ${describe(value)}`);
  }
  return value as Record<string, unknown>;
}

function int(value: unknown, field: string, min: number, max = MAX_DIM): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${field} must be an integer in [${min}, ${max}], got ${describe(value)}`);
  }
  return value;
}

function bool(value: unknown, field: string): boolean {
  if (typeof value !== 'boolean') throw new TypeError(`${field} must be true or false, got ${describe(value)}`);
  return value;
}

function str(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new TypeError(`${field} must be a non-empty string, got ${describe(value)}`);
  }
  return value;
}

function mla(value: unknown, field: string): MlaDims | null {
  if (value === null || value === undefined) return null;
  const m = obj(value, field);
  return {
    qLoraRank: int(m.qLoraRank, `${field}.qLoraRank`, 0),
    kvLoraRank: int(m.kvLoraRank, `${field}.kvLoraRank`, 1),
    qkRopeHeadDim: int(m.qkRopeHeadDim, `${field}.qkRopeHeadDim`, 0),
    qkNopeHeadDim: int(m.qkNopeHeadDim, `${field}.qkNopeHeadDim`, 1),
    vHeadDim: int(m.vHeadDim, `${field}.vHeadDim`, 1),
  };
}

function moe(value: unknown, field: string, numLayers: number): MoeSpec | null {
  if (value === null || value === undefined) return null;
  const m = obj(value, field);
  const numExperts = int(m.numExperts, `${field}.numExperts`, 1);
  const numSharedExperts = int(m.numSharedExperts ?? 0, `${field}.numSharedExperts`, 0);
  return {
    numExperts,
    numActiveExperts: int(m.numActiveExperts, `${field}.numActiveExperts`, 1, numExperts),
    numSharedExperts,
    expertFfnSize: int(m.expertFfnSize, `${field}.expertFfnSize`, 1),
    sharedExpertFfnSize: int(m.sharedExpertFfnSize ?? 0, `${field}.sharedExpertFfnSize`, numSharedExperts > 0 ? 1 : 0),
    firstDenseLayers: int(m.firstDenseLayers ?? 0, `${field}.firstDenseLayers`, 0, numLayers - 1),
  };
}

function window(value: unknown, field: string, numLayers: number): SlidingWindowSpec | null {
  if (value === null || value === undefined) return null;
  const w = obj(value, field);
  return {
    windowTokens: int(w.windowTokens, `${field}.windowTokens`, 1),
    numSlidingLayers: int(w.numSlidingLayers, `${field}.numSlidingLayers`, 1, numLayers),
  };
}

/** Validates an unknown value as a ModelConfig. `field` prefixes error messages (e.g. "models[2]"). */
export function validateModelConfig(value: unknown, field = 'model'): ModelConfig {
  const c = obj(value, field);
  const numLayers = int(c.numLayers, `${field}.numLayers`, 1);
  const numHeads = int(c.numHeads, `${field}.numHeads`, 1);
  const config: ModelConfig = {
    name: str(c.name, `${field}.name`),
    source: typeof c.source === 'string' ? c.source : 'user config',
    numLayers,
    hiddenSize: int(c.hiddenSize, `${field}.hiddenSize`, 1),
    numHeads,
    numKvHeads: int(c.numKvHeads, `${field}.numKvHeads`, 1, numHeads),
    headDim: int(c.headDim, `${field}.headDim`, 1),
    mla: mla(c.mla, `${field}.mla`),
    denseFfnSize: int(c.denseFfnSize ?? 0, `${field}.denseFfnSize`, 0),
    moe: moe(c.moe, `${field}.moe`, numLayers),
    slidingWindow: window(c.slidingWindow, `${field}.slidingWindow`, numLayers),
    vocabSize: int(c.vocabSize, `${field}.vocabSize`, 1),
    tiedEmbeddings: c.tiedEmbeddings === undefined ? false : bool(c.tiedEmbeddings, `${field}.tiedEmbeddings`),
    maxContextTokens: int(c.maxContextTokens, `${field}.maxContextTokens`, 1),
    extraParams: int(c.extraParams ?? 0, `${field}.extraParams`, 0, Number.MAX_SAFE_INTEGER),
  };
  if (numHeads % config.numKvHeads !== 0) {
    throw new RangeError(`${field}.numKvHeads (${config.numKvHeads}) must divide ${field}.numHeads (${numHeads})`);
  }
  const denseLayers = config.moe ? config.moe.firstDenseLayers : numLayers;
  if (denseLayers > 0 && config.denseFfnSize === 0) {
    throw new RangeError(`${field}.denseFfnSize must be at least 1 when ${denseLayers} layer(s) use a dense MLP`);
  }
  if (config.mla && config.headDim !== config.mla.qkNopeHeadDim + config.mla.qkRopeHeadDim) {
    throw new RangeError(
      `${field}.headDim must equal mla.qkNopeHeadDim + mla.qkRopeHeadDim ` +
        `(${config.mla.qkNopeHeadDim + config.mla.qkRopeHeadDim}) for an MLA model, got ${config.headDim}`,
    );
  }
  return config;
}
