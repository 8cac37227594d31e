// `nvlsched tune-worker --redis <url>`: runs the trials `nvlsched tune --redis` puts on BullMQ, on this machine,
// until SIGTERM or SIGINT (the first finishes the trials in flight, a second abandons them to another worker). When
// it takes jobs it prints one JSON line on stdout: {"event":"ready","worker":<name>,"queue":<queue>}; progress goes
// to stderr. Trace and mix paths in a trial are read here at the coordinator's absolute path. Bad flags and an
// unreachable Redis exit 2 with a one-line reason.
import { hostname } from 'node:os';
import { flagHelp, parseFlags, usageError, type FlagSpec } from './args.js';
import { checkQueueName, checkRedisUrl } from '../tune/redis_url.js';
import { TUNE_DEFAULTS } from './tune.js';
import { TUNE_WORKER_DEFAULTS, type TuneWorkerOptions } from '../tune/bull_worker.js';

const FLAGS: Record<string, FlagSpec> = {
  redis: { type: 'string', help: 'redis://host:port of the tuning queue (required)' },
  queue: { type: 'string', help: `BullMQ queue name (default ${TUNE_DEFAULTS.queue})` },
  concurrency: { type: 'number', help: `trials at once, each in its own simulator process (default ${TUNE_WORKER_DEFAULTS.concurrency})` },
  name: { type: 'string', help: 'this worker\'s name in results and logs (default host:pid)' },
  'lock-ms': { type: 'number', help: `job lock: a killed worker's trial is retried elsewhere after it expires (default ${TUNE_WORKER_DEFAULTS.lockMs})` },
  'stalled-interval-ms': { type: 'number', help: `how often this worker looks for stalled trials (default ${TUNE_WORKER_DEFAULTS.stalledIntervalMs})` },
  'max-stalled': { type: 'number', help: `times one trial may be recovered from a dead worker before it fails (default ${TUNE_WORKER_DEFAULTS.maxStalled})` },
  help: { type: 'boolean', help: 'this text' },
};

function integerFlag(flags: Record<string, unknown>, name: string, fallback: number, min: number, max: number): number {
  const value = (flags[name] as number | undefined) ?? fallback;
  if (!Number.isInteger(value) || value < min || value > max) throw usageError(`--${name} must be an integer in [${min}, ${max}], got ${value}`);
  return value;
}

export type TuneWorkerArgs = Omit<TuneWorkerOptions, 'log'>;

export async function parseTuneWorkerArgs(argv: string[]): Promise<TuneWorkerArgs | 'help'> {
  const { flags, rest } = parseFlags(argv, FLAGS);
  if (flags.help) return 'help';
  if (rest.length) throw usageError(`tune-worker: unexpected argument '${rest[0]}'; flags start with --`);
  if (typeof flags.redis !== 'string') throw usageError('--redis <redis://host:port> is required (the queue `nvlsched tune --redis` fills)');
  const lockMs = integerFlag(flags, 'lock-ms', TUNE_WORKER_DEFAULTS.lockMs, 100, 3_600_000);
  return {
    redisUrl: checkRedisUrl(flags.redis),
    queue: checkQueueName((flags.queue as string | undefined) ?? TUNE_DEFAULTS.queue),
    name: (flags.name as string | undefined) ?? `${hostname()}:${process.pid}`,
    concurrency: integerFlag(flags, 'concurrency', TUNE_WORKER_DEFAULTS.concurrency, 1, 256),
    lockMs,
    stalledIntervalMs: integerFlag(flags, 'stalled-interval-ms', TUNE_WORKER_DEFAULTS.stalledIntervalMs, 100, 3_600_000),
    maxStalled: integerFlag(flags, 'max-stalled', TUNE_WORKER_DEFAULTS.maxStalled, 1, 1000),
  };
}

export async function run(argv: string[]): Promise<number> {
  const args = await parseTuneWorkerArgs(argv);
  if (args === 'help') {
    process.stdout.write(`usage: nvlsched tune-worker --redis <redis://host:port> [flags]\n\n${flagHelp(FLAGS)}\n`);
    return 0;
  }
  const log = (line: string) => void process.stderr.write(`tune-worker ${args.name}: ${line}\n`);
  const { pingRedis } = await import('../tune/redis.js');
  await pingRedis(args.redisUrl, TUNE_DEFAULTS.redisTimeoutS * 1000).catch((err: Error) => {
    throw usageError(`--redis: ${err.message}`);
  });
  const { startTuneWorker } = await import('../tune/bull_worker.js');
  const worker = await startTuneWorker({ ...args, log });
  process.stdout.write(`${JSON.stringify({ event: 'ready', worker: args.name, queue: args.queue })}\n`);
  return new Promise<number>((resolve) => {
    let signals = 0;
    const stop = (signal: string) => {
      signals++;
      const force = signals > 1;
      log(`${signal}: ${force ? 'abandoning the trials in flight' : 'finishing the trials in flight (again to abandon them)'}`);
      // BullMQ keeps reconnecting while Redis is down; once closed, nothing of ours is left, so exit regardless.
      if (signals <= 2) void worker.close(force).then(() => {
        resolve(0);
        setTimeout(() => process.exit(0), 200).unref();
      });
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });
}
