// Error bounds of the committed fitted.json on a fixed deterministic subset of ../shared/data/perf (held-in),
// plus a leave-one-GPU-out re-fit for GB200 GEMM and NCCL. Targets of issue 3: median <= 10 %, p90 <= 25 % per
// op family. The bounds asserted below are what the model achieves today (see the calibration table in the
// report); where they are looser than the target, the target is missed and the test says so.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sharedDir } from '../util/paths.js';
import { type ErrorRow, type SampleSet, calibrationRows, errorRow, fitOn, formatRows, loadSamples } from './calibrate.js';
import { type Family } from './ops/index.js';
import { loadFitted } from './ops/params.js';

const haveData = sharedDir() !== undefined;
const skip = haveData ? false : 'skipped: ../shared/data/perf is absent (perf error bounds need the measurements)';
if (!haveData) console.log('# perf calibration tests skipped: ../shared is absent');

/** Achieved bounds per family (held-in, every measured GPU): [median %, p90 %]; TARGET = [10, 25]. */
const BOUNDS: Readonly<Record<Family, [number, number]>> = {
  gemm: [10, 32], // p90 target missed (23-30 % on the full sample)
  context_attention: [10, 25],
  generation_attention: [18, 50], // Hopper median and p90 targets missed (B200: 5.5 / 24.5 %)
  nccl: [10, 25],
};

let cachedSet: SampleSet | undefined;
async function subset(): Promise<SampleSet> {
  cachedSet ??= await loadSamples(4); // 1/4 of the calibration sample: fixed by the line hash
  return cachedSet;
}

test('held-in error per GPU and op family within the achieved bounds', { skip }, async () => {
  const set = await subset();
  const rows = calibrationRows(set, loadFitted().params, false);
  console.log(formatRows(rows).split('\n').map((l) => `# ${l}`).join('\n'));
  assert.equal(rows.length, 14, 'h100/h200/b200 x 4 families + gb200 gemm and nccl');
  for (const r of rows) {
    const [median, p90] = BOUNDS[r.family];
    assert.equal(r.uncovered, 0, `${r.gpu} ${r.family}: variants without parameters`);
    assert.ok(r.medianPct <= median, `${r.gpu} ${r.family}: median ${r.medianPct.toFixed(1)} % > ${median} %`);
    assert.ok(r.p90Pct <= p90, `${r.gpu} ${r.family}: p90 ${r.p90Pct.toFixed(1)} % > ${p90} %`);
    if (r.medianPct > 10 || r.p90Pct > 25) console.log(`# target missed: ${r.gpu} ${r.family} median ${r.medianPct.toFixed(1)} % p90 ${r.p90Pct.toFixed(1)} %`);
  }
});

test('leave-one-GPU-out: GB200 predicted from a B200-only fit (gemm, nccl)', { skip }, async () => {
  const set = await subset();
  const rows: ErrorRow[] = [];
  for (const family of ['gemm', 'nccl'] as const) {
    const fitted = fitOn(set, ['b200'], [family])[family] ?? {};
    const row = errorRow(set, 'gb200', family, fitted, 'leave-one-gpu-out', ['b200']);
    assert.ok(row);
    rows.push(row);
    const [median, p90] = BOUNDS[family];
    assert.ok(row.medianPct <= median && row.p90Pct <= p90, `gb200 ${family} LOO: ${row.medianPct.toFixed(1)} / ${row.p90Pct.toFixed(1)} %`);
  }
  console.log(formatRows(rows).split('\n').map((l) => `# ${l}`).join('\n'));
});
