// `nvlsched start` (what `npm start` runs) through a real child process: the live path end to end with a short load
// (one worker process, steps unpaced so the test takes seconds): a per-shape report where every shape that got
// requests completed some and every request is accounted for; `--sim` keeps the simulator comparison; bad flags
// exit 2 with one line.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';

import type { LiveReport } from '../loadgen/report.js';
import { packageRoot } from '../util/paths.js';

const start = (args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', 'scheduler/cli/main.ts', 'start', ...args], { cwd: packageRoot(), encoding: 'utf8', timeout: 90_000 });

test('start (live): a gateway, one worker process, 4 s of the default mix over gRPC, a report per shape, nothing unaccounted', () => {
  // Seed 4 puts all four trace shapes in the first 4 s (tool calls, chat, reasoning, a terminal session).
  const res = start(['--workers', '1', '--duration', '4', '--drain', '20', '--rate-scale', '1', '--seed', '4', '--pace', 'none', '--json']);
  assert.equal(res.status, 0, res.stderr);
  assert.match(res.stdout, /^nvlsched start: a live gateway \(policy shape-aware\) in this process drives 4 instances of llama-3\.1-70b on 1 simulated gb200-nvl72 compute tray\(s\) \(4 GPUs\)/);
  const report = JSON.parse(res.stdout.trim().split('\n').at(-1) as string) as LiveReport;
  assert.equal(report.mode, 'live');
  assert.equal(report.gpus, 4);
  assert.equal(report.workload.name, 'default');
  const o = report.overall;
  assert.ok(o.requests >= 20, `${o.requests} requests`);
  assert.equal(report.live.sent, o.requests);
  assert.equal(o.completed + o.rejected + o.cancelled, o.requests, 'every request ended one way');
  assert.equal(report.live.completed + report.live.rejected + report.live.cancelled + report.live.failed, report.live.sent);
  const shapes = Object.entries(report.by_shape).filter(([, m]) => m.requests > 0);
  assert.ok(shapes.length >= 3, `shapes with requests: ${shapes.map(([s]) => s).join(', ')}`);
  for (const [shape, m] of shapes) {
    assert.ok(m.completed > 0, `${shape}: none of ${m.requests} completed`);
    assert.match(res.stdout, new RegExp(`\\| ${shape} \\| ${m.requests} \\| ${m.completed} \\|`));
  }
  assert.ok(report.by_shape.tool_call.completed > 0 && report.by_shape.chat.completed > 0 && report.by_shape.reasoning.completed > 0);
  assert.ok((o.ttft_p50_s ?? 0) > 0 && (o.kv_hit_rate ?? 0) > 0, 'tool calls share their prefix: some KV hits');
  assert.match(res.stdout, /workers and gateway stopped/);
  // No API keys in the demo, and it says so.
  assert.match(res.stdout, /WARNING: npm start runs with --insecure-no-auth: the gateway accepts every request without an API key/);
});

test('start --sim: the simulator comparison, shape-aware beside the baseline', () => {
  const res = start(['--sim', '--baseline', 'round-robin', '--rate-scale', '0.3', '--json']);
  assert.equal(res.status, 0, res.stderr);
  for (const shape of ['tool_call', 'reasoning', 'chat']) assert.match(res.stdout, new RegExp(`\\| ${shape} \\|`));
  const last = JSON.parse(res.stdout.trim().split('\n').at(-1) as string) as { start: Array<{ policy: string; overall: { requests: number; completed: number; rejected: number; cancelled: number } }> };
  assert.deepEqual(last.start.map((r) => r.policy), ['shape-aware', 'round-robin']);
  for (const r of last.start) assert.equal(r.overall.completed + r.overall.rejected + r.overall.cancelled, r.overall.requests);
});

test('start: bad flags exit 2 with one line', () => {
  const cases: Array<[string[], RegExp]> = [
    [['--sim', '--baseline', 'fastest'], /--baseline: unknown policy 'fastest'/],
    [['--workers', '0'], /--workers: expected an integer ≥ 1, got 0/],
    [['--workers', '19'], /--workers: a GB200 NVL72 rack has 18 compute trays/],
    [['--duration', '-1'], /--duration: expected a number > 0/],
    [['--pace', 'fast'], /--pace: expected real or none/],
    [['--sim', '--workers', '2'], /--workers is for the live run/],
    [['--baseline', 'round-robin'], /--baseline is for --sim/],
  ];
  for (const [args, pattern] of cases) {
    const res = start(args);
    assert.equal(res.status, 2, `${args.join(' ')}: ${res.stderr}`);
    assert.match(res.stderr, pattern);
    assert.equal(res.stderr.trim().split('\n').length, 1, res.stderr);
  }
});
