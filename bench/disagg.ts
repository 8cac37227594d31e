// `nvlsched bench disagg [--quick] [--scenario all|migration|traces|mooncake] [--json] [--markdown <file>]`: issue 10's evaluation — aggregated vs
// always-disaggregated vs Dynamo's conditional disaggregation vs our shape-aware choice, each with and without live
// migration, in the simulator, on the embedded default mix and the shared traces (skipped, said so, when absent);
// Mooncake also on a GB200 NVL72 rack with prefill instances at TP4 and decode ones at TP1, and all at TP1.
// Per scenario and config: goodput capacity (architecture §3: the highest load scale at which SLO attainment stays
// ≥ 90 %, by bisection, scheduler/report/capacity.ts) and, at one common load (the lowest capacity of all configs,
// so every config is measured where it still holds its SLOs), tool-call p99 TTFT, TPOT p99, hand-offs and migration
// pauses. The migration scenario (reasoning bursts on a small KV budget, where moving decodes can matter) adds TTFT/TPOT
// p99 per shape, preemptions, bytes moved and pause p50/p99. Prints a Markdown table and one JSON line.
import { writeFileSync } from 'node:fs';
import path from 'node:path';

import { parseFlags } from '../scheduler/cli/args.js';
import { findCapacity } from '../scheduler/report/capacity.js';
import { sharedDir } from '../scheduler/util/paths.js';
import { disaggConfigs, disaggScenarios, runConfig, SCENARIO_CHOICES, splitOf, type DisaggPoint, type DisaggScenario, type RunSetup } from './disagg_configs.js';

interface Row {
  scenario: string;
  /** Where the scenario's own cluster or split differs from the run's: the rack and split it ran on. */
  cluster?: string;
  split?: DisaggScenario['split'];
  config: string;
  capacity: number | null;
  probes: number;
  at_load: number | null;
  point: DisaggPoint | null;
}

const fmt = (x: number | null | undefined, digits = 3) => (x === null || x === undefined ? '—' : x.toFixed(digits));
const ms = (x: number | null | undefined, digits = 1) => fmt(x === null || x === undefined ? null : x * 1000, digits);

/** `prefill 8 × TP4, decode 40 × TP1` (the rest mixed) for a scenario with its own split. */
function splitText(s: NonNullable<DisaggScenario['split']>): string {
  const tp = s.tensorParallel;
  const of = (role: 'prefill' | 'decode') => (tp === undefined ? '' : ` × TP${typeof tp === 'number' ? tp : (tp[role] ?? 'default')}`);
  return `prefill ${s.roles.prefill}${of('prefill')}, decode ${s.roles.decode}${of('decode')} per domain`;
}

/** The per-shape and migration columns (every scenario's JSON has them; the Markdown shows them where moves can matter). */
function migrationTable(rs: readonly Row[]): string[] {
  const shapes = [...new Set(rs.flatMap((r) => Object.keys(r.point?.by_shape ?? {})))];
  const out = [`| config | ${shapes.map((s) => `${s} TTFT p99 s | ${s} TPOT p99 ms`).join(' | ')} | preemptions | migrations | GB moved | pause p50 / p99 µs | token gap p50 / p99 ms |`,
    `| --- | ${shapes.map(() => '---: | ---:').join(' | ')} | ---: | ---: | ---: | ---: | ---: |`];
  for (const r of rs) {
    const p = r.point;
    const cells = shapes.map((s) => `${fmt(p?.by_shape[s]?.ttft_p99_s, 3)} | ${ms(p?.by_shape[s]?.tpot_p99_s)}`);
    const gb = p ? fmt(p.migration_bytes / 1e9, 1) : '—';
    out.push(`| ${r.config} | ${cells.join(' | ')} | ${p?.preemptions ?? '—'} | ${p?.migrations ?? '—'} | ${gb} | ${fmt(p?.migration_pause_p50_s != null ? p.migration_pause_p50_s * 1e6 : null, 0)} / ${fmt(p?.migration_pause_p99_s != null ? p.migration_pause_p99_s * 1e6 : null, 0)} | ${ms(p?.migration_gap_p50_s)} / ${ms(p?.migration_gap_p99_s)} |`);
  }
  return out;
}

