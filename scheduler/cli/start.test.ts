// `nvlsched start` (what `npm start` runs) through a real child process: exits 0 with a per-shape report.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { packageRoot } from '../util/paths.js';

test('start: the default mix under shape-aware and a baseline, a row per shape, JSON on request', () => {
  const res = spawnSync(process.execPath, ['--import', 'tsx', 'scheduler/cli/main.ts', 'start', '--json', '--baseline', 'round-robin'], { cwd: packageRoot(), encoding: 'utf8' });
  assert.equal(res.status, 0, res.stderr);
  for (const shape of ['tool_call', 'reasoning', 'terminal', 'chat']) assert.match(res.stdout, new RegExp(`\\| ${shape} \\|`));
  const last = JSON.parse(res.stdout.trim().split('\n').at(-1) as string) as { start: Array<{ policy: string; overall: { requests: number; completed: number; rejected: number; cancelled: number } }> };
  assert.deepEqual(last.start.map((r) => r.policy), ['shape-aware', 'round-robin']);
  for (const r of last.start) assert.equal(r.overall.completed + r.overall.rejected + r.overall.cancelled, r.overall.requests);
  const bad = spawnSync(process.execPath, ['--import', 'tsx', 'scheduler/cli/main.ts', 'start', '--baseline', 'fastest'], { cwd: packageRoot(), encoding: 'utf8' });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /--baseline: unknown policy 'fastest'/);
});
