// The tenant-fairness property in virtual time, at a small size: one tenant floods tool calls at ~3x capacity; the
// quiet tenant's p99 TTFT stays within its SLO on every shape with fair share on, and does not without.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { parseSimulateArgs } from '../scheduler/cli/simulate.js';
import { fairnessTable, parseFairnessArgs, quietMeetsSlo } from './fairness.js';
import { FAIRNESS_DEFAULTS, FLOOD, QUIET, runFairness } from './fairness_setup.js';

test('a flooding tenant does not push the quiet tenant past its p99 TTFT SLO with fair share, and does without', () => {
  const runs = runFairness({ ...FAIRNESS_DEFAULTS, durationS: 8, policies: ['shape-aware', 'round-robin'] });
  assert.deepEqual(runs.map((r) => r.variant), ['shape-aware, quiet alone', 'shape-aware', 'shape-aware + fair share', 'round-robin', 'round-robin + fair share']);
  const byVariant = new Map(runs.map((r) => [r.variant, r]));
  for (const variant of ['shape-aware, quiet alone', 'shape-aware + fair share', 'round-robin + fair share']) {
    const r = byVariant.get(variant);
    assert.ok(r && quietMeetsSlo(r), `${variant}: quiet tenant within its SLO: ${JSON.stringify(r?.tenants[QUIET])}`);
  }
  for (const variant of ['shape-aware', 'round-robin']) {
    const r = byVariant.get(variant);
    assert.ok(r && !quietMeetsSlo(r), `${variant} without fair share: the flood pushes the quiet tenant past its SLO`);
  }
  const fair = byVariant.get('round-robin + fair share');
  const quiet = fair?.tenants[QUIET];
  assert.ok(quiet?.tool_call && quiet.chat && quiet.tool_call.completed > 5 && quiet.chat.completed > 5, 'enough quiet requests to judge');
  // The flood is really past capacity: its own TTFT is far over the SLO even with fair share (it is the one waiting).
  assert.equal(fair?.tenants[FLOOD]?.tool_call?.p99_meets_slo, false);
  // Cost per tenant: both were charged, the flood far more.
  const cost = (t: string) => fair?.tenants[t]?.all?.cost_usd ?? 0;
  assert.ok(cost(QUIET) > 0 && cost(FLOOD) > 10 * cost(QUIET), `cost quiet ${cost(QUIET)}, flood ${cost(FLOOD)}`);
  const md = fairnessTable(runs);
  assert.match(md, /\| round-robin \+ fair share \| quiet \| tool_call \| \d+ \(0\) \| \d+ \/ \d+ \| 500 \| yes \|/);
  assert.match(md, /- round-robin: the quiet tenant \*\*misses\*\* its TTFT SLO/);
});

test('bench fairness flags: defaults, and bad values name the flag', () => {
  const { options, json } = parseFairnessArgs(['--duration', '5', '--policy', 'dynamo-kv', '--json']);
  assert.equal(json, true);
  assert.deepEqual([options.durationS, options.policies, options.floodRatePerS], [5, ['dynamo-kv'], FAIRNESS_DEFAULTS.floodRatePerS]);
  const usage = (argv: string[], message: RegExp) => assert.throws(() => parseFairnessArgs(argv), (e: Error & { code?: string }) => e.code === 'E_USAGE' && message.test(e.message), argv.join(' '));
  usage(['--duration', '0'], /--duration must be in \(0, 3600\]/);
  usage(['--policy', 'fifo'], /--policy: unknown 'fifo'/);
  usage(['--flood-rate', '-1'], /--flood-rate must be in \[0, 100000\]/);
  usage(['--tensor-parallel', '1.5'], /--tensor-parallel must be an integer ≥ 1/);
  usage(['--colour'], /unknown flag --colour/);
});

test('simulate --config passes a tenants section through (and prints the per-tenant table); bad tenants name the field', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'fair-'));
  const good = path.join(dir, 'tenants.yaml');
  writeFileSync(good, 'policy: round-robin\ntenants:\n  quiet: {weight: 2}\n  flood: {priorityBand: low}\n');
  const args = parseSimulateArgs(['--config', good, '--json', path.join(dir, 'out.json')]);
  assert.notEqual(args, 'help');
  if (args === 'help') return;
  assert.equal(args.config?.tenants?.byName.get('quiet')?.weight, 2);
  assert.equal(args.config?.tenants?.byName.get('flood')?.priorityBand, 'low');
  assert.equal(args.byTenant, true);
  const plain = parseSimulateArgs(['--policy', 'round-robin', '--json', path.join(dir, 'out.json')]);
  assert.ok(plain !== 'help' && plain.config === undefined && plain.byTenant === undefined);
  const bad = path.join(dir, 'bad.yaml');
  writeFileSync(bad, 'tenants:\n  quiet: {weight: -1}\n');
  assert.throws(() => parseSimulateArgs(['--config', bad, '--json', path.join(dir, 'out.json')]), /--config: config\.tenants\.quiet\.weight: expected a number > 0/);
});
