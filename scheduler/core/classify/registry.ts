// The classification plugins by name. A config names one of each as {name, params}; unknown names are refused
// with the list of known ones.
import { makeNamedPlugin } from '../config/params.js';
import type { OutputLengthPredictor, ShapeClassifier, ThinkTimePredictor } from '../types.js';
import { makeStreamingQuantiles } from './quantiles.js';
import { makeShapeRules } from './rules.js';
import { makeSessionGaps } from './session_gaps.js';

export type PluginFactory<T> = (params: unknown, path: string) => T;

export const SHAPE_CLASSIFIERS: Readonly<Record<string, PluginFactory<ShapeClassifier>>> = {
  'shape-rules': makeShapeRules,
};

export const OUTPUT_PREDICTORS: Readonly<Record<string, PluginFactory<OutputLengthPredictor>>> = {
  'streaming-quantiles': makeStreamingQuantiles,
};

export const THINK_TIME_PREDICTORS: Readonly<Record<string, PluginFactory<ThinkTimePredictor>>> = {
  'session-gaps': makeSessionGaps,
};

/** Builds the plugin named at `path` ({name, params}; absent → the default name with default params). */
export function makePlugin<T>(value: unknown, path: string, registry: Readonly<Record<string, PluginFactory<T>>>, defaultName: string): T {
  return makeNamedPlugin(value, path, registry, defaultName);
}
