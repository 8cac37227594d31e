// `nvlsched tune` and `tune-worker` flags, and a real (tiny) search end to end: the --json contract, and the --out
// YAML loading where a config is read — the scheduler config loader (`config check`), serve's loader (`serve
// --config`), and `simulate --config`, which reproduces the best trial's goodput exactly.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { parse as parseYaml } from 'yaml';

import { loadSchedulerConfigText } from '../core/scheduler_config.js';
import { policyFor } from '../tune/space.js';
import { DEFAULT_MIX_YAML } from '../workload/index.js';
import { parseServeConfig } from './serve_config.js';
import { parseSimulateArgs, realEngines, runSimulate } from './simulate.js';
import { DEFAULT_MIX_RATE_SCALE, parseTuneArgs, runTune, type TuneArgs } from './tune.js';
import { parseTuneWorkerArgs } from './tune_worker.js';

const dir = mkdtempSync(path.join(tmpdir(), 'tune-cli-'));

function parsed(argv: string[]): TuneArgs {
  const args = parseTuneArgs(argv);
  assert.notEqual(args, 'help');
  return args as TuneArgs;
}

test('bad tune flags are refused with one line naming the flag', () => {
  const cases: Array<[string[], RegExp]> = [
    [['--samples', '0'], /--samples must be an integer in \[1, 4096\], got 0/],
    [['--eta', '1'], /--eta must be an integer in \[2, 16\]/],
    [['--min-duration', '20', '--duration', '10'], /--min-duration \(20\) must be ≤ --duration \(10\)/],
    [['--duration', '-1'], /--duration must be > 0/],
    [['--queue', 'q'], /--queue needs --redis/],
    [['--trace', '/no/such/trace.jsonl'], /--trace: no such file/],
    [['--rate-scale', '2', '--sessions', '3'], /exclude each other/],
    [['--goodput', 'ttft:abc'], /--goodput: bad token 'ttft:abc'/],
    [['--model', 'gpt-9'], /--model: unknown 'gpt-9'/],
    [['--json', '/no/such/dir/t.json'], /--json: directory '\/no\/such\/dir' does not exist/],
    [['--sampels', '3'], /unknown flag --sampels/],
    [['extra'], /unexpected argument 'extra'/],
  ];
  for (const [argv, message] of cases) {
    assert.throws(() => parseTuneArgs(argv), (e: Error & { code?: string }) => e.code === 'E_USAGE' && message.test(e.message), argv.join(' '));
  }
});

test('defaults: the default mix near capacity; a mix file at its own rate; SLO overrides as simulate takes them', () => {
  const a = parsed([]);
  assert.equal(a.workload.rateScale, DEFAULT_MIX_RATE_SCALE);
  assert.deepEqual([a.samples, a.eta, a.minDurationS, a.maxDurationS, a.redis], [16, 3, 10, 30, undefined]);
  const mixFile = path.join(dir, 'mix.yaml');
  writeFileSync(mixFile, DEFAULT_MIX_YAML);
  const b = parsed(['--mix', mixFile, '--duration', '5', '--goodput', 'ttft:500', 'tool_call.ttft:300']);
  assert.equal(b.workload.rateScale, undefined);
  assert.equal(b.workload.mix, path.resolve(mixFile));
  assert.equal(b.minDurationS, 5);
  assert.deepEqual(b.goodput, { all: { ttftS: 0.5 }, byShape: { tool_call: { ttftS: 0.3 } } });
});

test('simulate --config: a bad file or field is refused naming it; --policy beside it too', () => {
  const bad = path.join(dir, 'bad.yaml');
  writeFileSync(bad, 'policy: {base: shape-aware, admission: {name: slo, params: {slack: 0}}}\n');
  const usage = (argv: string[], message: RegExp) =>
    assert.throws(() => parseSimulateArgs([...argv, '--json', path.join(dir, 's.json')]), (e: Error & { code?: string }) => e.code === 'E_USAGE' && message.test(e.message), argv.join(' '));
  usage(['--config', bad], /--config: config\.policy\.admission\.params\.slack: expected a number > 0, got 0/);
  usage(['--config', path.join(dir, 'none.yaml')], /--config: no such file/);
  usage(['--config', bad, '--policy', 'round-robin'], /--config gives the policy; it excludes --policy and --compare/);
});

