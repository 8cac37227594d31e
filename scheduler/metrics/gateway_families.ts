// The gateway's metric families: names, help, labels and buckets in one place (README.md documents each, with the
// vLLM name it matches). Names use the `nvlsched_` prefix, not vLLM's `vllm:` style: `promtool check metrics` fails
// on colons in exposed names ("metric names should not contain ':'", promtool 2.42) — colons are reserved for
// recording rules. Units are base units in the name (_seconds, _bytes, _tokens, _blocks, _usd); counters end in _total.
// Families recorded per token or per step (generation tokens, ITL, steps, step histograms, preemptions, scheduling
// latency) are local_metrics.ts families: plain totals per series, handed to the registry at scrape time.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import * as B from './buckets.js';
import { LocalCounter, LocalHistogram } from './local_metrics.js';

type CollectFn = () => void;

/** Collect hooks for the pull-style families, called at scrape time (gateway_metrics.ts supplies them). */
export interface GatewayCollectHooks {
  queueDepth: CollectFn;
  running: CollectFn;
  kv: CollectFn;
  cost: CollectFn;
}

export function defineGatewayFamilies(registry: Registry, hooks: GatewayCollectHooks) {
  const registers = [registry];
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[], collect?: CollectFn) =>
    new Counter<L>({ name, help, labelNames, registers, ...(collect ? { collect } : {}) });
  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[], collect?: CollectFn) =>
    new Gauge<L>({ name, help, labelNames, registers, ...(collect ? { collect } : {}) });
  const histogram = <L extends string>(name: string, help: string, labelNames: readonly L[], buckets: number[]) =>
    new Histogram<L>({ name, help, labelNames, buckets, registers });
  const localCounter = (name: string, help: string, labelNames: readonly string[]) => new LocalCounter({ name, help, labelNames, registers });
  const localHistogram = (name: string, help: string, labelNames: readonly string[], buckets: number[]) =>
    new LocalHistogram({ name, help, labelNames, buckets, registers });
  const sp = ['shape', 'pool'] as const;
  const kvLabels = ['domain', 'worker', 'gpu', 'tier'] as const;

  return {
    // Requests.
    requests: counter('nvlsched_requests_total', 'Requests ended, by shape, pool and outcome (completed, rejected, cancelled, error).', [...sp, 'outcome']),
    rejected: counter('nvlsched_requests_rejected_total', 'Requests rejected, by shape, pool and rejection code.', [...sp, 'code']),
    sloMet: counter('nvlsched_requests_slo_met_total', 'Completed requests that met both their TTFT and TPOT targets (goodput numerator).', sp),
    reruns: counter('nvlsched_request_reruns_total', 'Requests re-run elsewhere as a continuation after their worker failed.', sp),
    ttft: histogram('nvlsched_time_to_first_token_seconds', 'Time to first token of completed requests, seconds.', sp, B.TTFT_BUCKETS_S),
    tpot: histogram('nvlsched_time_per_output_token_seconds', 'Mean time per output token after the first, per completed request, seconds.', sp, B.TPOT_BUCKETS_S),
    itl: localHistogram('nvlsched_inter_token_latency_seconds', 'Gap between successive token emissions of one request, seconds.', sp, B.ITL_BUCKETS_S),
    e2e: histogram('nvlsched_e2e_request_latency_seconds', 'Arrival to last token of completed requests, seconds.', sp, B.E2E_BUCKETS_S),
    queueTime: histogram('nvlsched_request_queue_time_seconds', 'Arrival to first scheduled step of completed requests, seconds.', sp, B.QUEUE_BUCKETS_S),
    promptTokens: counter('nvlsched_prompt_tokens_total', 'Prompt tokens of requests that ran (completed, cancelled or failed after admission).', sp),
    cachedPromptTokens: counter('nvlsched_prompt_tokens_cached_total', 'Prompt tokens of those requests found in the prefix cache (not recomputed).', sp),
    generationTokens: localCounter('nvlsched_generation_tokens_total', 'Output tokens streamed to clients.', sp),
    requestCost: counter('nvlsched_request_cost_usd_total', 'Cost of ended requests in US dollars (the scheduler cost ledger per request).', sp),

    // Queues and batches (pull-style: set from the onCollect snapshot when one is registered).
    waiting: gauge('nvlsched_num_requests_waiting', 'Requests waiting in instance queues, by shape and pool.', sp, hooks.queueDepth),
    running: gauge('nvlsched_num_requests_running', 'Requests in an instance running batch.', ['pool', 'model_instance'], hooks.running),
    steps: localCounter('nvlsched_steps_total', 'Engine steps completed, per model instance.', ['pool', 'model_instance']),
    stepDuration: localHistogram('nvlsched_step_duration_seconds', 'Duration of one engine step (as the worker reported it), seconds.', ['pool'], B.STEP_BUCKETS_S),
    stepTokens: localHistogram('nvlsched_iteration_tokens', 'Tokens in one engine step (prefill chunks + decodes).', ['pool'], B.STEP_TOKEN_BUCKETS),
    stepSequences: localHistogram('nvlsched_iteration_sequences', 'Sequences in one engine step (batch size).', ['pool'], B.STEP_SEQUENCE_BUCKETS),
    preemptions: localCounter('nvlsched_num_preemptions_total', 'Sequences preempted (recompute or swap), per model instance.', ['pool', 'model_instance']),

    // KV cache.
    kvUsed: gauge('nvlsched_kv_cache_used_blocks', 'KV blocks in use, per NVLink domain, worker (tray), GPU and tier.', kvLabels, hooks.kv),
    kvCapacity: gauge('nvlsched_kv_cache_capacity_blocks', 'KV blocks available in all, per NVLink domain, worker, GPU and tier.', kvLabels, hooks.kv),
    kvUsage: gauge('nvlsched_kv_cache_usage_ratio', 'Fraction of KV blocks in use (0 to 1), per NVLink domain, worker, GPU and tier.', kvLabels, hooks.kv),
    prefixQueries: counter('nvlsched_prefix_cache_queries_total', 'Prompt tokens looked up in the prefix cache at placement.', ['pool', 'model_instance']),
    prefixHits: counter('nvlsched_prefix_cache_hits_total', 'Prompt tokens found cached, by where: device (this instance HBM), host (Grace), neighbour (another instance in the NVLink domain).', ['pool', 'model_instance', 'tier']),
    evicted: counter('nvlsched_kv_cache_evicted_blocks_total', 'KV blocks evicted, per worker and tier.', ['worker', 'tier']),
    transfers: counter('nvlsched_kv_transfers_total', 'KV moves between tiers or GPUs, by link kind.', ['link']),
    transferBytes: counter('nvlsched_kv_transfer_bytes_total', 'Bytes of KV moved, by link kind.', ['link']),

    // Scheduler and failures.
    schedulingLatency: localHistogram('nvlsched_scheduling_latency_seconds', 'Wall time of one scheduling plugin call, seconds.', ['plugin'], B.SCHEDULING_BUCKETS_S),
    workerFailures: counter('nvlsched_worker_failures_total', 'Worker Step streams that ended or broke (the instance went unhealthy).', ['worker']),

    // Cost ledger totals (pull-style: from the onCollect snapshot's costTotals).
    costUsd: counter('nvlsched_cost_usd_total', 'Total cost in US dollars from the scheduler cost ledger (GPU time, tokens, idle KV retention).', [], hooks.cost),
    gpuSeconds: counter('nvlsched_gpu_seconds_total', 'GPU-seconds spent in engine steps (step duration x GPUs of the instance).', [], hooks.cost),
    kvByteSeconds: counter('nvlsched_kv_cache_byte_seconds_total', 'KV bytes held x seconds, idle session retention included.', [], hooks.cost),
    idleKvByteSeconds: counter('nvlsched_kv_cache_idle_byte_seconds_total', 'KV bytes x seconds held for idle sessions between turns.', [], hooks.cost),

    labelOverflow: counter('nvlsched_metrics_label_overflow_total', 'Label values folded into "other" because a label reached its distinct-value limit.', ['label']),
  };
}

export type GatewayFamilies = ReturnType<typeof defineGatewayFamilies>;
