// Batch drain throughput on a small rig: one simulated GB200 tray (4 instances, steps at zero model time: only the
// control plane and RPCs cost), a real Redis (REDIS_URL or a redis-server child). For each case, the same lines run
// (1) straight through the frontend at the same concurrency (no Redis: the ceiling) and (2) as a batch: submitted
// (validated, stored, queued), then drained to completion by a drainer. Prints a table, then one JSON object as the
// last stdout line. Run: `node --import tsx scheduler/batch/bench.ts [--lines n]`.
import { pathToFileURL } from 'node:url';

import type { Finished } from '../gateway/frontend.js';
import { startRig, SMALL, type Rig } from '../gateway/testing.js';
import { defaultTokenizer } from '../gateway/tokenizer.js';
import { startTestRedis } from '../tune/testing/redis_server.js';
import { flagHelp, parseFlags, usageError, type FlagSpec } from '../cli/args.js';
import { submitBatch, waitForBatch } from './client.js';
import { startBatchDrainer } from './drainer.js';
import { parseBody, validateBatchText } from './format.js';
import { batchLines, testQueue, validateContext } from './testing/rig.js';

const FLAGS: Record<string, FlagSpec> = {
  lines: { type: 'number', help: 'lines per case (default 400)' },
  help: { type: 'boolean', help: 'this text' },
};

interface CaseResult {
  max_tokens: number;
  max_in_flight: number;
  lines: number;
  direct_lines_per_s: number;
  submit_lines_per_s: number;
  drain_lines_per_s: number;
  drain_vs_direct: number;
}

/** The lines straight through the frontend, `inFlight` at a time: seconds to finish them all. */
async function direct(rig: Rig, text: string, inFlight: number): Promise<number> {
  const fe = rig.gateway.frontend;
  const cluster = rig.gateway.topology.cluster;
  const { lines } = validateBatchText(text, validateContext());
  let next = 0;
  let n = 0;
  const t0 = performance.now();
  const runOne = async (): Promise<void> => {
    for (;;) {
      const line = lines[next++];
      if (!line) return;
      const api = parseBody(line.url, line.body, { limits: { maxContextTokens: cluster.model.maxContextTokens, blockTokens: SMALL.blockTokens }, models: [cluster.pool.name, cluster.model.name], tokenizer: defaultTokenizer(), newRequestId: () => `direct-${++n}`, nowS: fe.now() });
      await new Promise<Finished | null>((resolve) => {
        const r = fe.start(api.parsed, { onTokens: () => {}, onEnd: resolve });
        if (!r.ok) resolve(null);
      });
    }
  };
  await Promise.all(Array.from({ length: inFlight }, runOne));
  return (performance.now() - t0) / 1000;
}

export async function run(argv: string[]): Promise<number> {
  const { flags, rest } = parseFlags(argv, FLAGS);
  if (flags.help) {
    process.stdout.write(`usage: node --import tsx scheduler/batch/bench.ts [flags]\n\n${flagHelp(FLAGS)}\n`);
    return 0;
  }
  if (rest.length) throw usageError(`batch bench: unexpected argument '${rest[0]}'`);
  const numLines = (flags.lines as number | undefined) ?? 400;
  if (!Number.isInteger(numLines) || numLines < 10 || numLines > 50_000) throw usageError(`--lines must be an integer in [10, 50000], got ${numLines}`);
  const redis = await startTestRedis();
  if ('skip' in redis) {
    process.stderr.write(`batch bench: ${redis.skip}\n`);
    return 1;
  }
  const rig = await startRig(1);
  const cluster = rig.gateway.topology.cluster;
  const results: CaseResult[] = [];
  try {
    for (const maxTokens of [4, 64]) {
      for (const inFlight of [8, 32]) {
        const text = batchLines(numLines, { maxTokens, idPrefix: `t${maxTokens}-f${inFlight}-` }).join('\n');
        const directS = await direct(rig, text, inFlight);
        const queue = testQueue('bench');
        const drainer = await startBatchDrainer({ frontend: rig.gateway.frontend, redisUrl: redis.url, queue, limits: { maxContextTokens: cluster.model.maxContextTokens, blockTokens: SMALL.blockTokens }, models: [cluster.pool.name, cluster.model.name], maxInFlight: inFlight, maxUnstarted: inFlight, idlePollMs: 5 });
        try {
          const t0 = performance.now();
          const sub = await submitBatch({ redisUrl: redis.url, queue, text, inputFile: 'bench.jsonl', validate: validateContext() });
          const t1 = performance.now();
          await waitForBatch({ redisUrl: redis.url, queue }, sub.id, { timeoutMs: 600_000, pollMs: 20 });
          const t2 = performance.now();
          const drainS = (t2 - t1) / 1000;
          results.push({
            max_tokens: maxTokens,
            max_in_flight: inFlight,
            lines: numLines,
            direct_lines_per_s: Math.round(numLines / directS),
            submit_lines_per_s: Math.round(numLines / ((t1 - t0) / 1000)),
            drain_lines_per_s: Math.round(numLines / drainS),
            drain_vs_direct: Number((directS / drainS).toFixed(2)),
          });
        } finally {
          await drainer.stop();
        }
      }
    }
  } finally {
    await rig.close();
    await redis.stop();
  }
  const cols = ['max_tokens', 'max_in_flight', 'lines', 'direct_lines_per_s', 'submit_lines_per_s', 'drain_lines_per_s', 'drain_vs_direct'] as const;
  process.stdout.write(`batch drain on 1 simulated ${cluster.name} tray (${rig.gateway.topology.instances.length} instances of ${cluster.model.name}, zero-time steps), Redis ${redis.url}\n`);
  process.stdout.write(`| ${cols.join(' | ')} |\n| ${cols.map(() => '---').join(' | ')} |\n`);
  for (const r of results) process.stdout.write(`| ${cols.map((c) => String(r[c])).join(' | ')} |\n`);
  process.stdout.write(`${JSON.stringify({ bench: 'batch', cases: results })}\n`);
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  run(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (error: Error & { code?: string }) => {
      process.stderr.write(`batch bench: ${error.message}\n`);
      process.exitCode = error.code === 'E_USAGE' ? 2 : 1;
    },
  );
}
