// `always`: admit everything (vLLM, SGLang and Dynamo by default: requests queue without bound). The baselines use
// it so that comparisons differ only in policy; the engine's maxQueuedSeqs still bounds the queue.
import { asParams, onlyKeys } from '../../config/params.js';
import type { AdmissionPolicy } from '../../types.js';

export function makeAlways(params: unknown, path: string): AdmissionPolicy {
  onlyKeys(asParams(params, path), path, []);
  return {
    name: 'always',
    decide: (_req, _cls, _instance, predictedTtftS) => ({ admit: true, predictedTtftS }),
  };
}
