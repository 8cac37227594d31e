// `shape-aware` (ours). Same engine, different opinions:
// - queue order: earliest TTFT deadline first (arrival + ttft SLO), so tool calls (0.5 s) overtake chat (1 s)
//   that arrived less than 0.5 s earlier, yet nothing starves: an old request's deadline always comes due;
// - wait windows per shape: a lone new prefill may wait a few ms rather than break a decode-only step (tool calls
//   the shortest); they never delay anything on an idle instance or when the step carries a prefill anyway;
// - running decodes get their token before any prefill, and the prefill tokens of a step that carries decodes are
//   capped, so long prefills are chunked and never stall decodes (Sarathi-Serve's stall-free batching);
// - KV reserved at admission for the whole prompt plus the predicted output;
// - preemption victims by shape and progress: lowest priority first, then chat < terminal < tool_call < reasoning,
//   earliest in its predicted output first; a reasoning decode past `protectReasoningProgress` of its prediction
//   is taken only when nothing else is left; contexts of `swapAboveTokens` or more swap to Grace (a C2C round trip
//   costs milliseconds where recomputing thousands of tokens costs a prefill).
import { asParams, onlyKeys, readNumber, readShapeTable } from '../../config/params.js';
import { SHAPES, type EngineSequence, type Shape } from '../../types.js';
import type { EngineBatchPolicy, PreemptionMode } from '../types.js';

export interface ShapeAwareParams {
  /** Multiplies the ttft SLO in the queue key (0 = plain arrival order). */
  deadlineWeight: number;
  /** Seconds of queue key one priority level is worth. */
  priorityStepS: number;
  /** Extra seconds added to a shape's queue key (negative = sooner). */
  shapeOffsetS: Record<Shape, number>;
  waitWindowS: Record<Shape, number>;
  prefillChunkTokens: number;
  /** Prefill tokens at most in a step that carries decodes. */
  decodeStepPrefillTokens: number;
  /** Share of the predicted output reserved in KV at admission (capped at maxOutputTokens). */
  reserveOutputFraction: number;
  /** Victim order by shape: lower ranks are preempted first. */
  victimRank: Record<Shape, number>;
  protectReasoningProgress: number;
  swapAboveTokens: number;
}

export const SHAPE_AWARE_DEFAULTS: Readonly<ShapeAwareParams> = {
  deadlineWeight: 1,
  priorityStepS: 1,
  shapeOffsetS: { tool_call: 0, reasoning: 0, terminal: 0, chat: 0 },
  // Defaults chosen by ablation on the shared traces (bench/EVALUATION.md): wait windows, a 2,048-token prefill cap
  // next to decodes and full output reservation each cost goodput there (TTFT-bound workloads on TP1 instances);
  // they remain parameters for TPOT-bound deployments.
  waitWindowS: { tool_call: 0, reasoning: 0, terminal: 0, chat: 0 },
  prefillChunkTokens: 8192,
  decodeStepPrefillTokens: 8192,
  reserveOutputFraction: 0,
  victimRank: { chat: 0, terminal: 1, tool_call: 2, reasoning: 3 },
  protectReasoningProgress: 0.8,
  swapAboveTokens: 1024,
};

/** Priority dominates the victim key; shape ranks and progress stay below one priority level. */
const VICTIM_PRIORITY_SCALE = 1e6;

export function readShapeAwareParams(value: unknown, path: string): ShapeAwareParams {
  const p = asParams(value, path);
  onlyKeys(p, path, Object.keys(SHAPE_AWARE_DEFAULTS));
  const d = SHAPE_AWARE_DEFAULTS;
  const table = (key: string, fallback: Record<Shape, number>, rule: { min?: number; max?: number }) =>
    readShapeTable(p, key, path, SHAPES, fallback, rule) as Record<Shape, number>;
  return {
    deadlineWeight: readNumber(p, 'deadlineWeight', path, d.deadlineWeight, { min: 0 }),
    priorityStepS: readNumber(p, 'priorityStepS', path, d.priorityStepS, { min: 0 }),
    shapeOffsetS: table('shapeOffsetS', d.shapeOffsetS, {}),
    waitWindowS: table('waitWindowS', d.waitWindowS, { min: 0, max: 1 }),
    prefillChunkTokens: readNumber(p, 'prefillChunkTokens', path, d.prefillChunkTokens, { min: 1, integer: true }),
    decodeStepPrefillTokens: readNumber(p, 'decodeStepPrefillTokens', path, d.decodeStepPrefillTokens, { min: 1, integer: true }),
    reserveOutputFraction: readNumber(p, 'reserveOutputFraction', path, d.reserveOutputFraction, { min: 0, max: 4 }),
    victimRank: table('victimRank', d.victimRank, { min: 0, max: 1000 }),
    protectReasoningProgress: readNumber(p, 'protectReasoningProgress', path, d.protectReasoningProgress, { above: 0, max: 1 }),
    swapAboveTokens: readNumber(p, 'swapAboveTokens', path, d.swapAboveTokens, { min: 1, integer: true }),
  };
}

function outputProgress(seq: EngineSequence): number {
  return Math.min(1, seq.outputTokens / Math.max(1, seq.predictedOutputTokens));
}

export function makeShapeAware(params: unknown, path: string): EngineBatchPolicy {
  const p = readShapeAwareParams(params, path);
  return {
    name: 'shape-aware',
    decodesFirst: true,
    queueKey: (seq: EngineSequence) =>
      seq.arrivalS + p.deadlineWeight * seq.slo.ttftS + p.shapeOffsetS[seq.shape] - p.priorityStepS * seq.priority,
    victimKey(seq: EngineSequence): number {
      const progress = outputProgress(seq);
      if (seq.shape === 'reasoning' && progress >= p.protectReasoningProgress) return Infinity;
      return seq.priority * VICTIM_PRIORITY_SCALE + p.victimRank[seq.shape] + 0.999 * progress;
    },
    maxPrefillChunkTokens: () => p.prefillChunkTokens,
    waitWindowS: (shape: Shape) => p.waitWindowS[shape],
    kvFloorTokens(seq: EngineSequence): number {
      const reserved = Math.min(seq.maxOutputTokens, Math.ceil(seq.predictedOutputTokens * p.reserveOutputFraction));
      return seq.promptTokens + reserved;
    },
    preemptionMode(seq: EngineSequence, configured: PreemptionMode): PreemptionMode {
      return seq.prefilledTokens + seq.outputTokens >= p.swapAboveTokens ? 'swap' : configured;
    },
    stepPrefillCapTokens: (numDecodes: number) => (numDecodes > 0 ? p.decodeStepPrefillTokens : Infinity),
  };
}
