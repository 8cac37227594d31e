// A live run → the same report as `simulate` (buildReport over the records), marked `"mode": "live"`, plus what only
// a live run has: how every sent request ended (failures by gRPC status), how late the client sent, and the
// gateway's own view of TTFT / E2E beside the client's. runTable prints it, with a heading that says it was live.
import { NO_OVERRIDES, type SloOverrides } from '../report/goodput.js';
import { runTable } from '../report/markdown.js';
import { buildReport, type SimulateReport } from '../report/metrics.js';
import { percentileSorted, sig, sortedCopy } from '../report/stats.js';
import type { Workload } from '../workload/types.js';
import type { LiveRunResult } from './loadgen.js';

export interface LiveSection {
  target: string;
  sent: number;
  completed: number;
  rejected: number;
  cancelled: number;
  failed: number;
  drain_cancelled: number;
  /** Failed requests by gRPC status (or FINISH_ERROR for a final message with finish_reason "error"). */
  failures_by_status: Record<string, number>;
  duration_s: number;
  drain_s: number;
  wall_s: number;
  max_send_lag_s: number;
  /** The gateway's timings of completed requests (its clock; the report's percentiles are the client's). */
  server_ttft_p50_s: number | null;
  server_ttft_p99_s: number | null;
  server_e2e_p50_s: number | null;
  server_e2e_p99_s: number | null;
}

export type LiveReport = SimulateReport & {
  mode: 'live';
  workload: { name: string; kind: Workload['kind'] };
  live: LiveSection;
};

function p(values: number[], q: number): number | null {
  return sig(percentileSorted(sortedCopy(values), q));
}

export function buildLiveReport(result: LiveRunResult, o: { target: string; workload: Workload; overrides?: SloOverrides }): LiveReport {
  const base = buildReport(result.run, o.overrides ?? NO_OVERRIDES);
  const failures: Record<string, number> = {};
  const ttfts: number[] = [];
  const e2es: number[] = [];
  for (const r of result.records) {
    if (r.outcome === 'failed') {
      const key = r.grpcStatus ?? (r.finishReason === 'error' ? 'FINISH_ERROR' : 'OTHER');
      failures[key] = (failures[key] ?? 0) + 1;
    }
    if (r.outcome === 'completed' && r.server) {
      ttfts.push(r.server.ttftS);
      e2es.push(r.server.e2eS);
    }
  }
  const s = result.stats;
  return {
    mode: 'live',
    ...base,
    workload: { name: o.workload.name, kind: o.workload.kind },
    live: {
      target: o.target,
      sent: s.sent, completed: s.completed, rejected: s.rejected, cancelled: s.cancelled, failed: s.failed,
      drain_cancelled: s.drainCancelled,
      failures_by_status: failures,
      duration_s: s.durationS, drain_s: s.drainS, wall_s: sig(s.wallS) as number, max_send_lag_s: sig(s.maxSendLagS) as number,
      server_ttft_p50_s: p(ttfts, 50), server_ttft_p99_s: p(ttfts, 99),
      server_e2e_p50_s: p(e2es, 50), server_e2e_p99_s: p(e2es, 99),
    },
  };
}

/** runTable with the heading of a live run (runTable's own heading speaks of simulated time). */
export function liveTable(report: LiveReport): string {
  const table = runTable(report);
  const body = table.slice(table.indexOf('\n\n'));
  const l = report.live;
  const heading = `**${report.policy}** on ${report.cluster} (${report.gpus} GPUs), ${report.model}, live at ${l.target}: ` +
    `${l.sent} requests sent over ${report.simulated_s.toFixed(1)} s (wall ${l.wall_s.toFixed(1)} s); ` +
    `${l.completed} completed, ${l.rejected} rejected, ${l.cancelled} cancelled, ${l.failed} failed`;
  return heading + body;
}
