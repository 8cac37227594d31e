// The KV benchmark's workload, generated once from a seed and replayed identically against each implementation:
// agent-like requests whose 64-block prompts share one of a few system+tool prefixes, decode a few blocks, and
// are freed in arrival order once more than `liveSequences` are running (so caches fill and evict).
import { Rng } from '../scheduler/util/random.js';

export interface KvBenchRequest {
  gpu: number;
  promptHashes: BigUint64Array;
  /** One single-hash array per decoded block (each append completes one block); made up front so that the
   * timed loop allocates nothing of its own. */
  decodeHashes: BigUint64Array[];
}

export interface KvBenchWorkload {
  tokensPerBlock: number;
  liveSequences: number;
  requests: KvBenchRequest[];
  /** Chains to look up in the prefix-match phase (mostly resident, some cold). */
  matchChains: BigUint64Array[];
  /** Whole-prompt-private chains (no shared system prompt), each allocated on one GPU before the lookups. */
  privateChains: Array<{ gpu: number; hashes: BigUint64Array }>;
}

export interface KvWorkloadOptions {
  seed: number;
  numGpus: number;
  numRequests: number;
  promptBlocks: number;
  sharedPrefixBlocks: number;
  numPrefixes: number;
  decodeBlocks: number;
  liveSequences: number;
  numMatchChains: number;
  tokensPerBlock: number;
  /** The same chained-hash function the manager's users call (native or reference). */
  chain: (ids: BigUint64Array, parent: bigint) => BigUint64Array;
}

export function makeKvWorkload(o: KvWorkloadOptions): KvBenchWorkload {
  const rng = new Rng(o.seed);
  const prefixes = Array.from({ length: o.numPrefixes }, () =>
    o.chain(BigUint64Array.from({ length: o.sharedPrefixBlocks }, () => rng.u64()), 0n));
  const requests: KvBenchRequest[] = [];
  for (let i = 0; i < o.numRequests; i++) {
    // Skewed prefix popularity: a few system prompts dominate, as in agent fleets.
    const prefix = prefixes[Math.min(o.numPrefixes - 1, Math.floor(o.numPrefixes * rng.next() ** 2))] as BigUint64Array;
    const suffixIds = BigUint64Array.from({ length: o.promptBlocks - o.sharedPrefixBlocks }, () => rng.u64());
    const suffix = o.chain(suffixIds, prefix[prefix.length - 1] ?? 0n);
    const promptHashes = new BigUint64Array(o.promptBlocks);
    promptHashes.set(prefix, 0);
    promptHashes.set(suffix, prefix.length);
    const decodeIds = BigUint64Array.from({ length: o.decodeBlocks }, () => rng.u64());
    const decodeChain = o.chain(decodeIds, promptHashes[promptHashes.length - 1] ?? 0n);
    const decodeHashes = Array.from(decodeChain, (hash) => BigUint64Array.of(hash));
    requests.push({ gpu: rng.int(o.numGpus), promptHashes, decodeHashes });
  }
  const matchChains: BigUint64Array[] = [];
  for (let i = 0; i < o.numMatchChains; i++) {
    if (rng.next() < 0.8) {
      // A recent request's prompt: likely still cached somewhere.
      const recent = requests[requests.length - 1 - rng.int(Math.min(requests.length, o.liveSequences * 2))] as KvBenchRequest;
      matchChains.push(recent.promptHashes);
    } else {
      matchChains.push(o.chain(BigUint64Array.from({ length: o.promptBlocks }, () => rng.u64()), 0n));
    }
  }
  const privateChains = Array.from({ length: 256 }, () => ({
    gpu: rng.int(o.numGpus),
    hashes: o.chain(BigUint64Array.from({ length: o.promptBlocks }, () => rng.u64()), 0n),
  }));
  return { tokensPerBlock: o.tokensPerBlock, liveSequences: o.liveSequences, requests, matchChains, privateChains };
}
