// Length and time distributions of synthetic mixes, read from YAML with errors naming the field.
//   42                                      fixed (shorthand)
//   {dist: fixed, value: 42}
//   {dist: uniform, min: 10, max: 100}
//   {dist: lognormal, median: 800, sigma: 1.0, min?: 1, max?: 32768}
//   {dist: exponential, mean: 5, min?, max?}
//   {dist: empirical, values: [100, 200, 400], weights?: [1, 2, 1]}
import { asParams, ConfigError, onlyKeys, readEnum, readNumber, type Params } from '../core/config/params.js';
import type { Rng } from '../util/random.js';
import { Discrete, exponential, lognormal } from './sample.js';

export interface Dist {
  /** One draw (rounded when the distribution counts tokens or turns; within [min, max]). */
  sample(rng: Rng): number;
  readonly describe: string;
}

export interface DistRule {
  /** Round draws to integers (token and turn counts). */
  integer: boolean;
  /** Smallest allowed value (draws are clamped up to it, configured values are checked against it). */
  min: number;
}

const KINDS = ['fixed', 'uniform', 'lognormal', 'exponential', 'empirical'] as const;

function finish(value: number, rule: DistRule, lo: number, hi: number): number {
  const v = rule.integer ? Math.round(value) : value;
  return Math.min(Math.max(v, lo), hi);
}

export function readDist(value: unknown, path: string, rule: DistRule): Dist {
  if (typeof value === 'number') return fixed(checkNumber(value, path, rule), rule);
  const p = asParams(value, path);
  if (Object.keys(p).length === 0) throw new ConfigError(path, `expected a number or {dist: ${KINDS.join('|')}, ...}`);
  const kind = readEnum(p, 'dist', path, KINDS, 'fixed');
  switch (kind) {
    case 'fixed':
      onlyKeys(p, path, ['dist', 'value']);
      return fixed(required(p, 'value', path, rule), rule);
    case 'uniform':
      return uniform(p, path, rule);
    case 'lognormal':
      return lognormalDist(p, path, rule);
    case 'exponential':
      return exponentialDist(p, path, rule);
    case 'empirical':
      return empirical(p, path, rule);
  }
}

function numberRule(rule: DistRule) {
  return { min: rule.min, integer: rule.integer };
}

function required(p: Params, key: string, path: string, rule: DistRule): number {
  if (p[key] === undefined) throw new ConfigError(`${path}.${key}`, 'required');
  return readNumber(p, key, path, 0, numberRule(rule));
}

function bounds(p: Params, path: string, rule: DistRule): { lo: number; hi: number } {
  const lo = readNumber(p, 'min', path, rule.min, numberRule(rule));
  const hi = readNumber(p, 'max', path, Number.POSITIVE_INFINITY, numberRule(rule));
  if (hi < lo) throw new ConfigError(`${path}.max`, `expected ≥ min (${lo}), got ${hi}`);
  return { lo, hi };
}

function fixed(value: number, rule: DistRule): Dist {
  return { sample: () => value, describe: `${value}${rule.integer ? '' : ' s'}` };
}

function uniform(p: Params, path: string, rule: DistRule): Dist {
  onlyKeys(p, path, ['dist', 'min', 'max']);
  const lo = required(p, 'min', path, rule);
  const hi = required(p, 'max', path, rule);
  if (hi < lo) throw new ConfigError(`${path}.max`, `expected ≥ min (${lo}), got ${hi}`);
  // Integer uniform includes both ends.
  const span = rule.integer ? hi - lo + 1 : hi - lo;
  return {
    sample: (rng) => (rule.integer ? lo + Math.min(Math.floor(rng.next() * span), hi - lo) : lo + rng.next() * span),
    describe: `uniform[${lo}, ${hi}]`,
  };
}

function lognormalDist(p: Params, path: string, rule: DistRule): Dist {
  onlyKeys(p, path, ['dist', 'median', 'sigma', 'min', 'max']);
  const median = readNumber(p, 'median', path, NaN, { above: 0 });
  if (Number.isNaN(median)) throw new ConfigError(`${path}.median`, 'required');
  const sigma = readNumber(p, 'sigma', path, 1, { min: 0 });
  const { lo, hi } = bounds(p, path, rule);
  return { sample: (rng) => finish(lognormal(rng, median, sigma), rule, lo, hi), describe: `lognormal(median ${median}, σ ${sigma})` };
}

function exponentialDist(p: Params, path: string, rule: DistRule): Dist {
  onlyKeys(p, path, ['dist', 'mean', 'min', 'max']);
  const mean = readNumber(p, 'mean', path, NaN, { above: 0 });
  if (Number.isNaN(mean)) throw new ConfigError(`${path}.mean`, 'required');
  const { lo, hi } = bounds(p, path, rule);
  return { sample: (rng) => finish(exponential(rng, mean), rule, lo, hi), describe: `exponential(mean ${mean})` };
}

function empirical(p: Params, path: string, rule: DistRule): Dist {
  onlyKeys(p, path, ['dist', 'values', 'weights']);
  const values = numberList(p.values, `${path}.values`, rule);
  if (values.length === 0) throw new ConfigError(`${path}.values`, 'expected a non-empty list of numbers');
  const weights = p.weights === undefined ? values.map(() => 1) : numberList(p.weights, `${path}.weights`, { integer: false, min: 0 });
  if (weights.length !== values.length) throw new ConfigError(`${path}.weights`, `expected ${values.length} weights (one per value), got ${weights.length}`);
  if (!weights.some((w) => w > 0)) throw new ConfigError(`${path}.weights`, 'expected at least one weight > 0');
  const discrete = new Discrete(values, weights);
  return { sample: (rng) => discrete.sample(rng), describe: `empirical(${values.length} values)` };
}

function numberList(value: unknown, path: string, rule: DistRule): number[] {
  if (!Array.isArray(value)) throw new ConfigError(path, `expected a list of numbers, got ${JSON.stringify(value) ?? 'nothing'}`);
  return value.map((v: unknown, i) => checkNumber(v, `${path}[${i}]`, rule));
}

function checkNumber(value: unknown, field: string, rule: DistRule): number {
  const ok = typeof value === 'number' && Number.isFinite(value) && value >= rule.min && (!rule.integer || Number.isInteger(value));
  if (!ok) throw new ConfigError(field, `expected ${rule.integer ? 'an integer' : 'a number'} ≥ ${rule.min}, got ${JSON.stringify(value) ?? 'nothing'}`);
  return value;
}
