// `nvlsched batch`: OpenAI-style batch jobs on Redis, drained by gateways started with `serve --redis` (scheduler/
// batch/README.md). Subcommands:
//   submit <file.jsonl>  validate every line, store, queue → one JSON line {"id","total","chunks","skipped"}
//   status <id>          the batch object (status, request_counts) as one JSON line
//   cancel <id>          cancel; lines without a result get a cancelled one → the batch object
//   requeue <id>         queue again the chunks an unfinished batch lost → {"id","added","retried","status"}
//   results <id>         output lines in input order (stdout, or --out file); pending lines are counted on stderr
//   wait <id>            until completed, cancelled or failed (--progress: a bar on stderr) → the batch object
//   list                 the newest batches, one JSON line each
// Bad flags, a bad file (every bad line listed with its number) and an unreachable --redis exit 2 with the reason.
import { createWriteStream, existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

import { flagHelp, parseFlags, usageError, type FlagSpec } from './args.js';
import { checkQueueName, checkRedisUrl } from '../tune/redis_url.js';
import { getModel, MODEL_NAMES } from '../perf/models.js';

const SUBCOMMANDS = ['submit', 'status', 'cancel', 'requeue', 'results', 'wait', 'list'] as const;
type Sub = (typeof SUBCOMMANDS)[number];

const FLAGS: Record<string, FlagSpec> = {
  redis: { type: 'string', help: 'redis://host:port of the batch queue (required)' },
  queue: { type: 'string', help: 'queue name, also the key namespace (default nvlsched-batch)' },
  'skip-invalid': { type: 'boolean', help: 'submit: report bad lines on stderr and submit the others' },
  'chunk-lines': { type: 'number', help: 'submit: lines per queue job; gateways drain chunks side by side (default 100)' },
  model: { type: 'string', help: `submit: the context limit lines are checked against (default llama-3.1-70b; one of ${MODEL_NAMES.join(', ')})` },
  out: { type: 'string', help: 'results: write here instead of stdout' },
  progress: { type: 'boolean', help: 'wait: a progress bar on stderr' },
  'timeout-s': { type: 'number', help: 'wait: give up after this long, exit 1 (default 86400)' },
  limit: { type: 'number', help: 'list: how many (default 20)' },
  help: { type: 'boolean', help: 'this text' },
};

/** Flags each subcommand takes besides --redis, --queue and --help. */
const OWN_FLAGS: Readonly<Record<Sub, readonly string[]>> = {
  submit: ['skip-invalid', 'chunk-lines', 'model'],
  status: [],
  cancel: [],
  requeue: [],
  results: ['out'],
  wait: ['progress', 'timeout-s'],
  list: ['limit'],
};

export interface BatchArgs {
  sub: Sub;
  /** The file (submit) or the batch id. */
  target: string;
  redisUrl: string;
  queue: string;
  skipInvalid: boolean;
  chunkLines: number;
  model: string;
  out?: string;
  progress: boolean;
  timeoutS: number;
  limit: number;
}

export interface BatchIo {
  stdout: (text: string) => void;
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

const MAX_PROBLEMS_SHOWN = 20;

function intFlag(flags: Record<string, unknown>, name: string, fallback: number, min: number, max: number): number {
  const v = (flags[name] as number | undefined) ?? fallback;
  if (!Number.isInteger(v) || v < min || v > max) throw usageError(`--${name} must be an integer in [${min}, ${max}], got ${v}`);
  return v;
}

export function help(): string {
  return `usage: nvlsched batch <${SUBCOMMANDS.join('|')}> [file.jsonl | batch id] --redis <redis://host:port> [flags]\n\n${flagHelp(FLAGS)}\n`;
}

export function parseBatchArgs(argv: string[]): BatchArgs | 'help' {
  const { flags, rest } = parseFlags(argv, FLAGS);
  if (flags.help) return 'help';
  const [sub, target, extra] = rest;
  if (sub === undefined) throw usageError(`batch: a subcommand is required: ${SUBCOMMANDS.join(', ')}`);
  if (!(SUBCOMMANDS as readonly string[]).includes(sub)) throw usageError(`batch: unknown subcommand '${sub}'; expected ${SUBCOMMANDS.join(', ')}`);
  const s = sub as Sub;
  for (const name of Object.keys(flags)) {
    if (!['redis', 'queue', 'help'].includes(name) && !OWN_FLAGS[s].includes(name)) throw usageError(`--${name}: not a flag of batch ${s}`);
  }
  if (s !== 'list' && target === undefined) throw usageError(`batch ${s}: ${s === 'submit' ? 'the JSONL file' : 'the batch id'} is required`);
  if (extra !== undefined || (s === 'list' && target !== undefined)) throw usageError(`batch ${s}: unexpected argument '${extra ?? target}'`);
  if (typeof flags.redis !== 'string') throw usageError('--redis <redis://host:port> is required (the Redis the gateways drain batches from)');
  const model = (flags.model as string | undefined) ?? 'llama-3.1-70b';
  if (!MODEL_NAMES.includes(model)) throw usageError(`--model: unknown '${model}'; expected ${MODEL_NAMES.join(', ')}`);
  if (s === 'submit') {
    const file = target as string;
    if (!existsSync(file)) throw usageError(`batch submit: no such file '${file}'`);
    if (!statSync(file).isFile()) throw usageError(`batch submit: '${file}' is not a file`);
  }
  const args: BatchArgs = {
    sub: s,
    target: target ?? '',
    redisUrl: checkRedisUrl(flags.redis),
    queue: checkQueueName((flags.queue as string | undefined) ?? 'nvlsched-batch'),
    skipInvalid: flags['skip-invalid'] === true,
    chunkLines: intFlag(flags, 'chunk-lines', 100, 1, 100_000),
    model,
    progress: flags.progress === true,
    timeoutS: intFlag(flags, 'timeout-s', 86_400, 1, 30 * 86_400),
    limit: intFlag(flags, 'limit', 20, 1, 10_000),
  };
  if (typeof flags.out === 'string') {
    const dir = path.dirname(path.resolve(flags.out));
    if (!existsSync(dir)) throw usageError(`--out: directory '${dir}' does not exist`);
    args.out = flags.out;
  }
  return args;
}

/** An unreachable server is a bad --redis (exit 2), as tune and tune-worker have it. */
function asUsage(error: unknown): never {
  const e = error as Error;
  if (/^cannot reach Redis at /.test(e.message)) throw usageError(`--redis: ${e.message}`);
  throw e;
}

export async function runBatch(a: BatchArgs, io: BatchIo): Promise<number> {
  const batch = await import('../batch/client.js');
  const { batchView, statusOf } = await import('../batch/store.js');
  const o = { redisUrl: a.redisUrl, queue: a.queue };
  const print = (v: unknown): void => io.stdout(`${JSON.stringify(v)}\n`);
  try {
    switch (a.sub) {
      case 'submit': {
        const { defaultTokenizer } = await import('../gateway/tokenizer.js');
        const { MAX_BATCH_BYTES } = await import('../batch/format.js');
        if (statSync(a.target).size > MAX_BATCH_BYTES) throw usageError(`batch submit: '${a.target}' is over ${MAX_BATCH_BYTES / 1024 / 1024} MiB (OpenAI's batch file limit)`);
        const validate = { limits: { maxContextTokens: getModel(a.model).maxContextTokens, blockTokens: 16 }, tokenizer: defaultTokenizer() };
        try {
          const s = await batch.submitBatch({ ...o, text: readFileSync(a.target, 'utf8'), inputFile: path.basename(a.target), validate, skipInvalid: a.skipInvalid, chunkLines: a.chunkLines });
          for (const p of s.skipped.slice(0, MAX_PROBLEMS_SHOWN)) io.stderr.write(`skipped ${p.message}\n`);
          if (s.skipped.length > MAX_PROBLEMS_SHOWN) io.stderr.write(`skipped ${s.skipped.length - MAX_PROBLEMS_SHOWN} more invalid line(s)\n`);
          print({ id: s.id, total: s.total, chunks: s.chunks, skipped: s.skipped.length });
          return 0;
        } catch (error) {
          if (!(error instanceof batch.BatchInputError) || error.problems.length === 0) throw error;
          for (const p of error.problems.slice(0, MAX_PROBLEMS_SHOWN)) io.stderr.write(`${p.message}\n`);
          if (error.problems.length > MAX_PROBLEMS_SHOWN) io.stderr.write(`... and ${error.problems.length - MAX_PROBLEMS_SHOWN} more\n`);
          io.stderr.write(`nvlsched: batch submit: ${error.message}\n`);
          return 2;
        }
      }
      case 'status':
        print(batchView(await batch.batchMeta(o, a.target)));
        return 0;
      case 'cancel':
        print(batchView(await batch.cancelBatch(o, a.target)));
        return 0;
      case 'requeue': {
        const r = await batch.requeueBatch(o, a.target);
        print({ id: a.target, added: r.added, retried: r.retried, status: statusOf(r.meta) });
        return 0;
      }
      case 'results':
        return await results(a, io);
      case 'wait': {
        const { makeBatchProgressBar } = await import('../batch/progress.js');
        const bar = a.progress ? makeBatchProgressBar(io.stderr, `batch ${a.target}: `) : undefined;
        const m = await batch.waitForBatch(o, a.target, { timeoutMs: a.timeoutS * 1000, ...(bar ? { onProgress: (x) => bar.update(x) } : {}), log: (l) => io.stderr.write(`batch wait: ${l}\n`) });
        bar?.finish(m);
        print(batchView(m));
        return statusOf(m) === 'failed' ? 1 : 0;
      }
      case 'list': {
        const { failFastClient, connectOrExplain } = await import('../batch/redis_conn.js');
        const { BatchStore } = await import('../batch/store.js');
        const client = failFastClient(a.redisUrl, 5000);
        try {
          await connectOrExplain(client, a.redisUrl);
          for (const m of await new BatchStore(client, a.queue).list(a.limit)) print(batchView(m));
        } finally {
          client.disconnect();
        }
        return 0;
      }
    }
  } catch (error) {
    asUsage(error);
  }
}

async function results(a: BatchArgs, io: BatchIo): Promise<number> {
  const { eachBatchResult } = await import('../batch/client.js');
  const o = { redisUrl: a.redisUrl, queue: a.queue };
  if (a.out === undefined) {
    const r = await eachBatchResult(o, a.target, (l) => io.stdout(`${l}\n`));
    if (r.pending > 0) io.stderr.write(`batch ${a.target}: ${r.pending} line(s) have no result yet\n`);
    return 0;
  }
  const file = createWriteStream(a.out);
  const opened = new Promise<void>((resolve, reject) => file.once('open', () => resolve()).once('error', reject));
  await opened;
  const r = await eachBatchResult(o, a.target, (l) => new Promise<void>((resolve, reject) => file.write(`${l}\n`, (e) => (e ? reject(e) : resolve())))).finally(
    () => new Promise<void>((resolve) => file.end(() => resolve())),
  );
  io.stderr.write(`batch ${a.target}: ${r.written} result(s) written to ${a.out}${r.pending > 0 ? `; ${r.pending} line(s) have no result yet` : ''}\n`);
  return 0;
}

export async function run(argv: string[]): Promise<number> {
  const args = parseBatchArgs(argv);
  if (args === 'help') {
    process.stdout.write(help());
    return 0;
  }
  return runBatch(args, { stdout: (t) => void process.stdout.write(t), stderr: process.stderr });
}
