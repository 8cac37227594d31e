// A realistic run's events for the tests: ten requests of the four shapes ending every way, token emissions, steps,
// KV usage on two NVLink domains, prefix hits, evictions, moves, plugin timings, a worker failure; and a worker's
// steps, KV and errors. Values are chosen to land on both sides of the default SLOs (architecture.md §3).
import type { GatewayMetrics, RequestEndedEvent } from './gateway_metrics.js';
import type { WorkerMetrics } from './worker_metrics.js';

export const POOL = 'llama-70b';
const base = { pool: POOL, promptTokens: 1000, outputTokens: 100, cachedPromptTokens: 0, costUsd: 0.001 };

/** Ten requests as a mixed run ends them; SLOs of architecture.md §3 decide sloMet. */
export const ENDS: RequestEndedEvent[] = [
  { ...base, shape: 'chat', outcome: 'completed', ttftS: 0.12, tpotS: 0.02, e2eS: 2.1, queueS: 0.004, cachedPromptTokens: 512, sloMet: true },
  { ...base, shape: 'chat', outcome: 'completed', ttftS: 0.4, tpotS: 0.035, e2eS: 3.9, queueS: 0.03, sloMet: true },
  { ...base, shape: 'chat', outcome: 'completed', ttftS: 0.9, tpotS: 0.06, e2eS: 6.9, queueS: 0.2, sloMet: false },
  { ...base, shape: 'tool_call', outcome: 'completed', ttftS: 0.2, tpotS: 0.01, e2eS: 0.5, outputTokens: 30, cachedPromptTokens: 960, sloMet: true },
  { ...base, shape: 'tool_call', outcome: 'completed', ttftS: 0.25, tpotS: 0.012, e2eS: 0.6, outputTokens: 1, sloMet: true },
  { ...base, shape: 'tool_call', outcome: 'rejected', rejectCode: 'E_QUEUE_FULL', costUsd: 0 },
  { ...base, shape: 'reasoning', outcome: 'completed', ttftS: 1.5, tpotS: 0.045, e2eS: 120, outputTokens: 2600, costUsd: 0.05, sloMet: true },
  { ...base, shape: 'reasoning', outcome: 'cancelled', ttftS: 0.8, outputTokens: 40 },
  { shape: 'unknown', outcome: 'rejected', rejectCode: 'E_CONTEXT_TOO_LONG', promptTokens: 200_000, outputTokens: 0, cachedPromptTokens: 0, costUsd: 0 },
  { ...base, shape: 'terminal', outcome: 'error', ttftS: 0.3, outputTokens: 12 },
];

export function recordGatewayRun(m: GatewayMetrics): void {
  for (const e of ENDS) m.requestEnded(e);
  // One chat request streaming: first emission (no gap), then 3 gaps; one reasoning stall of 1.2 s.
  m.tokensEmitted({ shape: 'chat', pool: POOL, numTokens: 1 });
  for (const gapS of [0.02, 0.03, 0.045]) m.tokensEmitted({ shape: 'chat', pool: POOL, numTokens: 1, gapS });
  m.tokensEmitted({ shape: 'reasoning', pool: POOL, numTokens: 4, gapS: 1.2 });
  m.stepCompleted({ instanceId: 'rack0/i0', pool: POOL, numTokens: 2048, numSeqs: 3, durationS: 0.045, preemptions: 0 });
  m.stepCompleted({ instanceId: 'rack0/i0', pool: POOL, numTokens: 64, numSeqs: 64, durationS: 0.019, preemptions: 2 });
  m.stepCompleted({ instanceId: 'rack0/i1', pool: POOL, numTokens: 1, numSeqs: 1, durationS: 0.011, preemptions: 0 });
  m.setRunning('rack0/i0', POOL, 61);
  m.setQueueDepth('chat', POOL, 5);
  m.setQueueDepth('reasoning', POOL, 2);
  m.setKv({ domain: 'rack0', workerId: 'tray0', gpu: 0, tier: 'device', usedBlocks: 300, totalBlocks: 1000 });
  m.setKv({ domain: 'rack0', workerId: 'tray0', gpu: 1, tier: 'device', usedBlocks: 500, totalBlocks: 1000 });
  m.setKv({ domain: 'rack0', workerId: 'tray0', tier: 'host', usedBlocks: 10, totalBlocks: 8000 });
  m.setKv({ domain: 'rack1', workerId: 'tray18', gpu: 0, tier: 'device', usedBlocks: 900, totalBlocks: 1000 });
  m.prefixLookup({ instanceId: 'rack0/i0', pool: POOL, queriedTokens: 1000, hitTokens: { device: 512, host: 128 } });
  m.prefixLookup({ instanceId: 'rack0/i0', pool: POOL, queriedTokens: 1000, hitTokens: { neighbour: 256 } });
  m.eviction({ workerId: 'tray0', tier: 'device', blocks: 40 });
  m.tierMove({ link: 'c2c', bytes: 4 * 2 ** 20 });
  m.tierMove({ link: 'c2c', bytes: 2 ** 20 });
  m.tierMove({ link: 'nvlink', bytes: 8 * 2 ** 20 });
  m.schedulingLatency('prefix-affinity', 0.000012);
  m.schedulingLatency('prefix-affinity', 0.00003);
  m.schedulingLatency('shape-classifier', 0.000002);
  m.workerFailure('tray3');
  m.rerun({ shape: 'chat', pool: POOL });
}

export function recordWorkerRun(w: WorkerMetrics): void {
  // A prefill-heavy step, then two decode steps of 64 sequences (GB200 TP4 decode ~13-20 ms, worker/README.md).
  w.stepCompleted({ numTokens: 8192, numSeqs: 4, durationS: 0.31 });
  w.stepCompleted({ numTokens: 64, numSeqs: 64, durationS: 0.0134 });
  w.stepCompleted({ numTokens: 64, numSeqs: 64, durationS: 0.0185 });
  w.setLiveSequences(64);
  for (let gpu = 0; gpu < 4; gpu++) w.setKv({ gpu, tier: 'device', usedBlocks: 100 * (gpu + 1), totalBlocks: 4000 });
  w.setKv({ tier: 'host', usedBlocks: 0, totalBlocks: 30_000 });
  w.kvEvents({ stored: 130, removed: 2 });
  w.kvEvents({ stored: 64, moved: 1 });
  w.error('E_OUT_OF_BLOCKS');
  w.error('E_OUT_OF_BLOCKS');
  w.error('E_DRAINING');
}
