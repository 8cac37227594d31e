// Histogram bucket edges (seconds, tokens) for LLM serving. Edges sit on the default SLOs of architecture.md §3
// (TTFT 0.5 / 1 / 2 s, TPOT 30 / 40 / 50 ms) so that histogram_quantile and "share under the SLO" are exact there,
// and are denser where those targets live than at the tails.

/** Time to first token: 10 ms to 60 s. */
export const TTFT_BUCKETS_S = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 7.5, 10, 20, 30, 60];

/** Mean time per output token of a request: 5 ms to 1 s. */
export const TPOT_BUCKETS_S = [0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1];

/** One gap between token emissions: as TPOT, plus stalls (preemption, failover) up to 5 s. */
export const ITL_BUCKETS_S = [...TPOT_BUCKETS_S, 2.5, 5];

/** End to end: 100 ms to 20 min (a 12K-token reasoning answer at 50 ms/token is 10 min). */
export const E2E_BUCKETS_S = [0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200];

/** Arrival to first step: 1 ms to 60 s. */
export const QUEUE_BUCKETS_S = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** One engine step (a batch's forward pass): 1 ms to 2.5 s. */
export const STEP_BUCKETS_S = [0.001, 0.0025, 0.005, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5];

/** Tokens in one step (decodes + prefill chunks): 1 to 16K (a step's token budget). */
export const STEP_TOKEN_BUCKETS = [1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384];

/** Sequences in one step (the batch size). */
export const STEP_SEQUENCE_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

/** One scheduling plugin call: 1 µs to 50 ms (the whole planStep + completeStep is ~15-35 µs, worker/README.md). */
export const SCHEDULING_BUCKETS_S = [1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 0.01, 0.05];
