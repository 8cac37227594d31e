// Live migration of running decodes (a policy slot), after Llumnix (Sun et al., OSDI'24; AlibabaPAI/llumnix:
// KV copy pipelined with decoding, then a short stop-and-copy; anchors-mission.md §3). Llumnix migrates on load
// imbalance (`kv_blocks_ratio`) and to avoid preemption; ours does the same but asks the performance model whether
// a move pays before making it.
//
// - `none` (default): never.
// - `load-balance` (ours): per NVLink domain, the hottest decode-capable instance (KV use incl. retained sessions)
//   against the coolest; when the gap is at least `imbalance` and the hot one is past `minHotLoad`, the running
//   decode with the most predicted tokens left per KV block to copy is moved if
//       remaining · (decodeStep(hot) − decodeStep(cool))  +  (hot past `pressureLoad` ? remaining · decodeStep(cool) · pressureCredit : 0)
//     > copy(blocks over NVLink) · payoffFactor
//   i.e. the TPOT it saves over its remaining tokens (and, on an instance close to preempting, the preemption it
//   avoids) beats what the copy costs. At most `maxInFlight` moves per domain at once.
import { ConfigError, asParams, onlyKeys, readNumber } from '../config/params.js';
import type { InstanceView } from '../types.js';
import type { MigrationCandidate, MigrationContext, MigrationPlan, MigrationPolicy } from './types.js';

export function makeNoMigration(params: unknown, path: string): MigrationPolicy {
  onlyKeys(asParams(params, path), path, []);
  return { name: 'none', periodS: Infinity, maxPauseS: 0, plan: () => [] };
}

function load(v: InstanceView): number {
  return (v.kvBlocksUsed + v.kvBlocksRetained) / Math.max(1, v.kvBlocksTotal);
}

export function makeLoadBalance(params: unknown, path: string): MigrationPolicy {
  const p = asParams(params, path);
  onlyKeys(p, path, ['periodS', 'maxPauseS', 'imbalance', 'minHotLoad', 'pressureLoad', 'pressureCredit', 'payoffFactor', 'minRemainingTokens', 'maxInFlight']);
  const periodS = readNumber(p, 'periodS', path, 0.5, { above: 0 });
  const maxPauseS = readNumber(p, 'maxPauseS', path, 0.005, { above: 0 });
  const imbalance = readNumber(p, 'imbalance', path, 0.2, { min: 0, max: 1 });
  const minHotLoad = readNumber(p, 'minHotLoad', path, 0.5, { min: 0, max: 1 });
  const pressureLoad = readNumber(p, 'pressureLoad', path, 0.9, { min: 0, max: 1 });
  const pressureCredit = readNumber(p, 'pressureCredit', path, 0.1, { min: 0 });
  const payoffFactor = readNumber(p, 'payoffFactor', path, 2, { min: 0 });
  const minRemaining = readNumber(p, 'minRemainingTokens', path, 64, { integer: true, min: 1 });
  const maxInFlight = readNumber(p, 'maxInFlight', path, 2, { integer: true, min: 1 });
  return {
    name: 'load-balance',
    periodS,
    maxPauseS,
    plan(ctx: MigrationContext): MigrationPlan[] {
      if (ctx.inFlight >= maxInFlight || ctx.instances.length < 2) return [];
      let hot: InstanceView | undefined;
      let cool: InstanceView | undefined;
      for (const v of ctx.instances) {
        // Ties keep the first in the list: the same state always picks the same pair.
        if (!hot || load(v) > load(hot)) hot = v;
        if (!cool || load(v) < load(cool)) cool = v;
      }
      if (!hot || !cool || hot === cool) return [];
      const hotLoad = load(hot);
      if (hotLoad < minHotLoad || hotLoad - load(cool) < imbalance) return [];
      const stepGainS = Math.max(0, ctx.cost.decodeStepS(hot) - ctx.cost.decodeStepS(cool));
      const pressured = hotLoad >= pressureLoad;
      const freeCool = cool.kvBlocksTotal - cool.kvBlocksUsed - cool.kvBlocksRetained;
      let best: MigrationCandidate | undefined;
      let bestKey = -Infinity;
      for (const c of ctx.decodes(hot.instanceId)) {
        if (c.remainingTokens < minRemaining) continue;
        // Room for its KV and what it grows by during the copy, with the cool instance staying below the hot one.
        const grow = Math.ceil(c.remainingTokens / ctx.blockTokens);
        if (c.kvBlocks + grow > freeCool) continue;
        const gainS = c.remainingTokens * stepGainS + (pressured ? c.remainingTokens * ctx.cost.decodeStepS(cool) * pressureCredit : 0);
        const copyS = ctx.cost.fetchS(cool, c.kvBlocks, 'nvlink');
        if (gainS <= copyS * payoffFactor) continue;
        const key = c.remainingTokens / Math.max(1, c.kvBlocks);
        if (key > bestKey) {
          best = c;
          bestKey = key;
        }
      }
      return best ? [{ requestId: best.requestId, fromInstanceId: hot.instanceId, toInstanceId: cool.instanceId }] : [];
    },
  };
}

export const MIGRATION_POLICIES: Readonly<Record<string, (params: unknown, path: string) => MigrationPolicy>> = {
  none: makeNoMigration,
  'load-balance': makeLoadBalance,
};

export function makeMigrationPolicy(value: unknown, path: string): MigrationPolicy {
  const spec = asParams(typeof value === 'string' ? { name: value } : value, path);
  onlyKeys(spec, path, ['name', 'params']);
  const name = spec.name === undefined ? 'none' : spec.name;
  const factory = typeof name === 'string' && Object.hasOwn(MIGRATION_POLICIES, name) ? MIGRATION_POLICIES[name] : undefined;
  if (!factory) throw new ConfigError(`${path}.name`, `unknown migration policy ${JSON.stringify(name)}; known: ${Object.keys(MIGRATION_POLICIES).join(', ')}`);
  return factory(spec.params, `${path}.params`);
}
