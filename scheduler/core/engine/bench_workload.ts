// A request for the benchmark: prompt up to promptMax tokens (a quarter of it cached half the time), output
// 1–2000 tokens with a prediction within ±50%, priority −1..1. Shapes take their default SLOs' TTFT.
import type { Rng } from '../../util/random.js';
import type { Shape } from '../types.js';
import type { SeqInit } from './types.js';

const TTFT_S: Record<Shape, number> = { tool_call: 0.5, reasoning: 2, terminal: 1, chat: 1 };

export function makeTestSeqInit(rng: Rng, requestId: string, shape: Shape, nowS: number, promptMax: number): SeqInit {
  const promptTokens = 1 + rng.int(promptMax);
  const maxOutputTokens = 1 + rng.int(2000);
  return {
    requestId,
    shape,
    priority: rng.int(3) - 1,
    arrivalS: nowS,
    promptTokens,
    cachedPromptTokens: rng.int(2) ? Math.floor(promptTokens / 4) : 0,
    maxOutputTokens,
    predictedOutputTokens: Math.round(maxOutputTokens * (0.5 + rng.next())),
    slo: { ttftS: TTFT_S[shape], tpotS: 0.05 },
  };
}
