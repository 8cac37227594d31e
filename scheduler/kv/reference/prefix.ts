// Prefix queries and pins (native/SPEC.md §5). Queries are read-only (no stats); pins hold cached blocks on a GPU
// so that eviction cannot take them, e.g. a shared system prompt.
import { kvError } from '../errors.js';
import type { PrefixMatch } from '../types.js';
import type { KvState } from './state.js';

export function matchOnGpu(state: KvState, gpu: number, hashes: BigUint64Array): PrefixMatch {
  const tray = state.trayOfGpu(gpu);
  const device = state.devicePool(gpu).byHash;
  const host = state.pool({ tier: 'host', index: tray }).byHash;
  const disk = state.pool({ tier: 'disk', index: tray }).byHash;
  const match: PrefixMatch = { gpu, deviceBlocks: 0, hostBlocks: 0, diskBlocks: 0 };
  for (const hash of hashes) {
    if (device.has(hash)) match.deviceBlocks++;
    else if (host.has(hash)) match.hostBlocks++;
    else if (disk.has(hash)) match.diskBlocks++;
    else break;
  }
  return match;
}

export function matchAll(state: KvState, hashes: BigUint64Array): PrefixMatch[] {
  const out: PrefixMatch[] = [];
  if (hashes.length === 0) return out;
  for (let gpu = 0; gpu < state.config.numGpus; gpu++) {
    const match = matchOnGpu(state, gpu, hashes);
    if (match.deviceBlocks + match.hostBlocks + match.diskBlocks >= 1) out.push(match);
  }
  return out;
}

export function pinPrefix(state: KvState, gpu: number, hashes: BigUint64Array): number {
  const pool = state.devicePool(gpu);
  let pinned = 0;
  for (const hash of hashes) {
    const block = pool.byHash.get(hash);
    if (block === undefined) break;
    pool.pin(block);
    pinned++;
  }
  return pinned;
}

/**
 * All or nothing. A hash listed k times needs k pins on its block: checking each occurrence against the pins left
 * by the earlier ones keeps pinCount from going below zero.
 */
export function unpinPrefix(state: KvState, gpu: number, hashes: BigUint64Array): number {
  const pool = state.devicePool(gpu);
  const blocks: number[] = [];
  const uses = new Map<number, number>();
  for (let i = 0; i < hashes.length; i++) {
    const block = pool.byHash.get(hashes[i]!);
    const used = block === undefined ? 0 : (uses.get(block) ?? 0) + 1;
    if (block === undefined || pool.pinCount(block) < used) {
      throw kvError(
        'E_NOT_PINNED',
        `blockHashes[${i}] (${hashes[i]}) is not pinned on gpu ${gpu}` +
          (block === undefined ? ' (not resident)' : ` (pinCount ${pool.pinCount(block)}, listed ${used} times)`),
      );
    }
    uses.set(block, used);
    blocks.push(block);
  }
  for (let i = blocks.length - 1; i >= 0; i--) pool.unpin(blocks[i]!);
  return hashes.length;
}
