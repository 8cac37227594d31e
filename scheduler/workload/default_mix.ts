// The embedded default mix (`npm start`, tests, `simulate` without --trace): all four shapes in one short run.
// A TypeScript constant rather than a .yaml file so that it ships inside dist/ unchanged.
import { readMix, type MixOptions } from './mix.js';
import type { OpenLoopWorkload } from './types.js';

export const DEFAULT_MIX_YAML = `# Default mixed-shape workload: 120 simulated seconds, ~1,000 requests at rateScale 1.
name: default
durationS: 120
shapes:
  tool_call:            # stateless agent steps: long shared system + tool prefix, short answers (architecture §3)
    arrival: { process: gamma, ratePerS: 4, cv: 2 }         # bursty
    tenants: 4
    prefix: { sharedTokens: 12000, variants: 2 }
    uniqueTokens: { dist: lognormal, median: 1500, sigma: 0.8, max: 30000 }
    outputTokens: { dist: lognormal, median: 80, sigma: 0.7, max: 1024 }
    maxOutputTokens: 1024
    hasTools: true
    toolResultsShare: 0.8
  reasoning:            # long decodes: p50 ~800, p99 ~12K output tokens (architecture §3)
    arrival: { process: poisson, ratePerS: 0.4 }
    tenants: 2
    uniqueTokens: { dist: lognormal, median: 1200, sigma: 1.0, max: 32000 }
    outputTokens: { dist: lognormal, median: 800, sigma: 1.16, max: 32768 }
    maxOutputTokens: 32768
    reasoningEffort: high
  chat:
    arrival: { process: poisson, ratePerS: 2 }
    tenants: 8
    prefix: { sharedTokens: 1000, variants: 8 }
    uniqueTokens: { dist: lognormal, median: 600, sigma: 1.0, max: 16000 }
    outputTokens: { dist: lognormal, median: 250, sigma: 0.8, max: 4096 }
    maxOutputTokens: 4096
  terminal:             # coding-agent sessions: growing context, user turns and tool-result turns
    arrival: { process: poisson, ratePerS: 0.4 }            # session starts
    tenants: 4
    prefix: { sharedTokens: 15000, variants: 1 }            # tools + system prompt, as in the Claude Code traces
    uniqueTokens: { dist: lognormal, median: 2000, sigma: 0.8, max: 50000 }
    outputTokens: { dist: lognormal, median: 200, sigma: 1.0, max: 8000 }
    maxOutputTokens: 32000
    hasTools: true
    session:
      turns: { dist: uniform, min: 4, max: 24 }
      thinkTimeS: { dist: lognormal, median: 10, sigma: 1.0, max: 600 }
      toolTurnShare: 0.75
      toolThinkTimeS: { dist: lognormal, median: 2, sigma: 0.6, max: 60 }
      turnTokens: { dist: lognormal, median: 1200, sigma: 1.0, max: 40000 }
      maxContextTokens: 200000
      assumedTpotS: 0.03
`;

/** The default mix sampled with these options (seed 1, 64-token blocks unless given). */
export function defaultMix(opts: MixOptions = {}): OpenLoopWorkload {
  return readMix(DEFAULT_MIX_YAML, 'defaultMix', opts);
}
