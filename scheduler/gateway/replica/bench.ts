// Benchmark of the replica machinery: what the forward decision and the KV summary cost in process, and what one
// forward costs a client next to serving locally. Prints a table, then one JSON object as the last stdout line.
//   node --import tsx scheduler/gateway/replica/bench.ts [--requests 8]
// (for `nvlsched bench replica`, register `run` in bench/cli.ts.)
//   summary:          SummaryTracker with 32,768 tracked checkpoints (2,048 prompts of 256 blocks) over a KV index of
//                     8 instances holding them: one checkpoint's check (a tick does summaryChecksPerTick of them), and
//                     building + encoding the published blob (at most once per summaryPublishMs);
//   lookup:           summaryDepth() of a 1,000-block prompt against one peer's 32,768-entry summary (hit, miss);
//   hop (needs Redis; REDIS_URL or a redis-server binary): two replicas on disjoint trays, workers pacing steps in
//                     real time; client-side TTFT of the same kind of request (a cached 2,048-token document + 64
//                     new tokens) served at A where it is cached, sent to B and forwarded to A, and a fresh document
//                     of the same length (cached nowhere: what B would do without forwarding).
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';

import { KvIndex } from '../../core/kvindex/index.js';
import { startTestRedis } from '../../tune/testing/redis_server.js';
import { promptBlockHashes } from '../hashing.js';
import { generate, SMALL } from '../testing.js';
import { CHECKPOINTS, decodeSummary, encodeSummary, summaryDepth, SummaryTracker } from './summary.js';
import { startReplicaPair, until } from './testing.js';

const BLOCKS_PER_PROMPT = 256;
const PROMPTS = 2048;

/** splitmix64: deterministic 64-bit hashes. */
function hashes(seed: bigint, n: number): bigint[] {
  const out: bigint[] = [];
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x + 0x9e3779b97f4a7c15n) & 0xffffffffffffffffn;
    let z = x;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & 0xffffffffffffffffn;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & 0xffffffffffffffffn;
    out.push(z ^ (z >> 31n));
  }
  return out;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

function benchSummary(): { checkUs: number; buildMs: number; decodeMs: number; bytes: number; hashes: number; lookupHitUs: number; lookupMissUs: number } {
  const index = new KvIndex();
  const instances: string[] = [];
  for (let i = 0; i < 8; i++) {
    instances.push(`i${i}`);
    index.registerInstance(`i${i}`, 'rack0', [{ workerId: `w${i >> 2}`, gpus: [i & 3] }]);
  }
  const checks = 32_768;
  const tracker = new SummaryTracker({ kvIndex: index, instances, maxHashes: 32_768, pendingGraceMs: 5000, checksPerRefresh: checks, nowMs: () => 0 });
  const nextId = [0, 0];
  const prompts: bigint[][] = [];
  for (let p = 0; p < PROMPTS; p++) {
    const hs = hashes(BigInt(p + 1) * 1_000_003n, BLOCKS_PER_PROMPT);
    prompts.push(hs);
    const inst = p % 8;
    const w = inst >> 2;
    index.applyEvents(`w${w}`, hs.map((h, i) => ({ eventId: ++(nextId[w] as number), kind: 'stored' as const, location: { tier: 'device' as const, index: inst & 3 }, hash: h, parentHash: i > 0 ? (hs[i - 1] as bigint) : 0n })));
    tracker.note(hs, `i${inst}`);
  }
  const checkTimes: number[] = [];
  const buildTimes: number[] = [];
  let published = 0;
  let bytes = 0;
  let blob: Buffer = Buffer.alloc(0);
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    tracker.refresh();
    const t1 = performance.now();
    const b = tracker.build();
    blob = encodeSummary(b.hashes, b.instances);
    bytes = blob.length;
    checkTimes.push(t1 - t0);
    buildTimes.push(performance.now() - t1);
    published = b.hashes.length;
  }
  const decodeTimes: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    if (!decodeSummary(blob)) throw new Error('the summary did not decode');
    decodeTimes.push(performance.now() - t0);
  }
  // A peer's summary: the same checkpoints; a 1,000-block prompt sharing 600 blocks with a cached one, and a stranger.
  const summary = new Map<bigint, number>();
  for (const hs of prompts) for (const d of CHECKPOINTS) if (d <= hs.length) summary.set(hs[d - 1] as bigint, 0);
  const hit = [...(prompts[7] as bigint[]).slice(0, 200), ...hashes(77n, 800)];
  const miss = hashes(99n, 1000);
  const perOp = (hs: bigint[]): number => {
    const n = 200_000;
    const t0 = performance.now();
    let sink = 0;
    for (let i = 0; i < n; i++) sink += summaryDepth(summary, hs).blocks;
    if (sink < 0) throw new Error('unreachable');
    return ((performance.now() - t0) * 1000) / n;
  };
  return { checkUs: (median(checkTimes) * 1000) / checks, buildMs: median(buildTimes), decodeMs: median(decodeTimes), bytes, hashes: published, lookupHitUs: perOp(hit), lookupMissUs: perOp(miss) };
}

interface HopResult {
  localCachedTtftMs: number;
  forwardedTtftMs: number;
  localUncachedTtftMs: number;
  forwardedCachedTokens: number;
}

