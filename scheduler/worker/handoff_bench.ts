// Bench: a KV hand-off between two worker processes over loopback TCP (gRPC, not NVLink), real bytes.
//   node --import tsx scheduler/worker/handoff_bench.ts [--tokens 32768] [--trials 3] [--max-chunk-bytes 4194304]
//        [--layers-per-chunk 1] [--tp 4] [--metadata] [--json]
// Two children (this file with --child) each serve one tray of a GB200 NVL72 with llama-3.1-70b KV in bytes mode
// (host memory). The source prefills one sequence, fills its KV with a pattern (pages really written, so the export
// reads real memory), then the gateway's handOffSequence moves it to the other worker; each trial moves it back the
// other way. Prints JSON and a table: bytes, chunks, elapsed, first layer ready, bytes/s, and the native cost
// model's NVLink estimate for the same bytes. The KV is one GPU's tensor-parallel shard (what one tray-local
// manager holds); a real hand-off moves the tp shards in parallel, one per GPU pair. --metadata: the same protocol
// with KV metadata only (chunk messages without bytes): the hand-off's own cost.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface, type Interface } from 'node:readline';

import { handOffSequence, type HandoffDone } from '../gateway/handoff.js';
import { startWorker } from './worker.js';
import { connect, StepStream } from './testing.js';

interface ChildConfig {
  tray: number;
  tp: number;
  kvBlocks: number;
  kvData: 'bytes' | 'metadata';
}

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v <= 0) throw new RangeError(`--${name}: expected a positive number, got ${process.argv[i + 1]}`);
  return v;
}

/** The child: a bytes-mode worker that also fills a sequence's KV when told on stdin ("fill <instance> <seq> <tokens>"). */
async function child(config: ChildConfig): Promise<void> {
  const w = await startWorker({ topology: 'gb200-nvl72', tray: config.tray, model: 'llama-3.1-70b', tensorParallel: config.tp, kvBlocksPerGpu: config.kvBlocks, hostKvBlocks: 1, kvData: config.kvData, seed: 1 }, { port: 0 });
  process.stdout.write(`${JSON.stringify({ event: 'listening', grpc: w.port, bytesPerToken: w.backend.kv.bytesPerToken })}\n`);
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    const [cmd, instance, seq, tokens] = line.split(' ');
    if (cmd === 'fill') {
      const bpt = w.backend.kv.bytesPerToken;
      const per = 256;
      const buf = new Uint8Array(per * bpt);
      for (let i = 0; i < buf.length; i++) buf[i] = (i * 31 + 7) & 255;
      for (let t = 0; t < Number(tokens); t += per) {
        const n = Math.min(per, Number(tokens) - t);
        buf[0] = t & 255;
        w.backend.writeKv(instance as string, Number(seq), t, n === per ? buf : buf.subarray(0, n * bpt));
      }
      process.stdout.write(`${JSON.stringify({ event: 'filled' })}\n`);
    } else if (cmd === 'stats') {
      const h = w.backend.kv.handoffStats();
      process.stdout.write(`${JSON.stringify({ event: 'stats', held: h.pinnedBlocks + h.reservedBlocks, live: w.backend.liveSequences })}\n`);
    }
  });
  process.stdin.on('end', () => void w.server.close(0).then(() => process.exit(0)));
}

interface Running {
  proc: ChildProcess;
  lines: Interface;
  port: number;
  bytesPerToken: number;
}

function nextLine(r: { lines: Interface }): Promise<Record<string, unknown>> {
  return new Promise((resolve) => r.lines.once('line', (l) => resolve(JSON.parse(l) as Record<string, unknown>)));
}

async function spawnChild(config: ChildConfig): Promise<Running> {
  const proc = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--child', JSON.stringify(config)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: proc.stdout as NodeJS.ReadableStream });
  const first = await nextLine({ lines });
  return { proc, lines, port: first.grpc as number, bytesPerToken: first.bytesPerToken as number };
}

