// `nvlsched simulate`: flag validation (in process, and through a real child process for the exit code and the
// one-line reason), the command's outputs on a fake simulator (JSON report, --compare, --plots, --capacity), and
// end-to-end runs through the real readers and simulator.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { cancelled, record, rejected, runResult } from '../report/testing/records.js';
import { packageRoot } from '../util/paths.js';
import type { Workload } from '../workload/types.js';
import { parseSimulateArgs, runSimulate, takeGoodput, type Engines, type SimulateArgs } from './simulate.js';

const dir = mkdtempSync(path.join(tmpdir(), 'nvlsched-simulate-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const out = (name: string) => path.join(dir, name);
const TRACE = out('trace.jsonl');
writeFileSync(TRACE, '{"timestamp": 0, "input_length": 100, "output_length": 10, "hash_ids": [0]}\n');

function spawnSimulate(args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'scheduler/cli/main.ts', 'simulate', ...args],
    { cwd: packageRoot(), encoding: 'utf8', timeout: 120_000 });
}

function args(argv: string[]): SimulateArgs {
  const parsed = parseSimulateArgs(argv);
  assert.notEqual(parsed, 'help');
  return parsed as SimulateArgs;
}

test('flags: defaults, every value read, --goodput takes the pairs up to the next flag', () => {
  const a = args(['--json', out('a.json')]);
  assert.deepEqual([a.policies, a.compare, a.seed, a.strict, a.capacity, a.trace, a.mix], [['shape-aware'], false, 1, false, false, undefined, undefined]);
  const b = args(['--trace', TRACE, '--trace-format', 'mooncake', '--cluster', 'gb200-nvl72x2', '--model', 'deepseek-r1',
    '--compare', 'shape-aware, round-robin,dynamo-kv', '--rate-scale=2.5', '--duration', '60', '--seed', '42',
    '--goodput', 'ttft:500', 'tool_call.tpot:20', '--strict', '--plots', out('plots'), '--capacity', '--json', out('b.json')]);
  assert.deepEqual({ ...b, goodput: undefined }, {
    trace: TRACE, traceFormat: 'mooncake', cluster: 'gb200-nvl72x2', model: 'deepseek-r1',
    policies: ['shape-aware', 'round-robin', 'dynamo-kv'], compare: true, rateScale: 2.5, durationS: 60, seed: 42,
    goodput: undefined, strict: true, plotsDir: out('plots'), capacity: true, jsonPath: out('b.json'),
  });
  assert.deepEqual(b.goodput, { all: { ttftS: 0.5 }, byShape: { tool_call: { tpotS: 0.02 } } });
  assert.equal(args(['--sessions', '16', '--json', out('c.json')]).sessions, 16);
  assert.equal(parseSimulateArgs(['--help']), 'help');
  assert.deepEqual(takeGoodput(['--seed', '1', '--goodput', 'ttft:1', 'tpot:2', '--json', 'x']),
    { tokens: ['ttft:1', 'tpot:2'], rest: ['--seed', '1', '--json', 'x'] });
  assert.deepEqual(takeGoodput(['--goodput=ttft:1 tpot:2']).tokens, ['ttft:1 tpot:2']);
});

