// Run counts and seeds for the property-based fuzz tests (*.fuzz.test.ts, fast-check). Each property names its
// base run count, sized so that the whole fuzz set stays well under a minute on 2 cores inside `npm test`; longer
// local campaigns scale every property at once:
//   FUZZ_RUNS=20 node --import tsx --test scheduler/**/*.fuzz.test.ts    # 20 x the runs of every property
//   FUZZ_SEED=123 ...                                                    # another deterministic campaign
// A failing property prints fast-check's seed, path and minimised counterexample; replay it with those.

/** FUZZ_RUNS: a multiplier (default 1) on every property's base run count. */
export function fuzzScale(): number {
  const raw = process.env.FUZZ_RUNS;
  if (raw === undefined || raw === '') return 1;
  const x = Number(raw);
  if (!Number.isFinite(x) || x <= 0) throw new Error(`FUZZ_RUNS: expected a positive number (a multiplier on the base run counts), got ${JSON.stringify(raw)}`);
  return x;
}

/** The run count of a property whose base count is `base` (at least 1). */
export function fuzzRuns(base: number): number {
  return Math.max(1, Math.round(base * fuzzScale()));
}

/** FUZZ_SEED: the campaign's seed (default fixed, so that `npm test` replays exactly); `salt` varies it per property. */
export function fuzzSeed(salt: number): number {
  const raw = process.env.FUZZ_SEED;
  const base = raw === undefined || raw === '' ? 20_260_101 : Number(raw);
  if (!Number.isInteger(base)) throw new Error(`FUZZ_SEED: expected an integer, got ${JSON.stringify(raw)}`);
  return (base + salt * 7919) | 0;
}

/** fast-check parameters for one property: deterministic seed, scaled run count. */
export function fuzzParams(base: number, salt: number): { numRuns: number; seed: number } {
  return { numRuns: fuzzRuns(base), seed: fuzzSeed(salt) };
}
