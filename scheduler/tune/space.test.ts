// The search space: every point decodes inside its range and maps to a policy section the scheduler config loader
// accepts (so a tuned YAML can never fail to load); the defaults are the shipped ones.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { parseSchedulerConfig } from '../core/scheduler_config.js';
import { SHAPE_AWARE_DEFAULTS } from '../core/engine/policies/shape_aware.js';
import { SLO_ADMISSION_DEFAULTS } from '../core/admission/policies/slo.js';
import { COST_AWARE_DEFAULTS } from '../core/retention/policies/cost_aware.js';
import { placementProfiles } from '../core/place/profiles.js';
import { ScrambledHalton } from './halton.js';
import { DIMENSIONS, decodeDimension, decodePoint, defaultParams, policyFor } from './space.js';

test('between 6 and 10 dimensions, each default inside its range', () => {
  assert.ok(DIMENSIONS.length >= 6 && DIMENSIONS.length <= 10);
  for (const d of DIMENSIONS) {
    assert.ok(d.min < d.max && d.default >= d.min && d.default <= d.max, d.name);
    if (d.scale !== 'linear') assert.ok(d.min > 0, `${d.name}: log scale needs min > 0`);
  }
});

test('decoding: the ends of the unit interval are the ends of the range; int-log gives integers', () => {
  for (const d of DIMENSIONS) {
    assert.equal(decodeDimension(d, 0), d.min, d.name);
    assert.ok(Math.abs(decodeDimension(d, 1 - 1e-12) - d.max) <= d.max * 0.005, d.name);
    for (const u of [0.1, 0.37, 0.5, 0.93]) {
      const v = decodeDimension(d, u);
      assert.ok(v >= d.min && v <= d.max, `${d.name} at ${u}: ${v}`);
      if (d.scale === 'int-log') assert.ok(Number.isInteger(v), `${d.name} at ${u}: ${v}`);
    }
  }
  // log scale: the middle of the cube is the geometric mean.
  const tpot = DIMENSIONS.find((d) => d.name === 'placement.tpotWeight');
  assert.equal(tpot && decodeDimension(tpot, 0.5), 1);
  assert.throws(() => decodePoint([0.5]), /expected 10 coordinates/);
});

test('the defaults are the shipped shape-aware parameters', () => {
  const policy = policyFor(defaultParams()) as { placement: unknown; batch: { params: Record<string, unknown> }; admission: { params: Record<string, unknown> }; retention: { params: Record<string, unknown> } };
  assert.deepEqual(policy.placement, placementProfiles['shape-aware']);
  for (const [key, value] of Object.entries(policy.batch.params)) assert.deepEqual(value, SHAPE_AWARE_DEFAULTS[key as keyof typeof SHAPE_AWARE_DEFAULTS], `batch.${key}`);
  for (const [key, value] of Object.entries(policy.admission.params)) assert.equal(value, SLO_ADMISSION_DEFAULTS[key as keyof typeof SLO_ADMISSION_DEFAULTS], `admission.${key}`);
  for (const [key, value] of Object.entries(policy.retention.params)) assert.equal(value, COST_AWARE_DEFAULTS[key as keyof typeof COST_AWARE_DEFAULTS], `retention.${key}`);
});

test('every sampled point, corners included, is a policy the scheduler config accepts', () => {
  const h = new ScrambledHalton(DIMENSIONS.length, 5);
  const points = [DIMENSIONS.map(() => 0), DIMENSIONS.map(() => 1 - 1e-12), ...Array.from({ length: 40 }, (_, i) => h.point(i))];
  for (const u of points) {
    const config = parseSchedulerConfig({ policy: policyFor(decodePoint(u)) });
    assert.equal(config.policyName, 'shape-aware+custom');
  }
});

test('a parameter missing from a point is an error naming it', () => {
  const params = defaultParams();
  delete params['admission.slack'];
  assert.throws(() => policyFor(params), /admission\.slack: expected a number/);
});