test('bad flags: each a usage error naming the flag', () => {
  const json = ['--json', out('x.json')];
  const cases: Array<[string[], RegExp]> = [
    [[], /--json <out.json> is required/],
    [['--json', out('missing-dir/x.json')], /--json: directory '.*missing-dir' does not exist/],
    [['--trace', out('nope.jsonl'), ...json], /--trace: no such file or directory '.*nope.jsonl'/],
    [['--mix', out('nope.yaml'), ...json], /--mix: no such file or directory/],
    [['--trace', TRACE, '--mix', TRACE, ...json], /--trace and --mix exclude each other/],
    [['--trace', TRACE, '--trace-format', 'sharegpt', ...json], /--trace-format: unknown 'sharegpt'; allowed: mooncake, azure, claude-code, servegen/],
    [['--trace-format', 'azure', ...json], /--trace-format needs --trace/],
    [['--model', 'gpt-5', ...json], /--model: unknown 'gpt-5'; allowed: .*llama-3.1-70b/],
    [['--cluster', '', ...json], /--cluster: empty/],
    [['--policy', 'fastest', ...json], /--policy: unknown policy 'fastest'; known: shape-aware, round-robin/],
    [['--compare', 'shape-aware,fastest', ...json], /--compare: unknown policy 'fastest'/],
    [['--compare', 'dynamo-kv,dynamo-kv', ...json], /--compare: a policy is listed twice/],
    [['--compare', 'dynamo-kv', ...json], /--compare needs at least two policies/],
    [['--policy', 'dynamo-kv', '--compare', 'a,b', ...json], /--policy and --compare exclude each other/],
    [['--rate-scale', '0', ...json], /--rate-scale must be > 0, got 0/],
    [['--rate-scale', 'fast', ...json], /--rate-scale must be a number, got 'fast'/],
    [['--sessions', '2.5', ...json], /--sessions must be an integer ≥ 1, got 2.5/],
    [['--sessions', '0', ...json], /--sessions must be an integer ≥ 1, got 0/],
    [['--rate-scale', '2', '--sessions', '4', ...json], /--rate-scale \(open-loop workloads\) and --sessions \(closed-loop ones\) exclude each other/],
    [['--duration', '-1', ...json], /--duration must be > 0/],
    [['--seed', '-1', ...json], /--seed must be an integer in \[0, 2\^32\), got -1/],
    [['--seed', '4294967296', ...json], /--seed must be an integer/],
    [['--goodput', ...json], /--goodput: needs at least one KEY:MS pair/],
    [['--goodput', 'ttft=500', ...json], /--goodput: bad token 'ttft=500'/],
    [['--goodput', 'ttft:5', '--goodput', 'tpot:5', ...json], /--goodput given twice/],
    [['--plots', TRACE, ...json], /--plots: '.*trace.jsonl' is a file, not a directory/],
    [['--capacity=yes', ...json], /--capacity takes no value/],
    [['--policies', 'x', ...json], /unknown flag --policies; known: --trace/],
    [['stray', ...json], /unexpected argument 'stray'/],
  ];
  for (const [argv, message] of cases) {
    assert.throws(() => parseSimulateArgs(argv), (err: Error & { code?: string }) => {
      assert.match(err.message, message);
      assert.equal(err.code, 'E_USAGE', err.message);
      return true;
    }, argv.join(' '));
  }
});

test('the CLI exits 2 with a one-line reason on bad flags (child process)', () => {
  const cases: Array<[string[], RegExp]> = [
    [['--policy', 'fastest', '--json', out('x.json')], /^nvlsched: E_USAGE: --policy: unknown policy 'fastest'; known: shape-aware, round-robin, least-loaded, sglang-cache-aware, dynamo-kv, llm-d-weighted$/],
    [['--goodput', 'ttft:500', 'tpot30', '--json', out('x.json')], /^nvlsched: E_USAGE: --goodput: bad token 'tpot30': expected KEY:MS/],
    [['--rate-scale', '-2', '--json', out('x.json')], /^nvlsched: E_USAGE: --rate-scale must be > 0, got -2$/],
  ];
  for (const [argv, message] of cases) {
    const res = spawnSimulate(argv);
    assert.equal(res.status, 2, `${argv.join(' ')}: ${res.stderr}`);
    assert.equal(res.stderr.trim().split('\n').length, 1, res.stderr);
    assert.match(res.stderr.trim(), message);
    assert.equal(res.stdout, '');
  }
  const help = spawnSimulate(['--help']);
  assert.equal(help.status, 0);
  assert.match(help.stdout, /^usage: nvlsched simulate /);
  assert.match(help.stdout, /--goodput <string>/);
});

/**
 * A fake simulator: 10 requests per run, of which round(10·(1 − 0.1·load/knee)) meet their SLO (knee 4 for
 * shape-aware, 2 for the others), so attainment ≥ 90 % up to load 1.5·knee. Of the failing ones the last is
 * rejected, the one before cancelled, the rest too slow. The open-loop load travels in the workload's name.
 */
