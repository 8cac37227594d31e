// Prometheus metrics of batch jobs, registered on the gateway's registry (its GatewayMetrics.registry):
//   nvlsched_batch_lines_total{outcome}            lines ended in this gateway's drainer: completed, failed (a result
//                                                  either way), retried (run again: load, a gateway cancel), dropped
//                                                  (the drainer stopped or the batch was cancelled: no result here)
//   nvlsched_batch_line_latency_seconds{outcome}   a line's run from its submit to its result (completed, failed)
//   nvlsched_batch_lines_in_flight                 this drainer's lines live in the gateway now
//   nvlsched_batch_jobs{status}                    batches in Redis by status (the newest maxBatches of the queue)
//   nvlsched_batch_lines_pending                   lines without a result in those batches (all drainers' work left)
//   nvlsched_batch_stats_errors_total              scrapes whose Redis read failed (the gauges keep their last values)
// The first three are this gateway's; the Redis-wide ones are the same on every gateway of a queue (sum the counters,
// not those). The Redis read is done at scrape time at most every refreshMs, with a client that fails at once when
// Redis is away, so a scrape never waits on an outage.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Redis } from 'ioredis';

import { E2E_BUCKETS_S } from '../metrics/buckets.js';
import type { LineEnd } from './line_run.js';
import { BATCH_QUEUE } from './queue.js';
import { failFastClient } from './redis_conn.js';
import { BatchStore, statusOf, type BatchStatus } from './store.js';

export const BATCH_LINE_OUTCOMES = ['completed', 'failed', 'retried', 'dropped'] as const;
export const BATCH_STATUSES: readonly BatchStatus[] = ['validating', 'in_progress', 'completed', 'cancelled', 'failed'];

export interface BatchCounts {
  jobs: Record<BatchStatus, number>;
  pendingLines: number;
}

export interface BatchMetricsOptions {
  registry: Registry;
  /** Where the Redis-wide gauges are read: the drainers' Redis and queue (default nvlsched-batch). */
  redisUrl?: string;
  queue?: string;
  /** Instead of redisUrl (tests): reads the counts. */
  counts?: () => Promise<BatchCounts>;
  /** Batches read per refresh, newest first (older ones are counted as they were last seen: not at all). */
  maxBatches?: number;
  refreshMs?: number;
  /** This gateway's drainer (its stats().inFlight), when it has one. */
  inFlight?: () => number;
  nowMs?: () => number;
}

/** The batches of a store (the newest `maxBatches`) counted by status, and their lines without a result. */
export async function countBatches(store: BatchStore, maxBatches: number): Promise<BatchCounts> {
  const jobs = Object.fromEntries(BATCH_STATUSES.map((s) => [s, 0])) as Record<BatchStatus, number>;
  let pendingLines = 0;
  for (const m of await store.list(maxBatches)) {
    const s = statusOf(m);
    jobs[s]++;
    if (s === 'in_progress' || s === 'validating') pendingLines += Math.max(0, m.total - m.completed - m.failed - m.cancelled);
  }
  return { jobs, pendingLines };
}

export class BatchMetrics {
  private readonly lines: Counter<'outcome'>;
  private readonly latency: Histogram<'outcome'>;
  private readonly errors: Counter;
  private last: BatchCounts | null = null;
  private lastReadMs = -Infinity;
  private reading: Promise<void> | null = null;
  private readonly client: Redis | null;
  private readonly read: () => Promise<BatchCounts>;
  private readonly refreshMs: number;
  private readonly nowMs: () => number;

  constructor(o: BatchMetricsOptions) {
    const registers = [o.registry];
    this.refreshMs = o.refreshMs ?? 5000;
    this.nowMs = o.nowMs ?? Date.now;
    const maxBatches = o.maxBatches ?? 1000;
    if (o.counts) {
      this.client = null;
      this.read = o.counts;
    } else if (o.redisUrl !== undefined) {
      const client = failFastClient(o.redisUrl, 2000);
      // Failures are counted per scrape (stats_errors_total); the client's own error events would repeat them.
      client.on('error', () => {});
      this.client = client;
      const store = new BatchStore(client, o.queue ?? BATCH_QUEUE);
      this.read = async () => {
        if (client.status === 'wait' || client.status === 'end' || client.status === 'close') await client.connect().catch(() => {});
        return countBatches(store, maxBatches);
      };
    } else {
      this.client = null;
      this.read = async () => ({ jobs: Object.fromEntries(BATCH_STATUSES.map((s) => [s, 0])) as Record<BatchStatus, number>, pendingLines: 0 });
    }
    this.lines = new Counter({ name: 'nvlsched_batch_lines_total', help: 'Batch lines ended in this gateway\'s drainer, by outcome: completed, failed (a result either way), retried (run again), dropped (stopped or cancelled: no result here).', labelNames: ['outcome'] as const, registers });
    for (const outcome of BATCH_LINE_OUTCOMES) this.lines.inc({ outcome }, 0);
    this.latency = new Histogram({ name: 'nvlsched_batch_line_latency_seconds', help: 'A batch line\'s run from its submit to the gateway to its result, by outcome (completed, failed).', labelNames: ['outcome'] as const, buckets: E2E_BUCKETS_S, registers });
    const self = this;
    this.errors = new Counter({
      name: 'nvlsched_batch_stats_errors_total', help: 'Scrapes whose read of the batches in Redis failed (the Redis-wide gauges keep their last values).', registers,
      // The read happens during the scrape: wait for it, so this scrape already counts its failure.
      async collect() {
        await self.refresh();
      },
    });
    new Gauge({
      name: 'nvlsched_batch_jobs', help: 'Batches in Redis by status (the newest of the queue; the same on every gateway of it).', labelNames: ['status'] as const, registers,
      async collect() {
        await self.refresh();
        for (const s of BATCH_STATUSES) this.set({ status: s }, self.last?.jobs[s] ?? 0);
      },
    });
    new Gauge({
      name: 'nvlsched_batch_lines_pending', help: 'Lines without a result in unfinished batches in Redis (all drainers\' work left).', registers,
      async collect() {
        await self.refresh();
        this.set(self.last?.pendingLines ?? 0);
      },
    });
    new Gauge({
      name: 'nvlsched_batch_lines_in_flight', help: 'This gateway\'s batch lines live now (submitted, not ended).', registers,
      collect() {
        this.set(o.inFlight?.() ?? 0);
      },
    });
  }

  /** Every line end of the drainer (its onLineEnd). */
  lineEnded(e: LineEnd): void {
    const outcome = e.outcome === 'result' ? (e.field ?? 'completed') : e.outcome === 'retry' ? 'retried' : 'dropped';
    this.lines.inc({ outcome });
    if (e.outcome === 'result') this.latency.observe({ outcome }, Math.max(0, e.endS - e.arrivalS));
  }

  /** Reads Redis unless the last read is fresher than refreshMs; one read at a time (both gauges share it). */
  private refresh(): Promise<void> {
    if (this.nowMs() - this.lastReadMs < this.refreshMs) return Promise.resolve();
    this.reading ??= this.read().then(
      (c) => {
        this.last = c;
        this.lastReadMs = this.nowMs();
      },
      () => {
        this.errors.inc();
        this.lastReadMs = this.nowMs();
      },
    ).finally(() => (this.reading = null));
    return this.reading;
  }

  close(): void {
    this.client?.disconnect();
  }
}
