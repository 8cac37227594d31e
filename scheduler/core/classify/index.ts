// Shape classification, output-length and think-time prediction (issue 4). See README.md.
export { makeClassification, type ClassificationStage } from './classification.js';
export { OUTPUT_PREDICTORS, SHAPE_CLASSIFIERS, THINK_TIME_PREDICTORS, makePlugin, type PluginFactory } from './registry.js';
export { SHAPE_RULES_DEFAULTS, makeShapeRules, readShapeRulesParams, type ShapeRulesParams } from './rules.js';
export {
  OUTPUT_LEVELS,
  OUTPUT_PRIORS,
  STREAMING_QUANTILES_DEFAULTS,
  makeStreamingQuantiles,
  readStreamingQuantilesParams,
  type OutputLevel,
  type StreamingQuantilesParams,
  type StreamingQuantilesPredictor,
} from './quantiles.js';
export { GAP_RANGE_S, SESSION_GAPS_DEFAULTS, makeSessionGaps, readSessionGapsParams, type SessionGapsParams, type SessionGapsPredictor } from './session_gaps.js';
export { DEFAULT_SLOS, readSloTable } from './slo.js';