function fakeEngines(kind: 'open' | 'closed', problems = 0): Engines & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    async loadWorkload(_args, rateScale) {
      calls.push(`load ${rateScale}`);
      const workload: Workload = kind === 'open'
        ? { kind, name: `fake@${rateScale ?? 1}`, requests: [], durationS: 10 }
        : { kind, name: 'fake-sessions', sessions: Array.from({ length: 3 }, (_, i) => ({ sessionId: `s${i}`, tenant: 't', turns: [] })) };
      return { workload, problems: Array.from({ length: problems }, (_, i) => ({ file: 'f.jsonl', line: i + 7, message: 'bad json' })) };
    },
    async simulate(_args, workload, policy, sessions, progress) {
      const load = workload.kind === 'open' ? Number(workload.name.split('@')[1]) : sessions ?? 3;
      calls.push(`simulate ${policy} ${load}`);
      progress('half way');
      const knee = policy === 'shape-aware' ? 4 : 2;
      const good = Math.round(10 * Math.max(0, 1 - (0.1 * load) / knee));
      const records = Array.from({ length: 10 }, (_, i) => i < good
        ? record({ shape: i % 2 ? 'tool_call' : 'reasoning', sessionId: `s${i % 3}`, firstTokenS: 0.1, endS: 0.26, outputTokens: 9, costUsd: 0.01 })
        : i === 9 ? rejected({ code: 'queue_full' }) : i === 8 ? cancelled() : record({ firstTokenS: 5, endS: 6 }));
      return runResult(records, { policy, simulatedS: 20, simWallS: 0.01 });
    },
  };
}

function capture() {
  const o = { stdout: '', stderr: '' };
  return { o, out: { stdout: (t: string) => { o.stdout += t; }, stderr: (t: string) => { o.stderr += t; } } };
}

test('one policy: the §6 JSON report, a Markdown table on stdout, progress on stderr', async () => {
  const { o, out: io } = capture();
  const a = args(['--trace', TRACE, '--rate-scale', '8', '--goodput', 'ttft:800', '--json', out('one.json')]);
  assert.equal(await runSimulate(a, fakeEngines('open'), io), 0);
  const report = JSON.parse(readFileSync(out('one.json'), 'utf8'));
  for (const key of ['policy', 'cluster', 'model', 'simulated_s', 'sim_wall_s', 'overall', 'by_shape']) assert.ok(key in report, key);
  assert.deepEqual(Object.keys(report.by_shape), ['tool_call', 'reasoning', 'terminal', 'chat']);
  assert.equal(report.policy, 'shape-aware');
  assert.equal(report.simulated_s, 20);
  assert.deepEqual(report.goodput_overrides_ms, { ttft: 800 });
  assert.deepEqual(report.workload, { name: 'fake@8', kind: 'open', trace_problems: 0 });
  // load 8, knee 4: 8 good, one cancelled, one rejected
  assert.equal(report.overall.requests, 10);
  assert.equal(report.overall.good, 8);
  assert.equal(report.overall.goodput_rps, 0.4);
  assert.deepEqual(report.overall.rejections_by_code, { queue_full: 1 });
  assert.equal(report.capacity, undefined);
  assert.match(o.stdout, /^\*\*shape-aware\*\* on gb200-nvl72/);
  assert.match(o.stdout, /\| \*\*overall\*\* \| 10 \| 8 \| 1 \(queue_full 1\) \| 1 \| 0.400 \| 80.0 % \|/);
  assert.match(o.stderr, /simulate: shape-aware: running\nsimulate: shape-aware: half way\nsimulate: shape-aware: 10 requests, 20.0 s simulated/);
  assert.match(o.stderr, /report written to/);
});

test('--compare: {"runs": [...]} in the order given, a table per run and the side-by-side table', async () => {
  const { o, out: io } = capture();
  const engines = fakeEngines('open');
  await runSimulate(args(['--compare', 'round-robin,shape-aware', '--rate-scale', '3', '--json', out('cmp.json')]), engines, io);
  const json = JSON.parse(readFileSync(out('cmp.json'), 'utf8'));
  assert.deepEqual(Object.keys(json), ['runs']);
  assert.deepEqual(json.runs.map((r: { policy: string }) => r.policy), ['round-robin', 'shape-aware']);
  // same workload, read once at the given rate scale, run by each policy
  assert.deepEqual(engines.calls, ['load 3', 'simulate round-robin 3', 'simulate shape-aware 3']);
  assert.match(o.stdout, /\| metric \| round-robin \| shape-aware \|/);
  assert.equal((o.stdout.match(/^\*\*/gm) ?? []).length, 2);
  assert.doesNotMatch(o.stdout, /goodput capacity/);
});

