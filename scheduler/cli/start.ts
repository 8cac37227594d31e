// `nvlsched start`: the main job on an embedded default. Until the gateway and simulated workers exist (later
// issues), it drives the native KV manager of one GB200 NVL72 rack with a short mixed-shape workload — agent tool
// calls sharing a system+tools prefix, long reasoning decodes with reserved room, multi-turn terminal sessions
// whose KV is demoted to Grace between turns and promoted back — and prints what the KV layer did per shape.
import { parseFlags } from './args.js';
import { chainHashes, NativeKvManager } from '../kv/native.js';
import type { KvManager, KvManagerConfig } from '../kv/types.js';
import { Rng } from '../util/random.js';

type ShapeName = 'tool_call' | 'reasoning' | 'terminal';

interface ShapeTally {
  requests: number;
  promptTokens: number;
  cachedTokens: number;
  outputTokens: number;
  transferBytes: number;
  transferSeconds: number;
}

const TOKENS_PER_BLOCK = 16;

export const START_CONFIG: KvManagerConfig = {
  topology: 'gb200-nvl72',
  // Llama-3.1-70B bf16 at TP4 across each tray: 35 GB of weights per GPU.
  layout: { numLayers: 80, numKvHeads: 8, headDim: 128, mlaLatentDim: 0, bytesPerElement: 2, tensorParallel: 4 },
  tokensPerBlock: TOKENS_PER_BLOCK,
  weightsBytesPerGpu: 35e9,
  dataMode: 'metadata',
};

function randomIds(rng: Rng, count: number): BigUint64Array {
  return BigUint64Array.from({ length: count }, () => rng.u64());
}

/** The chain `parent` extended by `ids` (chained like trace hash ids: the manager hashes nothing itself). */
function extend(parent: BigUint64Array, ids: BigUint64Array): BigUint64Array {
  const tail = chainHashes(ids, parent[parent.length - 1] ?? 0n);
  const out = new BigUint64Array(parent.length + tail.length);
  out.set(parent, 0);
  out.set(tail, parent.length);
  return out;
}

/** The GPU holding the longest device prefix, else the least used one. */
function place(kv: KvManager, hashes: BigUint64Array, usedBlocks: Int32Array): number {
  let best = -1;
  let bestBlocks = 0;
  for (const match of kv.matchPrefix(hashes)) {
    if (match.deviceBlocks > bestBlocks) {
      best = match.gpu;
      bestBlocks = match.deviceBlocks;
    }
  }
  if (best >= 0) return best;
  let least = 0;
  for (let g = 1; g < usedBlocks.length; g++) if ((usedBlocks[g] as number) < (usedBlocks[least] as number)) least = g;
  return least;
}