function markdown(rows: readonly Row[], setup: RunSetup, command: string): string {
  const out = ['# Disaggregation and migration (issue 10)', '',
    `Command: \`${command}\`. ${setup.model} on ${setup.cluster}, roles prefill ${setup.roles.prefill} / decode ${setup.roles.decode} ` +
    '(the rest mixed; `aggregated` ignores the roles), policy shape-aware with only the disaggregation and migration slots varied, seed ' +
    `${setup.seed}. Capacity = highest load scale with ≥ 90 % SLO attainment; the latency columns are at the scenario's common load. ` +
    'The reasoning-bursts scenario gives every instance a 64K-token KV budget (bench/disagg_configs.ts).', ''];
  for (const scenario of [...new Set(rows.map((r) => r.scenario))]) {
    const rs = rows.filter((r) => r.scenario === scenario);
    const load = rs[0]?.at_load ?? null;
    const own = rs[0]?.split ? [`On ${rs[0].cluster ?? setup.cluster}: ${splitText(rs[0].split)} (the rest mixed).`, ''] : [];
    out.push(`## ${scenario}`, '', ...own, `| config | capacity (x rate) | goodput req/s @${fmt(load, 2)} | tool_call TTFT p99 s | TPOT p99 ms | disaggregated | migrations | pause p99 ms |`,
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const r of rs) {
      const p = r.point;
      out.push(`| ${r.config} | ${fmt(r.capacity, 3)} | ${fmt(p?.goodput_rps)} | ${fmt(p?.tool_call_ttft_p99_s, 3)} | ${fmt(p?.tpot_p99_s !== null && p?.tpot_p99_s !== undefined ? p.tpot_p99_s * 1000 : null, 1)} | ${p?.disaggregated ?? '—'} | ${p?.migrations ?? '—'} | ${fmt(p?.migration_pause_p99_s != null ? p.migration_pause_p99_s * 1000 : null, 3)} |`);
    }
    out.push('');
    if (rs.some((r) => (r.point?.migrations ?? 0) > 0 || (r.point?.preemptions ?? 0) > 0)) out.push(...migrationTable(rs), '');
  }
  return out.join('\n');
}

export async function run(argv: string[]): Promise<number> {
  const { flags } = parseFlags(argv, {
    quick: { type: 'boolean', help: 'the default mix only, 60 s simulated, fewer probes' },
    json: { type: 'boolean', help: 'only the JSON line' },
    markdown: { type: 'string', help: 'write the Markdown table to this file' },
    cluster: { type: 'string', help: 'cluster preset (default hgx-b200x8)' },
    model: { type: 'string', help: 'model (default llama-3.1-70b)' },
    prefill: { type: 'number', help: 'prefill instances per domain (default 2)' },
    decode: { type: 'number', help: 'decode instances per domain (default 4; the rest mixed)' },
    seed: { type: 'number', help: 'seed (default 1)' },
    scenario: { type: 'string', help: 'all (default), migration (reasoning bursts on a 64K-token KV budget, migration off/on, alone), traces (without it) or mooncake (the Mooncake trace: on --cluster, and on an NVL72 rack with TP4 prefill and all TP1)' },
  });
  const scenario = (flags.scenario as string | undefined) ?? 'all';
  if (!(SCENARIO_CHOICES as readonly string[]).includes(scenario)) {
    process.stderr.write(`bench disagg: --scenario: expected one of ${SCENARIO_CHOICES.join(', ')}, got ${JSON.stringify(scenario)}\n`);
    return 2;
  }
  const quick = Boolean(flags.quick);
  const setup: RunSetup = {
    cluster: (flags.cluster as string | undefined) ?? 'hgx-b200x8',
    model: (flags.model as string | undefined) ?? 'llama-3.1-70b',
    roles: { prefill: (flags.prefill as number | undefined) ?? 2, decode: (flags.decode as number | undefined) ?? 4 },
    seed: (flags.seed as number | undefined) ?? 1,
  };
  const log = (line: string) => { if (!flags.json) process.stderr.write(line + '\n'); };
  const shared = sharedDir();
  if (!shared) log('bench disagg: ../shared/data/traces not present — the trace scenarios are skipped (default mix only)');
  const scenarios = disaggScenarios(shared ? path.join(shared, 'data', 'traces') : null, quick, scenario as (typeof SCENARIO_CHOICES)[number]);
  const allConfigs = disaggConfigs();
  const rows: Row[] = [];
  const startMs = performance.now();
  for (const s of scenarios) {
    const configs = s.configs ? allConfigs.filter((c) => s.configs?.includes(c.name)) : allConfigs;
    const caps: Row[] = [];
    for (const c of configs) {
      const result = await findCapacity({
        startLoad: s.startLoad,
        minLoad: s.startLoad / 64,
        maxProbes: quick ? 6 : 9,
        relTolerance: quick ? 0.1 : 0.05,
        evaluate: async (load) => runConfig(s, c, load, setup),
      });
      log(`disagg: ${s.name} ${c.name}: capacity ${fmt(result.capacity)} (${result.probes.length} probes)`);
      const own = s.split || s.cluster ? { cluster: s.cluster ?? setup.cluster, split: splitOf(s, setup) } : {};
      caps.push({ scenario: s.name, ...own, config: c.name, capacity: result.capacity, probes: result.probes.length, at_load: null, point: null });
    }
    const known = caps.map((r) => r.capacity).filter((x): x is number => x !== null);
    const common = known.length ? Math.min(...known) : s.startLoad / 64;
    for (const [i, c] of configs.entries()) {
      const row = caps[i] as Row;
      row.at_load = common;
      row.point = runConfig(s, c, common, setup);
    }
    rows.push(...caps);
  }
  const wallS = (performance.now() - startMs) / 1000;
  const md = markdown(rows, setup, `npx nvlsched bench disagg ${argv.join(' ')}`.trim()) + `\nWall time ${wallS.toFixed(0)} s.\n`;
  if (flags.markdown) writeFileSync(String(flags.markdown), md);
  if (!flags.json) process.stdout.write(md);
  process.stdout.write(JSON.stringify({ bench: 'disagg', setup, wall_s: Number(wallS.toFixed(1)), rows }) + '\n');
  return 0;
}
