// `nvlsched bench kv [--json]`: KV block-manager throughput on a GB200 NVL72 rack, the native addon and the
// TypeScript reference side by side in one process on the same seeded workload (ratios, not absolute times, are
// what to compare across machines). Last stdout line: one JSON object.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

import { flagHelp, parseFlags, type FlagSpec } from '../scheduler/cli/args.js';
import { chainHashes, NativeKvManager } from '../scheduler/kv/native.js';
import { ReferenceKvManager } from '../scheduler/kv/reference/manager.js';
import type { KvManager, KvManagerConfig } from '../scheduler/kv/types.js';
import { packageRoot } from '../scheduler/util/paths.js';
import { makeKvWorkload, type KvBenchWorkload } from './kv_workload.js';

const FLAGS: Record<string, FlagSpec> = {
  json: { type: 'boolean', help: 'only the JSON line' },
  requests: { type: 'number', help: 'requests replayed per run (default 20000)' },
  matches: { type: 'number', help: 'prefix-match lookups per run (default 200000 native; the reference runs a tenth)' },
  repeat: { type: 'number', help: 'runs per implementation, median reported (default 3)' },
  seed: { type: 'number', help: 'workload seed (default 1)' },
  help: { type: 'boolean', help: 'this text' },
};

const PROMPT_BLOCKS = 64;
const DECODE_BLOCKS = 4;

interface PhaseResult {
  blockOps: number;
  eventsDrained: number;
  blockOpsSeconds: number;
  matches: number;
  matchSeconds: number;
  privateMatchSeconds: number;
  matchedBlocks: number;
  finalStats: string;
}

function benchConfig(topology: KvManagerConfig['topology']): KvManagerConfig {
  // Llama-3.1-70B KV (80 layers, 8 KV heads, head dim 128, bf16) at TP4 across a tray. Pools are kept small
  // (4,096 blocks per GPU, 16,384 per tray's Grace) so that the run evicts, as a loaded rack does.
  return {
    topology,
    layout: { numLayers: 80, numKvHeads: 8, headDim: 128, mlaLatentDim: 0, bytesPerElement: 2, tensorParallel: 4 },
    tokensPerBlock: 16,
    deviceBlocksPerGpu: 4096,
    hostBlocksPerTray: 16384,
    diskBlocksPerTray: 0,
    dataMode: 'metadata',
    backend: 'cpu',
  };
}

function runBlockOps(kv: KvManager, w: KvBenchWorkload): { blockOps: number; eventsDrained: number; seconds: number } {
  const tokens = PROMPT_BLOCKS * w.tokensPerBlock;
  const live: Array<{ seqId: number; blocks: number }> = [];
  let head = 0;
  let blockOps = 0;
  let eventsDrained = 0;
  const started = performance.now();
  for (const req of w.requests) {
    const alloc = kv.allocate({ gpu: req.gpu, numTokens: tokens, blockHashes: req.promptHashes });
    blockOps += alloc.numBlocks;
    let blocks = alloc.numBlocks;
    for (const hash of req.decodeHashes) {
      const appended = kv.append(alloc.seqId, w.tokensPerBlock, hash);
      blockOps += appended.newBlocks;
      blocks = appended.numBlocks;
    }
    live.push({ seqId: alloc.seqId, blocks });
    // A worker forwards its KV events every step; drain them as it would (columns, not objects).
    eventsDrained += kv.drainEventsPacked().count;
    if (live.length - head > w.liveSequences) {
      const oldest = live[head++] as { seqId: number; blocks: number };
      kv.free(oldest.seqId);
      blockOps += oldest.blocks;
    }
  }
  for (; head < live.length; head++) {
    const seq = live[head] as { seqId: number; blocks: number };
    kv.free(seq.seqId);
    blockOps += seq.blocks;
  }
  eventsDrained += kv.drainEventsPacked().count;
  return { blockOps, eventsDrained, seconds: (performance.now() - started) / 1000 };
}

function runMatches(kv: KvManager, chains: BigUint64Array[], count: number): { seconds: number; matchedBlocks: number } {
  let matchedBlocks = 0;
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    // The packed form is what a router calls on its hot path (no object per GPU).
    const packed = kv.matchPrefixPacked(chains[i % chains.length] as BigUint64Array);
    for (let j = 0; j < packed.length; j += 4) matchedBlocks += (packed[j + 1] as number) + (packed[j + 2] as number) + (packed[j + 3] as number);
  }
  return { seconds: (performance.now() - started) / 1000, matchedBlocks };
}

