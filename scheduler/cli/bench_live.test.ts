// `nvlsched bench --target` as a real child process against a gateway served by this test process (startRig, port
// picked at run time): a tiny mix replayed live, the report on stdout (table, then one JSON line) and in --json;
// bad flags and an unreachable target exit 2 with one line; the micro-benchmark names still dispatch.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { startRig, type Rig } from '../gateway/testing.js';
import type { LiveReport } from '../loadgen/report.js';
import { packageRoot } from '../util/paths.js';

const MAIN = path.join(packageRoot(), 'scheduler', 'cli', 'main.ts');
const CHILD_LIMIT_MS = 60_000;

/** Runs the CLI without blocking this process's event loop (it serves the gateway the child talks to). */
function cli(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: packageRoot(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_LIMIT_MS);
    child.once('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

const TINY_MIX = `name: tiny
durationS: 2
shapes:
  chat:
    arrival: { process: poisson, ratePerS: 5 }
    uniqueTokens: { dist: uniform, min: 20, max: 200 }
    outputTokens: { dist: uniform, min: 2, max: 20 }
    maxOutputTokens: 64
  tool_call:
    arrival: { process: poisson, ratePerS: 3 }
    uniqueTokens: { dist: uniform, min: 20, max: 200 }
    outputTokens: { dist: uniform, min: 2, max: 10 }
    maxOutputTokens: 64
    hasTools: true
    toolResultsShare: 1
`;

let rig: Rig;
let dir: string;
before(async () => {
  rig = await startRig(1);
  dir = mkdtempSync(path.join(tmpdir(), 'nvlsched-bench-live-'));
});
after(async () => {
  await rig.close();
  rmSync(dir, { recursive: true, force: true });
});

test('bench --target: a mix replayed live, the same report as simulate with mode live, every request accounted for', async () => {
  const mix = path.join(dir, 'tiny.yaml');
  const out = path.join(dir, 'live.json');
  writeFileSync(mix, TINY_MIX);
  const res = await cli(['bench', '--target', `127.0.0.1:${rig.gateway.port}`, '--mix', mix, '--duration', '2', '--drain', '10', '--block-tokens', '16', '--seed', '3', '--goodput', 'ttft:2000', '--json', out]);
  assert.equal(res.status, 0, res.stderr);
  const lines = res.stdout.trim().split('\n');
  const report = JSON.parse(lines.at(-1) as string) as LiveReport;
  assert.deepEqual(JSON.parse(readFileSync(out, 'utf8')), report);
  assert.equal(report.mode, 'live');
  assert.equal(report.policy, 'shape-aware');
  assert.equal(report.model, 'llama-3.1-70b');
  assert.equal(report.gpus, 4, 'from the Health label: 4 instances at tp1');
  assert.deepEqual(report.goodput_overrides_ms, { ttft: 2000 });
  assert.equal(report.workload.name, 'tiny');
  const o = report.overall;
  assert.ok(o.requests >= 5, `${o.requests} requests`);
  assert.equal(report.live.sent, o.requests);
  assert.equal(o.completed + o.rejected + o.cancelled, o.requests);
  assert.equal(report.live.completed + report.live.failed + report.live.cancelled + report.live.rejected, o.requests);
  assert.ok(o.completed > 0 && report.by_shape.tool_call.completed > 0 && report.by_shape.chat.completed > 0);
  for (const key of ['ttft_p50_s', 'ttft_p90_s', 'ttft_p99_s', 'tpot_p50_s', 'e2e_p99_s', 'goodput_rps', 'slo_attainment', 'throughput_tok_s', 'kv_hit_rate', 'cost_usd'] as const) {
    assert.ok(key in o, key);
  }
  assert.ok((o.ttft_p50_s ?? -1) > 0);
  assert.match(res.stdout, /live at 127\.0\.0\.1:\d+: \d+ requests sent/);
  assert.match(res.stdout, /\| tool_call \|/);
  assert.match(res.stdout, /\| chat \|/);
});

test('bench: bad flags exit 2 with one line naming the flag', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['bench', '--duration', '5'], /--target host:port is required/],
    [['bench', '--target', 'localhost'], /--target: expected host:port/],
    [['bench', '--target', '127.0.0.1:1', '--rate-scale', '0'], /--rate-scale: expected a number > 0, got 0/],
    [['bench', '--target', '127.0.0.1:1', '--rate-scale', '2', '--sessions', '3'], /exclude each other/],
    [['bench', '--target', '127.0.0.1:1', '--trace', path.join(dir, 'missing.jsonl')], /--trace: no such file or directory/],
    [['bench', '--target', '127.0.0.1:1', '--goodput', 'speed:3'], /--goodput: /],
    [['bench', '--target', '127.0.0.1:1', '--sessions', '2'], /--sessions applies to closed-loop workloads/],
    [['bench', 'nosuch'], /bench needs one of: .*live.*sched/],
  ];
  // The --sessions case needs the workload (default mix), so it connects first: give it the live gateway.
  (cases[6] as [string[], RegExp])[0][2] = `127.0.0.1:${rig.gateway.port}`;
  for (const [args, pattern] of cases) {
    const res = await cli(args);
    assert.equal(res.status, 2, `${args.join(' ')}: ${res.stderr}`);
    assert.match(res.stderr, pattern, args.join(' '));
    assert.equal(res.stderr.trim().split('\n').length, 1, res.stderr);
  }
});

test('bench: an unreachable target exits 2 within the connect timeout', async () => {
  // A port that was free a moment ago and has nothing listening now.
  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  const startMs = Date.now();
  const res = await cli(['bench', '--target', `127.0.0.1:${port}`, '--connect-timeout', '1']);
  assert.equal(res.status, 2, res.stderr);
  assert.match(res.stderr, new RegExp(`^nvlsched: E_USAGE: --target: cannot reach the gateway at 127\\.0\\.0\\.1:${port}: `));
  assert.equal(res.stderr.trim().split('\n').length, 1, res.stderr);
  assert.ok(Date.now() - startMs < 15_000);
});