async function main(): Promise<void> {
  const tokens = flag('tokens', 32768);
  const trials = flag('trials', 3);
  const maxChunkBytes = flag('max-chunk-bytes', 4 * 1024 * 1024);
  const layersPerChunk = flag('layers-per-chunk', 1);
  const tp = flag('tp', 4);
  const json = process.argv.includes('--json');
  const kvData = process.argv.includes('--metadata') ? 'metadata' : 'bytes';
  const kvBlocks = Math.ceil(tokens / 64) + 4;
  const workers = [await spawnChild({ tray: 0, tp, kvBlocks, kvData }), await spawnChild({ tray: 1, tp, kvBlocks, kvData })];
  const clients = workers.map((w) => connect(w.port));
  const rows: Array<HandoffDone & { trial: number; from: number; gbPerS: number }> = [];
  try {
    const step = new StepStream(clients[0]!);
    const r = await step.send({ stepId: '1', instanceId: 'i0', sequences: [{ seqId: 1, gpu: 0, numTokens: tokens, isPrefill: true }] });
    if (r.errorCode) throw new Error(`prefill: ${r.errorCode}: ${r.errorMessage}`);
    if (kvData === 'bytes') {
      workers[0]!.proc.stdin?.write(`fill i0 1 ${tokens}\n`);
      await nextLine(workers[0]!);
    }
    for (let t = 0; t < trials; t++) {
      const from = t % 2;
      const to = 1 - from;
      const out = await handOffSequence({
        source: clients[from]!, instanceId: `i${from}`, seqId: 1,
        destination: { address: `127.0.0.1:${workers[to]!.port}`, instanceId: `i${to}`, seqId: 1, gpu: 0 },
        layersPerChunk, maxChunkBytes, timeoutMs: 120_000,
      });
      if (!out.ok) throw new Error(`trial ${t}: ${out.code}: ${out.message}`);
      rows.push({ ...out, trial: t, from, gbPerS: out.bytesSent / (out.elapsedMs / 1000) / 1e9 });
    }
    await step.end();
  } finally {
    for (const c of clients) c.close();
    for (const w of workers) w.proc.stdin?.end();
    await Promise.all(workers.map((w) => new Promise((resolve) => (w.proc.exitCode !== null ? resolve(null) : w.proc.once('exit', resolve)))));
  }
  const summary = {
    transport: 'gRPC over loopback TCP between two worker processes (not NVLink)',
    model: 'llama-3.1-70b', tensorParallel: tp, kvData, tokens, bytesPerToken: workers[0]!.bytesPerToken, layersPerChunk, maxChunkBytes,
    trials: rows.map((r) => ({ trial: r.trial, from: r.from, bytes: r.bytesSent, chunks: r.chunksSent, elapsedMs: round(r.elapsedMs), firstLayerMs: round(r.firstLayerMs), gbPerS: round(r.gbPerS, 3), modelBytes: tokens * workers[0]!.bytesPerToken, nvlinkEstimateMs: round(r.estimatedS * 1000) })),
    bestGbPerS: round(Math.max(...rows.map((r) => r.gbPerS)), 3),
  };
  if (json) {
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  }
  process.stdout.write(`\n${summary.transport}; ${summary.model} tp${tp} KV shard of one GPU, ${tokens} tokens x ${summary.bytesPerToken} B, KV ${kvData}\n`);
  process.stdout.write('| trial | bytes | chunks | elapsed ms | first layer ms | GB/s | NVLink model ms |\n| ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n');
  for (const t of summary.trials) process.stdout.write(`| ${t.trial} (${t.from}→${1 - t.from}) | ${t.bytes} | ${t.chunks} | ${t.elapsedMs} | ${t.firstLayerMs} | ${t.gbPerS} | ${t.nvlinkEstimateMs} |\n`);
}

function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

const childAt = process.argv.indexOf('--child');
if (childAt >= 0) void child(JSON.parse(process.argv[childAt + 1] as string) as ChildConfig);
else await main();
