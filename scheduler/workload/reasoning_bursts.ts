// A KV-bound mix for the live-migration evaluation (issue 10, `nvlsched bench disagg --scenario migration`): bursts
// of long-output reasoning requests (gamma arrivals, cv 3) over a steady chat stream. Placement sees a reasoning
// request's prompt and its predicted output, not the output it will really write, so the decodes that run long pile
// their KV onto whichever instances took them while others hold short chats: the imbalance Llumnix migrates away
// (Sun et al., OSDI'24). Outputs: p50 3K, p99 ~30K tokens (lognormal sigma 1.0), as in the default mix's reasoning
// shape but four times longer at the median. Used with a small KV budget per instance (disagg_configs.ts).
import { readMix, type MixOptions } from './mix.js';
import type { OpenLoopWorkload } from './types.js';

export const REASONING_BURSTS_YAML = `# Reasoning bursts over chat: 1 req/s reasoning + 1 req/s chat at rateScale 1.
name: reasoning-bursts
durationS: 60
shapes:
  reasoning:
    arrival: { process: gamma, ratePerS: 1, cv: 3 }          # bursts
    tenants: 2
    uniqueTokens: { dist: lognormal, median: 2000, sigma: 0.8, max: 32000 }
    outputTokens: { dist: lognormal, median: 3000, sigma: 1.0, max: 32768 }
    maxOutputTokens: 32768
    reasoningEffort: high
  chat:
    arrival: { process: poisson, ratePerS: 1 }
    tenants: 8
    prefix: { sharedTokens: 1000, variants: 8 }
    uniqueTokens: { dist: lognormal, median: 600, sigma: 1.0, max: 16000 }
    outputTokens: { dist: lognormal, median: 250, sigma: 0.8, max: 4096 }
    maxOutputTokens: 4096
`;

/** The reasoning-bursts mix sampled with these options (seed 1 unless given). */
export function reasoningBurstsMix(opts: MixOptions = {}): OpenLoopWorkload {
  return readMix(REASONING_BURSTS_YAML, 'reasoningBurstsMix', opts);
}
