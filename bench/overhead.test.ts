// `nvlsched bench overhead` as a real child process, tiny run: the last stdout line is one JSON object whose headline
// fields are positive finite numbers and whose phases really ran (round trips timed, gateway steps counted with every
// sequence decoding). No timing is asserted: figures live in the benchmark's output. Bad flags exit 2 naming the flag.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';

import { packageRoot } from '../scheduler/util/paths.js';

const MAIN = path.join(packageRoot(), 'scheduler', 'cli', 'main.ts');
const LIMIT_MS = 90_000;

function runBench(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'bench', 'overhead', ...args], { cwd: packageRoot(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new Error(`bench overhead did not finish in ${LIMIT_MS} ms; stderr:\n${stderr}`));
    }, LIMIT_MS);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const positive = (x: unknown): boolean => typeof x === 'number' && Number.isFinite(x) && x > 0;

test('bench overhead --json (tiny run): one JSON line with the headline fields as positive finite numbers', async () => {
  const { code, stdout, stderr } = await runBench(['--json', '--seconds', '0.2', '--sequences', '8']);
  assert.equal(code, 0, stderr);
  const lines = stdout.trim().split('\n');
  assert.equal(lines.length, 1, `--json prints only the JSON line, got:\n${stdout}`);
  const r = JSON.parse(lines[0] as string) as Record<string, any>;
  assert.equal(r.bench, 'overhead');
  assert.ok(positive(r.step_round_trips_per_s), `step_round_trips_per_s ${r.step_round_trips_per_s}`);
  assert.ok(positive(r.control_plane_fraction), `control_plane_fraction ${r.control_plane_fraction}`);
  // CPU figures come from /proc: Linux only.
  if (process.platform === 'linux') assert.ok(positive(r.control_plane_cpu_fraction), `control_plane_cpu_fraction ${r.control_plane_cpu_fraction}`);
  assert.deepEqual(r.targets, { step_round_trips_per_s: 5000, control_plane_fraction: 0.02 });
  assert.equal(r.reference_step_ms, 20);
  assert.ok(r.round_trip.round_trips > 0 && r.round_trip.p99_us >= r.round_trip.p50_us, JSON.stringify(r.round_trip));
  assert.ok(positive(r.codec_us_per_round_trip) && positive(r.codec_generic_us_per_round_trip), `codec ${r.codec_us_per_round_trip} / ${r.codec_generic_us_per_round_trip}`);
  for (const phase of ['gateway_frontend', 'gateway_generate']) {
    const g = r[phase];
    assert.ok(g.steps > 0, `${phase}: steps ${g.steps}`);
    assert.ok(positive(g.wall_us_per_step) && positive(g.scheduler_us_per_step), `${phase}: ${JSON.stringify(g)}`);
    // Every step decoded (close to) all 8 sequences: the load kept the instance busy.
    assert.ok(g.sequences_per_step > 6 && g.sequences_per_step < 10, `${phase}: sequences per step ${g.sequences_per_step}`);
  }
  // control_plane_fraction is the Generate path's wall time per step over the 20 ms reference.
  assert.equal(r.control_plane_fraction, r.gateway_generate.fraction_of_reference_step);
  assert.ok(Math.abs(r.control_plane_fraction - r.gateway_generate.wall_us_per_step / 20_000) < 1e-3);
});

test('bench overhead: a bad flag exits 2 with one line naming it', async () => {
  const { code, stdout, stderr } = await runBench(['--sequences', '0']);
  assert.equal(code, 2);
  assert.equal(stdout, '');
  assert.match(stderr.trim(), /^nvlsched: .*--sequences/);
  assert.equal(stderr.trim().split('\n').length, 1);
});