test('--capacity with --compare and --plots: capacities by bisection on the rate scale, goodput-vs-load and CDF plots', async () => {
  const { o, out: io } = capture();
  const plots = out('plots-cap');
  const engines = fakeEngines('open');
  await runSimulate(args(['--compare', 'shape-aware,round-robin', '--capacity', '--plots', plots, '--json', out('cap.json')]), engines, io);
  const json = JSON.parse(readFileSync(out('cap.json'), 'utf8'));
  type Cap = { load: string; capacity: number; first_failing: number; stop: string; probes: Array<{ load: number }> };
  const [ours, rr] = json.runs.map((r: { capacity: Cap }) => r.capacity) as [Cap, Cap];
  // passes up to 1.5 × knee: 6 for shape-aware, 3 for round-robin; bisection stops within 5 %
  assert.deepEqual([ours.load, ours.capacity, ours.first_failing, ours.stop], ['rate_scale', 6, 6.25, 'converged']);
  assert.deepEqual(ours.probes.map((p) => p.load), [1, 2, 4, 8, 6, 7, 6.5, 6.25]);
  assert.deepEqual([rr.capacity, rr.first_failing], [3, 3.125]);
  // open loop: each probe re-reads the workload at its rate scale (the readers scale arrivals); the first probe
  // is the run at the requested load, not run twice
  assert.deepEqual(engines.calls.slice(0, 4), ['load undefined', 'simulate shape-aware 1', 'load 2', 'simulate shape-aware 2']);
  assert.equal(engines.calls.filter((c) => c === 'simulate shape-aware 1').length, 1);
  assert.deepEqual(readdirSync(plots).sort(), ['goodput_vs_load.svg', 'round-robin.tpot_cdf.svg', 'round-robin.ttft_cdf.svg',
    'shape-aware.tpot_cdf.svg', 'shape-aware.ttft_cdf.svg']);
  const svg = readFileSync(path.join(plots, 'goodput_vs_load.svg'), 'utf8');
  assert.equal((svg.match(/<path class="series"/g) ?? []).length, 2);
  assert.equal((svg.match(/<circle class="marker"/g) ?? []).length, 2);
  assert.match(svg, />arrival-rate scale</);
  assert.doesNotMatch(svg, /NaN/);
  assert.match(o.stdout, /\| goodput capacity \| 6.000 x rate \(1.00x\) \| 3.000 x rate \(0.50x\) \|/);
  assert.match(o.stderr, /shape-aware: capacity probe 5: rate-scale 6 → SLO met 90.0 %/);
  assert.match(o.stderr, /round-robin: goodput capacity: rate-scale 3 \(converged\)/);
});

test('--capacity on a closed-loop workload bisects whole sessions from the workload\'s session count', async () => {
  const { o, out: io } = capture();
  const engines = fakeEngines('closed');
  await runSimulate(args(['--compare', 'shape-aware,least-loaded', '--capacity', '--plots', out('plots-closed'), '--json', out('closed.json')]), engines, io);
  const json = JSON.parse(readFileSync(out('closed.json'), 'utf8'));
  type Cap = { load: string; capacity: number; stop: string; probes: Array<{ load: number }> };
  const [ours, ll] = json.runs.map((r: { capacity: Cap }) => r.capacity) as [Cap, Cap];
  assert.deepEqual([ours.load, ours.capacity, ours.stop], ['sessions', 6, 'converged']);
  assert.deepEqual(ours.probes.map((p) => p.load), [3, 6, 12, 9, 7]);
  assert.deepEqual(ll.probes.map((p) => p.load), [3, 6, 4]);
  assert.equal(ll.capacity, 3);
  // closed loop: the workload is read once; probes change only the concurrency
  assert.equal(engines.calls.filter((c) => c.startsWith('load')).length, 1);
  assert.match(o.stdout, /\| goodput capacity \| 6.000 sessions \(1.00x\) \| 3.000 sessions \(0.50x\) \|/);
  assert.match(readFileSync(path.join(out('plots-closed'), 'goodput_vs_load.svg'), 'utf8'), />concurrent sessions</);
});

test('trace problems: reported and skipped, or fatal under --strict; the load flag must fit the workload kind', async () => {
  const { o, out: io } = capture();
  await runSimulate(args(['--json', out('p.json')]), fakeEngines('open', 3), io);
  assert.match(o.stderr, /simulate: skipped 3 bad trace line\(s\); first: f.jsonl:7: bad json/);
  assert.equal(JSON.parse(readFileSync(out('p.json'), 'utf8')).workload.trace_problems, 3);
  await assert.rejects(runSimulate(args(['--strict', '--json', out('q.json')]), fakeEngines('open', 2), io),
    /--strict: 2 bad trace line\(s\); first: f.jsonl:7: bad json/);
  assert.ok(!existsSync(out('q.json')));
  await assert.rejects(runSimulate(args(['--sessions', '4', '--json', out('q.json')]), fakeEngines('open'), io),
    /--sessions applies to closed-loop workloads; 'fake@1' is open loop \(use --rate-scale\)/);
  await assert.rejects(runSimulate(args(['--rate-scale', '2', '--json', out('q.json')]), fakeEngines('closed'), io),
    /--rate-scale applies to open-loop workloads; 'fake-sessions' is closed loop \(use --sessions\)/);
});


