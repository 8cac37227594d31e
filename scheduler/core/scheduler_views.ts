// How the Scheduler (scheduler.ts) builds its instances and pools from the configuration, and keeps the views that
// placement and routing read (InstanceView per instance, PoolLoad per pool) in step with the engines.
import { checkRoles } from './config/roles.js';
import { ConfigError } from './config/params.js';
import type { TenantsConfig } from './config/tenants.js';
import { InstanceEngine } from './engine/engine.js';
import { makeBatchPolicy } from './engine/registry.js';
import type { KvIndex } from './kvindex/kv_index.js';
import { makePrefixColumns } from './kvindex/prefix_walk.js';
import type { makeRetentionPolicy } from './retention/registry.js';
import { SessionRetention } from './retention/tracker.js';
import type { Instance, InstanceSetup, Pool } from './scheduler_state.js';
import { SHAPES, type PlacementCostModel, type PoolLoad, type PoolSpec, type ThinkTimePredictor } from './types.js';

export function newPool(spec: PoolSpec): Pool {
  return { spec, instances: [], hits: [], columns: makePrefixColumns(8), instanceIds: [], slots: new Int32Array(0), slotsVersion: -1, views: [], disaggregated: false, decodeViews: [], prefillViews: [] };
}

export interface InstanceDeps {
  pools: ReadonlyMap<string, Pool>;
  instances: Map<string, Instance>;
  kvIndex: KvIndex;
  batch: unknown;
  retention: ReturnType<typeof makeRetentionPolicy>;
  thinkTime: ThinkTimePredictor;
  tenants: TenantsConfig | undefined;
}

/** Builds instance `i` of the configuration, registers it with the KV index and adds it to its pool. */
export function addInstance(deps: InstanceDeps, setup: InstanceSetup, i: number): void {
  const path = `instances[${i}]`;
  const pool = deps.pools.get(setup.pool);
  if (!pool) throw new ConfigError(`${path}.pool`, `unknown pool ${JSON.stringify(setup.pool)}; known: ${[...deps.pools.keys()].join(', ')}`);
  if (pool.spec.kind !== 'self_hosted') throw new ConfigError(`${path}.pool`, `pool ${setup.pool} is external: it has no instances`);
  if (deps.instances.has(setup.instanceId)) throw new ConfigError(`${path}.instanceId`, `duplicate instance ${setup.instanceId}`);
  const engine = new InstanceEngine({
    instanceId: setup.instanceId, config: setup.engine, policy: makeBatchPolicy(deps.batch, 'policy.batch'), recyclePlans: true,
    ...(deps.tenants ? { tenants: deps.tenants } : {}),
  });
  deps.kvIndex.registerInstance(setup.instanceId, setup.domainId, setup.members);
  const numGpus = setup.members.reduce((n, m) => n + m.gpus.length, 0);
  const inst: Instance = {
    setup,
    engine,
    retention: new SessionRetention(deps.retention, deps.thinkTime),
    view: {
      instanceId: setup.instanceId,
      pool: setup.pool,
      domainId: setup.domainId,
      workerIds: [...new Set(setup.members.map((m) => m.workerId))],
      numGpus,
      healthy: true,
      draining: false,
      maxContextTokens: pool.spec.maxContextTokens,
      queuedRequests: 0,
      runningRequests: 0,
      pendingPrefillTokens: 0,
      decodingSequences: 0,
      decodeSloWeightPerS: 0,
      kvBlocksTotal: setup.engine.kvBlocksTotal,
      kvBlocksUsed: 0,
      kvBlocksRetained: 0,
      stepTokenBudget: setup.engine.stepTokenBudget,
      inFlightRequests: 0,
      ...(setup.role !== undefined ? { role: setup.role } : {}),
    },
    poolColumn: pool.instances.length,
    requests: new Map(),
    numGpus,
    stepInstance: { pool: setup.pool, numGpus },
    prefillSPerToken: 0,
  };
  pool.instances.push(inst);
  deps.instances.set(setup.instanceId, inst);
}

/** Fills a pool's derived fields once its instances are added; returns its initial load for the router. */
export function finishPool(pool: Pool, ignoresRoles: boolean, cost: PlacementCostModel): PoolLoad {
  pool.instanceIds = pool.instances.map((i) => i.setup.instanceId);
  pool.views = pool.instances.map((i) => i.view);
  checkRoles(pool.views.map((v) => v.role), `pools.${pool.spec.name}.roles`);
  pool.prefillViews = pool.views.filter((v) => v.role === 'prefill');
  pool.disaggregated = pool.prefillViews.length > 0 && !ignoresRoles;
  pool.decodeViews = pool.disaggregated ? pool.views.filter((v) => v.role !== 'prefill') : pool.views;
  pool.columns = makePrefixColumns(Math.max(1, pool.instances.length));
  pool.hits = pool.instances.map(() => ({ deviceBlocks: 0, hostBlocks: 0, neighbourBlocks: 0 }));
  for (const inst of pool.instances) inst.prefillSPerToken = cost.prefillS(inst.view, 2048, 0) / 2048;
  return { pool: pool.spec.name, predictedTtftS: { tool_call: 0, reasoning: 0, terminal: 0, chat: 0 }, saturation: 0, healthy: pool.spec.kind === 'external' || pool.instances.length > 0 };
}

/** Copies the engine's load into the instance's view (after anything that changed the engine). */
export function syncView(inst: Instance): void {
  const load = inst.engine.view();
  const v = inst.view;
  v.queuedRequests = load.queuedRequests;
  v.runningRequests = load.runningRequests;
  v.pendingPrefillTokens = load.pendingPrefillTokens;
  v.decodingSequences = load.decodingSequences;
  v.decodeSloWeightPerS = load.decodeSloWeightPerS;
  v.kvBlocksUsed = load.kvBlocksUsed;
  v.kvBlocksRetained = load.kvBlocksRetained;
}

/** Pool loads for the router: the best instance's predicted queue wait per shape, and mean saturation. */
export function refreshLoads(pools: Iterable<Pool>, loads: PoolLoad[]): void {
  let i = 0;
  for (const pool of pools) {
    const load = loads[i++] as PoolLoad;
    if (pool.instances.length === 0) continue;
    let bestWaitS = Infinity;
    let saturation = 0;
    for (const inst of pool.instances) {
      const v = inst.view;
      bestWaitS = Math.min(bestWaitS, v.pendingPrefillTokens * inst.prefillSPerToken);
      saturation += Math.min(1, (v.kvBlocksUsed + v.kvBlocksRetained) / Math.max(1, v.kvBlocksTotal));
    }
    for (const shape of SHAPES) load.predictedTtftS[shape] = bestWaitS;
    load.saturation = saturation / pool.instances.length;
  }
}
