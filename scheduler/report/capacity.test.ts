// Goodput capacity by bracketing and bisection on synthetic monotone attainment curves.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findCapacity, type CapacityOptions } from './capacity.js';

/** Attainment falling linearly from 1 at load 0, crossing 0.9 at `knee`; counts its calls. */
function linear(knee: number) {
  let calls = 0;
  const evaluate = async (load: number) => {
    calls++;
    const attainment = Math.max(0, 1 - (0.1 * load) / knee);
    return { slo_attainment: attainment, goodput_rps: load * attainment };
  };
  return { evaluate, calls: () => calls };
}

test('open loop: finds the knee within the relative tolerance, bracketing up or down from the start', async () => {
  const cases: Array<{ knee: number; start: number }> = [
    { knee: 3.7, start: 1 },
    { knee: 0.23, start: 1 },
    { knee: 40, start: 1 },
    { knee: 1, start: 1 },
  ];
  for (const { knee, start } of cases) {
    const f = linear(knee);
    const r = await findCapacity({ evaluate: f.evaluate, startLoad: start, relTolerance: 0.02, maxProbes: 30 });
    assert.equal(r.stop, 'converged', `knee ${knee}`);
    assert.ok(r.capacity !== null && r.firstFailing !== null);
    assert.ok(r.capacity <= knee + 1e-12 && r.firstFailing > knee, `knee ${knee}: [${r.capacity}, ${r.firstFailing})`);
    assert.ok((r.firstFailing - r.capacity) <= 0.02 * r.firstFailing);
    assert.equal(r.probes.length, f.calls());
    assert.ok(f.calls() <= 30);
    // every probe passes iff its load is at or below the capacity (monotone curve)
    for (const p of r.probes) assert.equal((p.slo_attainment ?? 0) >= 0.9, p.load <= r.capacity, `load ${p.load}`);
  }
});

test('closed loop: whole numbers of sessions, stops when passing and failing loads are adjacent', async () => {
  const evaluate = async (sessions: number) => ({ slo_attainment: sessions <= 37 ? 0.95 : 0.5, goodput_rps: sessions });
  const r = await findCapacity({ evaluate, startLoad: 8, integer: true });
  assert.deepEqual([r.capacity, r.firstFailing, r.stop], [37, 38, 'converged']);
  for (const p of r.probes) assert.ok(Number.isInteger(p.load), `load ${p.load}`);
  // 8, 16, 32, 64 then bisection of [32, 64): 48, 40, 36, 38, 37 → 9 probes
  assert.deepEqual(r.probes.map((p) => p.load), [8, 16, 32, 64, 48, 40, 36, 38, 37]);
});

test('bounded: the probe budget stops the search and says so; the bracket found so far is returned', async () => {
  const f = linear(1000);
  const r = await findCapacity({ evaluate: f.evaluate, startLoad: 1, maxProbes: 5 });
  assert.equal(f.calls(), 5);
  assert.deepEqual([r.capacity, r.firstFailing, r.stop], [16, null, 'probe budget']);
  const g = linear(3);
  const r2 = await findCapacity({ evaluate: g.evaluate, startLoad: 1, maxProbes: 4 });
  assert.equal(g.calls(), 4);
  assert.equal(r2.stop, 'probe budget');
  assert.ok(r2.capacity !== null && r2.firstFailing !== null && r2.capacity <= 3 && r2.firstFailing > 3);
});

test('limits: failing even at the minimum load gives null; passing at the maximum gives it as a lower bound', async () => {
  const never = await findCapacity({ evaluate: async () => ({ slo_attainment: 0.2, goodput_rps: 0 }), startLoad: 4, integer: true });
  assert.deepEqual([never.capacity, never.firstFailing, never.stop], [null, 1, 'min load']);
  assert.deepEqual(never.probes.map((p) => p.load), [4, 2, 1]);
  const always = await findCapacity({ evaluate: async () => ({ slo_attainment: 1, goodput_rps: 1 }), startLoad: 1, maxLoad: 10 });
  assert.deepEqual([always.capacity, always.firstFailing, always.stop], [10, null, 'max load']);
  // no requests at a load (attainment null) counts as not passing
  const empty = await findCapacity({ evaluate: async () => ({ slo_attainment: null, goodput_rps: null }), startLoad: 1, minLoad: 0.25 });
  assert.deepEqual([empty.capacity, empty.stop], [null, 'min load']);
});

test('exactly at the target passes (≥ 90 %); a custom target is honoured', async () => {
  const step = async (load: number) => ({ slo_attainment: load <= 2 ? 0.9 : 0.89, goodput_rps: 1 });
  const r = await findCapacity({ evaluate: step, startLoad: 2, integer: true });
  assert.equal(r.capacity, 2);
  const strict = await findCapacity({ evaluate: step, startLoad: 2, integer: true, target: 0.95 });
  assert.equal(strict.capacity, null);
});

test('bad options are errors naming the option', async () => {
  const evaluate = async () => ({ slo_attainment: 1, goodput_rps: 1 });
  const cases: Array<[Partial<CapacityOptions>, RegExp]> = [
    [{ startLoad: 0 }, /capacity.startLoad: expected a number > 0, got 0/],
    [{ startLoad: NaN }, /capacity.startLoad/],
    [{ startLoad: 1, target: 1.5 }, /capacity.target: expected \(0, 1\], got 1.5/],
    [{ startLoad: 1, maxProbes: 0 }, /capacity.maxProbes: expected an integer ≥ 1, got 0/],
    [{ startLoad: 1, relTolerance: -1 }, /capacity.relTolerance/],
  ];
  for (const [opts, message] of cases) await assert.rejects(findCapacity({ evaluate, ...opts } as CapacityOptions), message);
});