test('end to end: the embedded default mix, two policies, --goodput and --plots (child process)', () => {
  const plots = out('e2e-plots');
  const res = spawnSimulate(['--duration', '10', '--compare', 'shape-aware,round-robin', '--goodput', 'ttft:2000',
    '--plots', plots, '--json', out('e2e.json')]);
  assert.equal(res.status, 0, res.stderr);
  const json = JSON.parse(readFileSync(out('e2e.json'), 'utf8'));
  assert.deepEqual(json.runs.map((r: { policy: string }) => r.policy), ['shape-aware', 'round-robin']);
  for (const report of json.runs) {
    const m = report.overall;
    assert.ok(m.requests > 0);
    assert.equal(m.requests, json.runs[0].overall.requests, 'same workload for both policies');
    assert.equal(m.completed + m.rejected + m.cancelled, m.requests);
    assert.ok(report.simulated_s >= 10 && report.sim_wall_s > 0);
    assert.equal(report.cluster, 'gb200-nvl72');
    assert.deepEqual(report.goodput_overrides_ms, { ttft: 2000 });
    assert.deepEqual(report.workload, { name: 'default', kind: 'open', trace_problems: 0 });
    const byShape = Object.values(report.by_shape) as Array<{ requests: number }>;
    assert.equal(byShape.reduce((n, b) => n + b.requests, 0), m.requests);
  }
  assert.match(res.stdout, /\| metric \| shape-aware \| round-robin \|/);
  assert.deepEqual(readdirSync(plots).sort(), ['round-robin.tpot_cdf.svg', 'round-robin.ttft_cdf.svg', 'shape-aware.tpot_cdf.svg', 'shape-aware.ttft_cdf.svg']);
  assert.match(res.stderr, /simulate: shape-aware: running/);
});

test('end to end: a Mooncake trace with --capacity re-read at each rate scale; bad --cluster and --strict (child process)', () => {
  const trace = out('small.jsonl');
  writeFileSync(trace, [0, 1000, 2000, 3000].map((t, i) =>
    JSON.stringify({ timestamp: t, input_length: 2048, output_length: 16, hash_ids: [i * 10, i * 10 + 1] })).join('\n') + '\n');
  const res = spawnSimulate(['--trace', trace, '--model', 'llama-3.1-70b', '--capacity', '--seed', '3', '--json', out('small.json')]);
  assert.equal(res.status, 0, res.stderr);
  const report = JSON.parse(readFileSync(out('small.json'), 'utf8'));
  assert.equal(report.overall.requests, 4);
  assert.equal(report.seed, 3);
  // four short requests meet their SLOs at any rate: the search doubles the rate scale until its probe budget
  assert.equal(report.capacity.load, 'rate_scale');
  assert.deepEqual(report.capacity.probes.map((p: { load: number }) => p.load).slice(0, 4), [1, 2, 4, 8]);
  assert.equal(report.capacity.stop, 'probe budget');
  for (const p of report.capacity.probes) assert.equal(p.slo_attainment, 1);
  // the arrivals were compressed by each scale: goodput rises with the load
  assert.ok(report.capacity.probes[3].goodput_rps > report.capacity.probes[0].goodput_rps);

  const cluster = spawnSimulate(['--trace', trace, '--cluster', 'gb900', '--json', out('x.json')]);
  assert.equal(cluster.status, 2);
  assert.match(cluster.stderr.trim(), /^nvlsched: E_USAGE: --cluster: "gb900" is neither a preset .* nor a file$/);
  writeFileSync(out('bad.jsonl'), readFileSync(trace, 'utf8') + 'not json\n');
  const strict = spawnSimulate(['--trace', out('bad.jsonl'), '--strict', '--json', out('x.json')]);
  assert.equal(strict.status, 1);
  assert.match(strict.stderr.trim(), /bad.jsonl:5: not JSON/);
  const lenient = spawnSimulate(['--trace', out('bad.jsonl'), '--json', out('x.json')]);
  assert.equal(lenient.status, 0, lenient.stderr);
  assert.match(lenient.stderr, /simulate: skipped 1 bad trace line\(s\); first: .*bad.jsonl:5: not JSON/);
});