function runOnce(make: () => KvManager, w: KvBenchWorkload, matches: number): PhaseResult {
  const kv = make();
  try {
    const ops = runBlockOps(kv, w);
    // Re-populate a cache to look up: replay the last live window again without freeing.
    for (const req of w.requests.slice(-w.liveSequences)) {
      kv.allocate({ gpu: req.gpu, numTokens: PROMPT_BLOCKS * w.tokensPerBlock, blockHashes: req.promptHashes });
    }
    const m = runMatches(kv, w.matchChains, matches);
    // Prompts with nothing shared: each chain lives on exactly one GPU (plus 20% that live nowhere).
    for (const p of w.privateChains) kv.allocate({ gpu: p.gpu, numTokens: PROMPT_BLOCKS * w.tokensPerBlock, blockHashes: p.hashes });
    const privateLookups = [...w.privateChains.map((p) => p.hashes), ...w.matchChains.slice(0, 64)];
    const pm = runMatches(kv, privateLookups, matches);
    const stats = kv.stats();
    const finalStats = JSON.stringify([ops.eventsDrained, stats.pools.map((p) => [p.usedBlocks, p.cachedBlocks, p.hits, p.evictions])]);
    return { blockOps: ops.blockOps, eventsDrained: ops.eventsDrained, blockOpsSeconds: ops.seconds, matches, matchSeconds: m.seconds, privateMatchSeconds: pm.seconds, matchedBlocks: m.matchedBlocks, finalStats };
  } finally {
    kv.close();
  }
}

/**
 * Where the time goes: the same block-op workload replayed by build/kv_replay on the C++ core alone (no N-API,
 * no JS). Undefined when the helper was not built.
 */