test('--redis that does not answer: exit 2 with the reason, before any trial', async () => {
  const port = await new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
  const args = parsed(['--redis', `redis://127.0.0.1:${port}`, '--samples', '2', '--min-duration', '1', '--duration', '1', '--rate-scale', '1']);
  const stderr = new PassThrough();
  await assert.rejects(runTune(args, { stdout: () => {}, stderr }), (e: Error & { code?: string }) =>
    e.code === 'E_USAGE' && /--redis: cannot reach Redis at .*ECONNREFUSED/.test(e.message));
  assert.throws(() => parsed(['--redis', 'http://x']), /not a redis:\/\/ or rediss:\/\/ URL/);
});

test('tune-worker flags: --redis required, URL and queue checked', async () => {
  await assert.rejects(parseTuneWorkerArgs([]), /--redis <redis:\/\/host:port> is required/);
  await assert.rejects(parseTuneWorkerArgs(['--redis', 'localhost:6379']), /not a redis:\/\/ or rediss:\/\/ URL|is not a URL/);
  await assert.rejects(parseTuneWorkerArgs(['--redis', 'redis://h:1', '--queue', 'a:b']), /--queue: 'a:b' must be/);
  await assert.rejects(parseTuneWorkerArgs(['--redis', 'redis://h:1', '--concurrency', '0']), /--concurrency must be an integer in \[1, 256\]/);
  const ok = await parseTuneWorkerArgs(['--redis', 'redis://h:1', '--name', 'w1', '--lock-ms', '2000']);
  assert.notEqual(ok, 'help');
  if (ok !== 'help') assert.deepEqual([ok.queue, ok.name, ok.lockMs, ok.concurrency], ['nvlsched-tune', 'w1', 2000, 1]);
});

test('a tiny real search: --json as specified; --out loads for config check, serve and simulate, and reproduces the best', async () => {
  const out = path.join(dir, 'best.yaml');
  const json = path.join(dir, 'trials.json');
  const argv = ['--rate-scale', '4', '--seed', '2', '--samples', '4', '--eta', '2', '--min-duration', '2', '--duration', '4', '--out', out, '--json', json];
  let stdout = '';
  const stderr = new PassThrough();
  let progress = '';
  stderr.on('data', (d: Buffer) => (progress += d.toString()));
  assert.equal(await runTune(parsed(argv), { stdout: (t) => (stdout += t), stderr }), 0);

  const doc = JSON.parse(readFileSync(json, 'utf8')) as {
    trials: Array<{ id: string; params: Record<string, number>; metrics: { goodput_per_gpu_hour: number; goodput_rps: number } }>;
    best: { id: string; params: Record<string, number>; metrics: { goodput_per_gpu_hour: number; goodput_rps: number } };
  };
  assert.ok(doc.trials.length >= 6, `${doc.trials.length} trials`);
  assert.equal(new Set(doc.trials.map((t) => t.id)).size, doc.trials.length);
  for (const t of doc.trials) assert.ok(Object.keys(t.params).length === 10 && t.metrics.goodput_per_gpu_hour > 0, t.id);
  const finalRung = doc.trials.filter((t) => t.id.startsWith('r1-'));
  assert.equal(doc.best.metrics.goodput_per_gpu_hour, Math.max(...finalRung.map((t) => t.metrics.goodput_per_gpu_hour)));
  assert.match(stdout, /## Best trials \(rung 1, 4 simulated s each\)/);
  assert.match(stdout, /Pareto front, rung 0/);
  assert.match(stdout, /best ÷ default = \d+\.\d{3}x/);
  assert.match(progress, /\[#{24}\] \d+\/\d+ trials/);

  const text = readFileSync(out, 'utf8');
  assert.equal(loadSchedulerConfigText(text, out).policyName, 'shape-aware+custom');
  const serveView = parseServeConfig(parseYaml(text), {});
  assert.deepEqual(serveView.policy, policyFor(doc.best.params));

  // simulate --config on the same workload, seed and duration gives the best trial's goodput, to the digit.
  const simArgs = parseSimulateArgs(['--config', out, '--rate-scale', '4', '--seed', '2', '--duration', '4', '--json', path.join(dir, 'sim.json')]);
  assert.notEqual(simArgs, 'help');
  if (simArgs === 'help') return;
  await runSimulate(simArgs, await realEngines(), { stdout: () => {}, stderr: () => {} });
  const report = JSON.parse(readFileSync(path.join(dir, 'sim.json'), 'utf8')) as { policy: string; overall: { goodput_rps: number } };
  assert.equal(report.policy, 'shape-aware+custom');
  assert.equal(report.overall.goodput_rps, doc.best.metrics.goodput_rps);
});
