// `nvlsched chaos`: the fault-injection soak (scheduler/chaos/README.md). A gateway with local worker processes and
// its own Redis under mixed gRPC + HTTP load and a batch job, while a worker is SIGKILLed and restarted, another's
// connections are severed, and Redis is SIGKILLed and restarted; then every request must be accounted for exactly
// once and every worker's KV must be back at its baseline. Prints the table, then the report as one JSON line (the
// last stdout line); `--json` also writes it to a file. Exit 0 when every invariant holds, 1 with the violations,
// 2 for bad flags. Progress lines on stderr. Loopback only, bounded in time.
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

import { flagHelp, parseFlags, usageError, type FlagSpec } from './args.js';

const FLAGS: Record<string, FlagSpec> = {
  'duration-s': { type: 'number', help: 'seconds of load; the faults happen inside it (default 60)' },
  workers: { type: 'number', help: 'worker processes, one per GB200 tray, 2..18 (default 4)' },
  seed: { type: 'number', help: 'seed of the load and of the fault schedule (default 1)' },
  rate: { type: 'number', help: 'open-loop requests per second, besides the sessions (default 6)' },
  sessions: { type: 'number', help: 'terminal session chains running side by side (default 4)' },
  'batch-lines': { type: 'number', help: 'lines of the batch job drained during the soak (default 40)' },
  'settle-s': { type: 'number', help: 'bound on the wait after the load for requests, the batch and rejoins (default 60)' },
  'kv-blocks': { type: 'number', help: 'KV blocks of 16 tokens per GPU on each worker and in the gateway engine (default 1024; fewer: preemptions)' },
  pace: { type: 'string', help: 'worker steps: real (default: each takes its modelled time) or none' },
  json: { type: 'string', help: 'also write the report to this file' },
  verbose: { type: 'boolean', help: 'gateway, worker and drainer log lines on stderr' },
  help: { type: 'boolean', help: 'this text' },
};

export const CHAOS_DEFAULTS = { durationS: 60, workers: 4, seed: 1, ratePerS: 6, sessions: 4, batchLines: 40, settleS: 60 } as const;

function num(flags: Record<string, unknown>, name: string, fallback: number, ok: (v: number) => boolean, expected: string): number {
  const v = (flags[name] as number | undefined) ?? fallback;
  if (!ok(v)) throw usageError(`--${name}: expected ${expected}, got ${v}`);
  return v;
}

const int = (lo: number, hi: number) => (v: number): boolean => Number.isInteger(v) && v >= lo && v <= hi;

export async function run(argv: string[]): Promise<number> {
  const { flags, rest } = parseFlags(argv, FLAGS);
  if (flags.help) {
    process.stdout.write(`usage: nvlsched chaos [flags]\n\n${flagHelp(FLAGS)}\n`);
    return 0;
  }
  if (rest.length > 0) throw usageError(`chaos: unexpected argument '${rest[0]}'`);
  const durationS = num(flags, 'duration-s', CHAOS_DEFAULTS.durationS, (v) => v >= 2 && v <= 3600, 'a number of seconds in [2, 3600]');
  const workers = num(flags, 'workers', CHAOS_DEFAULTS.workers, int(2, 18), 'an integer in [2, 18] (one is killed, another cut: a third keeps serving)');
  const seed = num(flags, 'seed', CHAOS_DEFAULTS.seed, int(0, 2 ** 32 - 1), 'an integer in [0, 2^32)');
  const ratePerS = num(flags, 'rate', CHAOS_DEFAULTS.ratePerS, (v) => v > 0 && v <= 200, 'requests per second in (0, 200]');
  const sessions = num(flags, 'sessions', CHAOS_DEFAULTS.sessions, int(0, 64), 'an integer in [0, 64]');
  const batchLines = num(flags, 'batch-lines', CHAOS_DEFAULTS.batchLines, int(1, 10_000), 'an integer in [1, 10000]');
  const settleS = num(flags, 'settle-s', CHAOS_DEFAULTS.settleS, (v) => v >= 1 && v <= 3600, 'a number of seconds in [1, 3600]');
  const kvBlocksPerGpu = num(flags, 'kv-blocks', 1024, int(64, 1_000_000), 'an integer in [64, 1000000]');
  const pace = (flags.pace as string | undefined) ?? 'real';
  if (pace !== 'real' && pace !== 'none') throw usageError(`--pace: expected real or none, got '${pace}'`);
  const jsonPath = flags.json as string | undefined;
  if (jsonPath === '') throw usageError('--json: expected a file path');
  const { runSoak } = await import('../chaos/soak.js');
  const { soakTable } = await import('../chaos/report.js');
  const err = (line: string): void => void process.stderr.write(`${line}\n`);
  const report = await runSoak({ seed, durationS, workers, ratePerS, sessions, batchLines, settleS, pace, kvBlocksPerGpu, progress: err, ...(flags.verbose ? { log: err } : {}) });
  process.stdout.write(soakTable(report));
  if (report.log_tail.length > 0) err(`last log lines:\n${report.log_tail.join('\n')}`);
  const json = JSON.stringify(report);
  process.stdout.write(`${json}\n`);
  if (jsonPath !== undefined) writeFileSync(jsonPath, `${json}\n`);
  return report.ok ? 0 : 1;
}

// Until `chaos` is registered in commands.ts: `node --import tsx scheduler/cli/chaos.ts [flags]` runs it directly.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  run(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: Error & { code?: string }) => {
      process.stderr.write(`nvlsched chaos: ${error.code ? `${error.code}: ` : ''}${error.message}\n`);
      process.exitCode = error.code === 'E_USAGE' ? 2 : 1;
    },
  );
}