async function benchHop(redisUrl: string, requests: number): Promise<HopResult> {
  const pair = await startReplicaPair(redisUrl, { tickMs: 100, registryTtlMs: 1000 }, 'real');
  const ids = (n: number, base: number): number[] => Array.from({ length: n }, (_, i) => base + i);
  const ttft = async (client: typeof pair.a.gw.client, prompt: number[]): Promise<{ ms: number; cached: number }> => {
    const t0 = performance.now();
    let first = NaN;
    const out = await generate(client, { promptTokenIds: prompt, maxTokens: 4 }, (c) => {
      if (Number.isNaN(first) && c.tokenIds.length > 0) first = performance.now() - t0;
    });
    if (out.error) throw new Error(`request failed: ${out.error.details}`);
    return { ms: first, cached: out.last?.usage?.cachedPromptTokens ?? 0 };
  };
  try {
    const doc = ids(2048, 10);
    await ttft(pair.a.gw.client, doc);
    const docHashes = promptBlockHashes(doc, SMALL.blockTokens);
    await until("B to see A's summary cover the document", () => pair.b.replica.forwarder.peerPrefixBlocks(docHashes) >= docHashes.length);
    const local: number[] = [];
    const forwarded: number[] = [];
    const fresh: number[] = [];
    let cached = 0;
    for (let i = 0; i < requests; i++) {
      local.push((await ttft(pair.a.gw.client, [...doc, ...ids(64, 100_000 + i * 100)])).ms);
      const f = await ttft(pair.b.gw.client, [...doc, ...ids(64, 200_000 + i * 100)]);
      forwarded.push(f.ms);
      cached = f.cached;
      fresh.push((await ttft(pair.b.gw.client, ids(2048 + 64, 1_000_000 + i * 10_000))).ms);
    }
    if (pair.b.replica.stats().forwards.prefix < requests) throw new Error(`only ${pair.b.replica.stats().forwards.prefix} of ${requests} requests were forwarded`);
    return { localCachedTtftMs: median(local), forwardedTtftMs: median(forwarded), localUncachedTtftMs: median(fresh), forwardedCachedTokens: cached };
  } finally {
    await pair.close();
  }
}

export async function run(argv: string[]): Promise<number> {
  const i = argv.indexOf('--requests');
  const requests = i >= 0 ? Number(argv[i + 1]) : 8;
  if (!Number.isInteger(requests) || requests < 1 || requests > 1000) throw new Error(`--requests: expected an integer in [1, 1000], got ${argv[i + 1]}`);
  const s = benchSummary();
  const rows: [string, string][] = [
    ['summary check of one checkpoint (8 instances)', `${s.checkUs.toFixed(2)} µs`],
    [`summary build + encode (${s.hashes} checkpoints)`, `${s.buildMs.toFixed(1)} ms, ${(s.bytes / 1024).toFixed(0)} KiB`],
    ['summary decode (a reader, per fetch)', `${s.decodeMs.toFixed(1)} ms`],
    ['lookup, 1,000-block prompt, hit', `${s.lookupHitUs.toFixed(2)} µs`],
    ['lookup, 1,000-block prompt, miss', `${s.lookupMissUs.toFixed(2)} µs`],
  ];
  const json: Record<string, number | string | null> = {
    summary_hashes: s.hashes,
    summary_check_us: round(s.checkUs),
    summary_build_ms: round(s.buildMs),
    summary_decode_ms: round(s.decodeMs),
    summary_bytes: s.bytes,
    lookup_hit_us: round(s.lookupHitUs),
    lookup_miss_us: round(s.lookupMissUs),
  };
  const redis = await startTestRedis();
  if ('skip' in redis) {
    rows.push(['hop', `skipped: ${redis.skip}`]);
    json.hop_skipped = redis.skip;
  } else {
    try {
      const h = await benchHop(redis.url, requests);
      rows.push(
        ['TTFT p50, at A, 2,048 cached + 64 new tokens', `${h.localCachedTtftMs.toFixed(1)} ms`],
        ['TTFT p50, at B, forwarded to A (same)', `${h.forwardedTtftMs.toFixed(1)} ms (cached ${h.forwardedCachedTokens})`],
        ['TTFT p50, at B, 2,112 new tokens (no forwarding)', `${h.localUncachedTtftMs.toFixed(1)} ms`],
        ['one forward adds', `${(h.forwardedTtftMs - h.localCachedTtftMs).toFixed(1)} ms`],
      );
      Object.assign(json, {
        ttft_local_cached_p50_ms: round(h.localCachedTtftMs),
        ttft_forwarded_p50_ms: round(h.forwardedTtftMs),
        ttft_local_uncached_p50_ms: round(h.localUncachedTtftMs),
        hop_ms: round(h.forwardedTtftMs - h.localCachedTtftMs),
        requests,
      });
    } finally {
      await redis.stop();
    }
  }
  const width = Math.max(...rows.map((r) => r[0].length));
  for (const [k, v] of rows) process.stdout.write(`${k.padEnd(width)}  ${v}\n`);
  process.stdout.write(`${JSON.stringify(json)}\n`);
  return 0;
}

const round = (x: number): number => Math.round(x * 1000) / 1000;

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  run(process.argv.slice(2)).then((code) => process.exit(code), (error: unknown) => {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(1);
  });
}
