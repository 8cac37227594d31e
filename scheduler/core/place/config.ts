// Reading a placement config: {filters: [{name, params}], scorers: [{name, weight, params}], picker: {name, params}}.
// A weight is a number ≥ 0 or a per-shape table {tool_call: 3, terminal: 1, default: 1} (missing shapes take
// `default`, itself 1 unless given). Every error names the field, e.g. `placement.scorers[1].weight`.
import { asParams, ConfigError, onlyKeys, readNumber, readString, type Params } from '../config/params.js';
import { SHAPES, type Shape } from '../types.js';
import type { PlacementPicker, PlacementScorer } from '../types.js';
import type { ExplainingFilter } from './plugin.js';
import { PLACEMENT_FILTERS, PLACEMENT_PICKERS, PLACEMENT_SCORERS } from './registry.js';

export type Weight = number | Partial<Record<Shape | 'default', number>>;

export interface PluginConfig {
  name: string;
  params?: Params;
}

export interface ScorerConfig extends PluginConfig {
  weight?: Weight;
}

export interface PlacementConfig {
  filters?: PluginConfig[];
  scorers?: ScorerConfig[];
  picker: PluginConfig;
}

export interface BuiltPlacement {
  filters: ExplainingFilter[];
  scorers: PlacementScorer[];
  /** weights[shapeIndex * scorers.length + k], shapeIndex as in SHAPES. */
  weights: Float64Array;
  picker: PlacementPicker;
}

function lookup<T>(registry: Readonly<Record<string, T>>, spec: Params, path: string, kind: string): T {
  const name = readString(spec, 'name', path, '\u0000');
  if (name === '\u0000') throw new ConfigError(`${path}.name`, `missing; expected one of ${Object.keys(registry).join(', ')}`);
  const factory = Object.hasOwn(registry, name) ? registry[name] : undefined;
  if (!factory) throw new ConfigError(`${path}.name`, `unknown ${kind} ${JSON.stringify(name)}; known: ${Object.keys(registry).join(', ')}`);
  return factory;
}

function list(value: unknown, path: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new ConfigError(path, 'expected a list of {name, params} entries');
  return value;
}

function readWeights(spec: Params, at: string): number[] {
  const value = spec.weight;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    const w = readNumber(spec, 'weight', at, 1, { min: 0 });
    return SHAPES.map(() => w);
  }
  const path = `${at}.weight`;
  const table = asParams(value, path);
  onlyKeys(table, path, [...SHAPES, 'default']);
  const fallback = readNumber(table, 'default', path, 1, { min: 0 });
  return SHAPES.map((shape) => readNumber(table, shape, path, fallback, { min: 0 }));
}

export function buildPlacement(config: unknown, path: string): BuiltPlacement {
  const root = asParams(config, path);
  onlyKeys(root, path, ['filters', 'scorers', 'picker']);
  const filters = list(root.filters, `${path}.filters`).map((entry, i) => {
    const at = `${path}.filters[${i}]`;
    const spec = asParams(entry, at);
    onlyKeys(spec, at, ['name', 'params']);
    return lookup(PLACEMENT_FILTERS, spec, at, 'filter')(asParams(spec.params, `${at}.params`), `${at}.params`);
  });
  const scorerSpecs = list(root.scorers, `${path}.scorers`);
  const scorers: PlacementScorer[] = [];
  const weightRows: number[][] = [];
  scorerSpecs.forEach((entry, i) => {
    const at = `${path}.scorers[${i}]`;
    const spec = asParams(entry, at);
    onlyKeys(spec, at, ['name', 'weight', 'params']);
    const factory = lookup(PLACEMENT_SCORERS, spec, at, 'scorer');
    weightRows.push(readWeights(spec, at));
    scorers.push(factory(asParams(spec.params, `${at}.params`), `${at}.params`));
  });
  if (root.picker === undefined || root.picker === null) throw new ConfigError(`${path}.picker`, `exactly one picker is required; known: ${Object.keys(PLACEMENT_PICKERS).join(', ')}`);
  if (Array.isArray(root.picker)) throw new ConfigError(`${path}.picker`, 'exactly one picker: a mapping {name, params}, not a list');
  const pickerSpec = asParams(root.picker, `${path}.picker`);
  onlyKeys(pickerSpec, `${path}.picker`, ['name', 'params']);
  const picker = lookup(PLACEMENT_PICKERS, pickerSpec, `${path}.picker`, 'picker')(asParams(pickerSpec.params, `${path}.picker.params`), `${path}.picker.params`);
  const weights = new Float64Array(SHAPES.length * scorers.length);
  SHAPES.forEach((_, s) => weightRows.forEach((row, k) => (weights[s * scorers.length + k] = row[s] as number)));
  return { filters, scorers, weights, picker };
}
