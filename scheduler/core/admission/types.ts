// Admission-local contracts on top of scheduler/core/types.ts.
import type { AdmissionPolicy, RandomSource } from '../types.js';

/** What a policy may be handed besides its parameters: randomness for probabilistic shedding, seeded for replay. */
export interface AdmissionDeps {
  rng?: RandomSource;
}

export type AdmissionPolicyFactory = (params: unknown, path: string, deps: AdmissionDeps) => AdmissionPolicy;
