// The soak's report: counts (client outcomes by API and kind, the gateway's record and metrics, the batch, the
// workers' KV), the fault timeline, and the violations — as one JSON object and as a Markdown table.
import type { SoakFacts } from './checks.js';
import type { Outcome } from './outcome.js';
import type { FaultSchedule } from './schedule.js';
import type { SoakOptions } from './soak.js';
import { usedBlocks } from './worker_kv.js';

type Counts = Record<Outcome, number> & { sent: number };

export interface SoakReport {
  ok: boolean;
  seed: number;
  duration_s: number;
  workers: number;
  rate_per_s: number;
  sessions: number;
  wall_s: number;
  faults: { schedule: FaultSchedule; events: Array<{ atS: number; what: string }> };
  requests: Counts & { by_api: Record<string, Counts>; by_kind: Record<string, Counts> };
  gateway: { started: number; admitted: number; ended: Record<string, number>; rejected: number; metrics: Record<string, number>; instance_failures: number; rejoins: number; reruns: number };
  batch: { id: string; status: string; lines: number; results: number; ok_200: number; errors: number; done_at_redis_kill: number | null } | null;
  kv: Array<{ tray: number; baseline_used_blocks: number | null; settled_live_sequences: number | null; settled_used_blocks: number | null; gateway_retained_blocks: number | null; closed_used_blocks: number | null; closed_live_sequences: number | null }>;
  processes: { started: number; left_running: number };
  violations: string[];
  log_tail: string[];
}

const zero = (): Counts => ({ sent: 0, completed: 0, rejected: 0, failed: 0, cancelled: 0, open: 0 });

function add(c: Counts, o: Outcome): void {
  c.sent++;
  c[o]++;
}

export function summarize(x: { options: SoakOptions; facts: SoakFacts; timeline: SoakReport['faults']; violations: string[]; wallS: number; logTail: string[]; processesStarted: number }): SoakReport {
  const { facts: f, options: o } = x;
  const requests = { ...zero(), by_api: {} as Record<string, Counts>, by_kind: {} as Record<string, Counts> };
  for (const r of f.outcomes) {
    add(requests, r.outcome);
    add((requests.by_api[r.api] ??= zero()), r.outcome);
    add((requests.by_kind[r.kind] ??= zero()), r.outcome);
  }
  const ended: Record<string, number> = {};
  let started = 0;
  let admitted = 0;
  let rejected = 0;
  for (const e of f.tap.values()) {
    started += e.starts;
    admitted += e.admitted;
    rejected += e.rejections.length;
    for (const end of e.ends) ended[end.finishReason] = (ended[end.finishReason] ?? 0) + 1;
  }
  const num = <T>(k: T | { error: string }, read: (k: T) => number): number | null => ('error' in (k as object) ? null : read(k as T));
  const b = f.batch;
  return {
    ok: x.violations.length === 0,
    seed: o.seed,
    duration_s: o.durationS,
    workers: o.workers,
    rate_per_s: o.ratePerS,
    sessions: o.sessions,
    wall_s: Math.round(x.wallS * 10) / 10,
    faults: x.timeline,
    requests,
    gateway: { started, admitted, ended, rejected, metrics: f.metricsByOutcome, instance_failures: f.driver.failures, rejoins: f.driver.rejoins, reruns: f.driver.reruns },
    batch: b ? { id: b.id, status: b.status, lines: b.inputIds.length, results: b.results.length, ok_200: b.results.filter((r) => r.response?.status_code === 200).length, errors: b.results.filter((r) => r.response?.status_code !== 200).length, done_at_redis_kill: b.doneAtRedisKill ?? null } : null,
    kv: f.workers.map((w) => ({
      tray: w.tray,
      baseline_used_blocks: num(w.baseline, usedBlocks),
      settled_live_sequences: num(w.settled, (k) => k.liveSequences),
      settled_used_blocks: num(w.settled, usedBlocks),
      gateway_retained_blocks: w.gatewayLedger ? w.gatewayLedger.used + w.gatewayLedger.retained : null,
      closed_used_blocks: num(w.closed, usedBlocks),
      closed_live_sequences: num(w.closed, (k) => k.liveSequences),
    })),
    processes: { started: x.processesStarted, left_running: f.leftRunning.length },
    violations: x.violations,
    log_tail: x.logTail,
  };
}

const cell = (v: unknown): string => (v === null || v === undefined ? '—' : String(v));

export function soakTable(r: SoakReport): string {
  const lines: string[] = [];
  lines.push(`## Chaos soak: seed ${r.seed}, ${r.duration_s} s of load, ${r.workers} workers, ${r.rate_per_s} req/s + ${r.sessions} sessions — ${r.ok ? 'every invariant holds' : `${r.violations.length} violation(s)`}`);
  lines.push('', '| requests | sent | completed | rejected | failed | cancelled | open |', '| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  const row = (name: string, c: Counts): string => `| ${name} | ${c.sent} | ${c.completed} | ${c.rejected} | ${c.failed} | ${c.cancelled} | ${c.open} |`;
  lines.push(row('**all**', r.requests));
  for (const [k, c] of Object.entries(r.requests.by_api)) lines.push(row(`api ${k}`, c));
  for (const [k, c] of Object.entries(r.requests.by_kind)) lines.push(row(`kind ${k}`, c));
  const g = r.gateway;
  lines.push('', '| gateway | value |', '| --- | ---: |');
  lines.push(`| started / admitted / rejected | ${g.started} / ${g.admitted} / ${g.rejected} |`);
  lines.push(`| ended by finish_reason | ${Object.entries(g.ended).map(([k, n]) => `${k} ${n}`).join(', ') || '—'} |`);
  lines.push(`| nvlsched_requests_total by outcome | ${Object.entries(g.metrics).map(([k, n]) => `${k} ${n}`).join(', ') || '—'} |`);
  lines.push(`| instance failures / rejoins / re-runs | ${g.instance_failures} / ${g.rejoins} / ${g.reruns} |`);
  if (r.batch) lines.push(`| batch ${r.batch.id} | ${r.batch.status}: ${r.batch.results} results for ${r.batch.lines} lines (${r.batch.ok_200} ok, ${r.batch.errors} errors; ${cell(r.batch.done_at_redis_kill)} done when Redis was killed) |`);
  lines.push('', '| worker | KV used before | gateway idle: live seqs | KV used (held sessions) | gateway ledger | after close: KV used | live seqs |', '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const k of r.kv) lines.push(`| ${k.tray} | ${cell(k.baseline_used_blocks)} | ${cell(k.settled_live_sequences)} | ${cell(k.settled_used_blocks)} | ${cell(k.gateway_retained_blocks)} | ${cell(k.closed_used_blocks)} | ${cell(k.closed_live_sequences)} |`);
  lines.push('', '| fault timeline (s into the load) | |', '| ---: | --- |');
  for (const e of r.faults.events) lines.push(`| ${e.atS.toFixed(2)} | ${e.what} |`);
  if (r.violations.length > 0) {
    lines.push('', '### Violations');
    for (const v of r.violations.slice(0, 50)) lines.push(`- ${v}`);
    if (r.violations.length > 50) lines.push(`- … and ${r.violations.length - 50} more`);
  }
  return lines.join('\n') + '\n';
}
