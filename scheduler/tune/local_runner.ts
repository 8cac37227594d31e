// Trials in this process, one after another (the default of `nvlsched tune`). The simulator is synchronous, so a
// trial holds the event loop for its whole run; progress is reported between trials.
import { runTrial } from './trial.js';
import type { TrialMetrics, TrialResult, TrialRunner, TrialSpec } from './types.js';

export function makeLocalRunner(run: (spec: TrialSpec) => Promise<TrialMetrics> = runTrial): TrialRunner {
  return {
    async runRung(specs, onResult) {
      const results: TrialResult[] = [];
      for (const spec of specs) {
        const metrics = await run(spec);
        const result: TrialResult = {
          id: spec.id, rung: spec.rung, sample: spec.sample, duration_s: spec.durationS, params: spec.params, metrics, worker: 'local',
        };
        results.push(result);
        onResult(result);
      }
      return results;
    },
    async close() {},
  };
}