function coreOnlyOpsPerS(w: KvBenchWorkload, repeat: number): number | undefined {
  const replay = path.join(packageRoot(), 'build', 'kv_replay');
  if (!existsSync(replay)) return undefined;
  const dir = mkdtempSync(path.join(tmpdir(), 'nvl-kv-'));
  try {
    const file = path.join(dir, 'workload.bin');
    const recordBytes = 4 + 8 * (PROMPT_BLOCKS + DECODE_BLOCKS);
    // The header carries the manager's configuration (see native/bench/kv_replay.cc) so both sides run one config.
    const config = benchConfig('gb200-nvl72');
    const l = config.layout;
    const header = [w.requests.length, PROMPT_BLOCKS, DECODE_BLOCKS, w.liveSequences, config.tokensPerBlock ?? 16,
      config.deviceBlocksPerGpu ?? 0, config.hostBlocksPerTray ?? 0,
      l.numLayers, l.numKvHeads, l.headDim, l.mlaLatentDim ?? 0, l.bytesPerElement, l.tensorParallel ?? 1];
    const buffer = Buffer.alloc(4 * header.length + recordBytes * w.requests.length);
    header.forEach((v, i) => buffer.writeUInt32LE(v, 4 * i));
    let offset = 4 * header.length;
    for (const req of w.requests) {
      buffer.writeUInt32LE(req.gpu, offset);
      offset += 4;
      for (const h of [...req.promptHashes, ...req.decodeHashes.map((d) => d[0] as bigint)]) {
        buffer.writeBigUInt64LE(h, offset);
        offset += 8;
      }
    }
    writeFileSync(file, buffer);
    const rates: number[] = [];
    for (let r = 0; r < repeat; r++) {
      const out = spawnSync(replay, [file], { encoding: 'utf8' });
      if (out.status !== 0) throw new Error(`kv_replay failed: ${out.stderr}`);
      rates.push(JSON.parse(out.stdout.trim()).core_ops_per_s as number);
    }
    return median(rates);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

export async function run(argv: string[]): Promise<number> {
  const { flags } = parseFlags(argv, FLAGS);
  if (flags.help) {
    process.stdout.write(`usage: nvlsched bench kv [flags]\n${flagHelp(FLAGS)}\n`);
    return 0;
  }
  const numRequests = Number(flags.requests ?? 20000);
  const nativeMatches = Number(flags.matches ?? 200000);
  const repeat = Number(flags.repeat ?? 3);
  if (!(numRequests >= 1 && nativeMatches >= 10 && repeat >= 1)) throw Object.assign(new Error('--requests ≥ 1, --matches ≥ 10, --repeat ≥ 1'), { code: 'E_USAGE' });
  const log = (line: string) => { if (!flags.json) process.stdout.write(line + '\n'); };

  const nativeProbe = new NativeKvManager(benchConfig('gb200-nvl72'));
  const topology = nativeProbe.topology();
  const numGpus = nativeProbe.numGpus;
  const backend = nativeProbe.backendInfo().backend;
  nativeProbe.close();
  const workload = makeKvWorkload({
    seed: Number(flags.seed ?? 1), numGpus, numRequests, promptBlocks: PROMPT_BLOCKS, sharedPrefixBlocks: 32,
    numPrefixes: 16, decodeBlocks: DECODE_BLOCKS, liveSequences: 512, numMatchChains: 4096, tokensPerBlock: 16,
    chain: (ids, parent) => chainHashes(ids, parent),
  });
  const tsMatches = Math.max(10, Math.floor(nativeMatches / 10));
  log(`bench kv: ${topology.name} (${numGpus} GPUs), ${numRequests} requests x (${PROMPT_BLOCKS} prompt + ${DECODE_BLOCKS} decode blocks), ` +
    `${repeat} runs each, backend ${backend}`);

  const native: PhaseResult[] = [];
  const reference: PhaseResult[] = [];
  for (let r = 0; r < repeat; r++) {
    native.push(runOnce(() => new NativeKvManager(benchConfig('gb200-nvl72')), workload, nativeMatches));
    reference.push(runOnce(() => new ReferenceKvManager(benchConfig(topology)), workload, tsMatches));
    log(`  run ${r + 1}/${repeat} done`);
  }
  const coreOps = coreOnlyOpsPerS(workload, repeat);
  const opsPerS = (p: PhaseResult) => p.blockOps / p.blockOpsSeconds;
  const matchPerS = (p: PhaseResult) => p.matches / p.matchSeconds;
  const nativeOps = median(native.map(opsPerS));
  const tsOps = median(reference.map(opsPerS));
  const nativeMatch = median(native.map(matchPerS));
  const tsMatch = median(reference.map(matchPerS));
  const privatePerS = (p: PhaseResult) => p.matches / p.privateMatchSeconds;
  const nativePrivate = median(native.map(privatePerS));
  const tsPrivate = median(reference.map(privatePerS));
  // Same work on both sides: the final pool states and the matched-block counts per lookup must agree.
  const sameState = native.every((p, i) => p.finalStats === reference[i]?.finalStats);
  const nativePerLookup = (native[0] as PhaseResult).matchedBlocks / nativeMatches;
  const result = {
    bench: 'kv',
    topology: topology.name,
    gpus: numGpus,
    backend,
    requests: numRequests,
    block_ops_per_run: (native[0] as PhaseResult).blockOps,
    events_drained_per_run: (native[0] as PhaseResult).eventsDrained,
    native_ops_per_s: Math.round(nativeOps),
    ts_ops_per_s: Math.round(tsOps),
    ratio: Number((nativeOps / tsOps).toFixed(2)),
    core_only_ops_per_s: coreOps === undefined ? null : Math.round(coreOps),
    // Share of the native run's time spent outside the C++ core (N-API crossings, JS objects, event columns).
    binding_time_share: coreOps === undefined ? null : Number((1 - nativeOps / coreOps).toFixed(2)),
    prefix_match_per_s: Math.round(nativeMatch),
    ts_prefix_match_per_s: Math.round(tsMatch),
    prefix_match_ratio: Number((nativeMatch / tsMatch).toFixed(2)),
    prefix_match_private_per_s: Math.round(nativePrivate),
    ts_prefix_match_private_per_s: Math.round(tsPrivate),
    prefix_match_blocks: PROMPT_BLOCKS,
    matched_blocks_per_lookup: Number(nativePerLookup.toFixed(2)),
    same_final_state: sameState,
    runs: repeat,
  };
  log('');
  const fmt = (n: number) => n.toLocaleString('en-US');
  log('| implementation | block ops/s | 64-block matches/s, shared prefix | 64-block matches/s, private prompts |');
  log('| --- | ---: | ---: | ---: |');
  log(`| native (${backend}) | ${fmt(result.native_ops_per_s)} | ${fmt(result.prefix_match_per_s)} | ${fmt(result.prefix_match_private_per_s)} |`);
  log(`| TypeScript reference | ${fmt(result.ts_ops_per_s)} | ${fmt(result.ts_prefix_match_per_s)} | ${fmt(result.ts_prefix_match_private_per_s)} |`);
  log(`| ratio | ${result.ratio}x | ${result.prefix_match_ratio}x | ${(nativePrivate / tsPrivate).toFixed(2)}x |`);
  log('(shared prefix: 16 system prompts of 32 blocks resident on most of the rack, so one lookup matches ~58 GPUs)');
  if (coreOps !== undefined) {
    log(`C++ core alone (build/kv_replay, same workload): ${Math.round(coreOps).toLocaleString('en-US')} block ops/s; ` +
      `time outside the core in the native run: ${Math.round(100 * (result.binding_time_share ?? 0))} %`);
  }
  log(`final pool states equal: ${sameState}; matched blocks per lookup (native): ${result.matched_blocks_per_lookup}`);
  process.stdout.write(JSON.stringify(result) + '\n');
  return sameState ? 0 : 1;
}
