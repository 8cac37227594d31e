// kv-capacity: the instance must have free KV blocks for the part of the prompt it does not already hold on device
// (host and neighbour hits still need device blocks to land in). Blocks retained for idle sessions count as free
// by default: the retention policy demotes or drops them under pressure, so they do not block admission — but
// they do count as load in the `load` scorer. `reserveOutput` also asks for the predicted output's blocks.
import { onlyKeys, readBool, type Params } from '../../config/params.js';
import type { InstanceView, PlacementContext } from '../../types.js';
import { keepInto, type ExplainingFilter } from '../plugin.js';

export interface KvCapacityParams {
  reserveOutput: boolean;
  retainedReclaimable: boolean;
}

export function neededBlocks(ctx: PlacementContext, inst: InstanceView, p: KvCapacityParams): number {
  const b = ctx.blockTokens;
  let need = Math.ceil(ctx.req.promptTokens / b) - ctx.prefix(inst).deviceBlocks;
  if (p.reserveOutput) need += Math.ceil(Math.min(ctx.cls.output.expectedTokens, ctx.req.maxOutputTokens) / b);
  return Math.max(0, need);
}

export function freeBlocks(inst: InstanceView, p: KvCapacityParams): number {
  return inst.kvBlocksTotal - inst.kvBlocksUsed - (p.retainedReclaimable ? 0 : inst.kvBlocksRetained);
}

export function makeKvCapacityFilter(params: Params, path: string): ExplainingFilter {
  onlyKeys(params, path, ['reserveOutput', 'retainedReclaimable']);
  const p: KvCapacityParams = {
    reserveOutput: readBool(params, 'reserveOutput', path, false),
    retainedReclaimable: readBool(params, 'retainedReclaimable', path, true),
  };
  const keep = (ctx: PlacementContext, inst: InstanceView): boolean => freeBlocks(inst, p) >= neededBlocks(ctx, inst, p);
  const out: InstanceView[] = [];
  return {
    name: 'kv-capacity',
    filter: (ctx, candidates) => keepInto(out, ctx, candidates, keep),
    whyEmpty: (ctx, candidates) => {
      const most = Math.max(...candidates.map((i) => freeBlocks(i, p)));
      const least = Math.min(...candidates.map((i) => neededBlocks(ctx, i, p)));
      return `no instance has the free KV blocks the request needs (needs at least ${least}, most free ${most})`;
    },
  };
}