export async function runStartWorkload(kv: KvManager, seed: number): Promise<Record<ShapeName, ShapeTally>> {
  const rng = new Rng(seed);
  const tally = (): ShapeTally => ({ requests: 0, promptTokens: 0, cachedTokens: 0, outputTokens: 0, transferBytes: 0, transferSeconds: 0 });
  const out: Record<ShapeName, ShapeTally> = { tool_call: tally(), reasoning: tally(), terminal: tally() };
  const used = new Int32Array(kv.numGpus);
  const systemPrefix = chainHashes(randomIds(rng, 512)); // 8K tokens of system prompt + tool schemas

  const run = (shape: ShapeName, hashes: BigUint64Array, extraTokens: number, outputTokens: number): number => {
    const gpu = place(kv, hashes, used);
    const numTokens = hashes.length * TOKENS_PER_BLOCK + extraTokens;
    const alloc = kv.allocate({ gpu, numTokens, blockHashes: hashes, reserveTokens: outputTokens });
    used[gpu] = (used[gpu] as number) + alloc.newBlocks;
    kv.append(alloc.seqId, outputTokens);
    const t = out[shape];
    t.requests++;
    t.promptTokens += numTokens;
    t.cachedTokens += alloc.cachedBlocks * TOKENS_PER_BLOCK;
    t.outputTokens += outputTokens;
    return alloc.seqId;
  };

  // Terminal sessions: each turn extends the previous context; between turns the KV goes to Grace.
  const sessions = Array.from({ length: 24 }, () => ({ hashes: systemPrefix, seqId: 0 }));
  for (let turn = 0; turn < 6; turn++) {
    for (const session of sessions) {
      if (session.seqId) {
        const plan = await kv.promote(session.seqId);
        out.terminal.transferBytes += plan.bytes;
        out.terminal.transferSeconds += plan.estimatedSeconds;
        kv.free(session.seqId);
      }
      session.hashes = extend(session.hashes, randomIds(rng, 64 + rng.int(256)));
      session.seqId = run('terminal', session.hashes, rng.int(TOKENS_PER_BLOCK), 200 + rng.int(600));
      const plan = await kv.demote(session.seqId);
      out.terminal.transferBytes += plan.bytes;
      out.terminal.transferSeconds += plan.estimatedSeconds;
    }
    // Tool calls between turns: the shared prefix plus a short request, short outputs.
    for (let i = 0; i < 300; i++) {
      const seqId = run('tool_call', extend(systemPrefix, randomIds(rng, 1 + rng.int(8))), rng.int(TOKENS_PER_BLOCK), 20 + rng.int(200));
      kv.free(seqId);
    }
    for (let i = 0; i < 20; i++) {
      const seqId = run('reasoning', chainHashes(randomIds(rng, 32 + rng.int(128))), 0, 800 + rng.int(8000));
      kv.free(seqId);
    }
  }
  for (const session of sessions) kv.free(session.seqId);
  return out;
}

export async function run(argv: string[]): Promise<number> {
  const { flags } = parseFlags(argv, {
    json: { type: 'boolean', help: 'print only JSON' },
    seed: { type: 'number', help: 'workload seed (default 7)' },
  });
  const kv = new NativeKvManager(START_CONFIG);
  const startedMs = Date.now();
  const report = await runStartWorkload(kv, Number(flags.seed ?? 7));
  const stats = kv.stats();
  const evictions = stats.pools.reduce((sum, p) => sum + p.evictions, 0);
  kv.close();
  const elapsedS = (Date.now() - startedMs) / 1000;
  if (flags.json) {
    process.stdout.write(JSON.stringify({ topology: 'gb200-nvl72', shapes: report, bytesMovedByLink: stats.bytesMovedByLink, evictions, elapsedS }) + '\n');
    return 0;
  }
  process.stdout.write(`nvlsched start: KV layer of one GB200 NVL72 rack (72 GPUs, Llama-3.1-70B bf16, TP4), ` +
    `mixed agent workload; the gateway and simulated workers replace this demo in later releases.\n\n`);
  process.stdout.write('| shape | requests | prompt tokens | prefix-cache hit | output tokens | KV moved (GB) | est. transfer s |\n');
  process.stdout.write('| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n');
  for (const [shape, t] of Object.entries(report)) {
    const hit = t.promptTokens ? ((100 * t.cachedTokens) / t.promptTokens).toFixed(1) + ' %' : '-';
    process.stdout.write(`| ${shape} | ${t.requests} | ${t.promptTokens.toLocaleString('en-US')} | ${hit} | ` +
      `${t.outputTokens.toLocaleString('en-US')} | ${(t.transferBytes / 1e9).toFixed(2)} | ${t.transferSeconds.toFixed(4)} |\n`);
  }
  const links = Object.entries(stats.bytesMovedByLink).filter(([, b]) => b > 0).map(([l, b]) => `${l} ${(b / 1e9).toFixed(2)} GB`);
  process.stdout.write(`\nbytes moved by link: ${links.join(', ') || 'none'}; evictions: ${evictions}; ran in ${elapsedS.toFixed(2)} s\n`);
  return 0;
}
