// The soak's worker processes: `nvlsched worker` children as gateway/local_workers.ts starts them, plus what the soak
// needs and that file does not give: each worker's Prometheus port (`--metrics-port 0`, read from the listening
// line: the KV leak check scrapes it), the pid of every child ever started (the "nothing left running" check), and
// kill/restart on the same gRPC port. Every wait is bounded; stop() SIGTERMs, then SIGKILLs what is left.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export interface ChaosWorkerOptions {
  count: number;
  topology: string;
  model: string;
  tensorParallel: number;
  kvBlocksPerGpu: number;
  blockTokens: number;
  seed: number;
  pace: 'none' | 'real';
  startTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface ChaosWorkers {
  /** gRPC ports by tray (a restart keeps the port). */
  ports: number[];
  /** The current /metrics port of each tray's worker (a restart gets a new one). */
  metricsPort(tray: number): number;
  /** Every child pid started, in start order (killed ones included). */
  readonly pids: readonly number[];
  kill(tray: number): Promise<void>;
  restart(tray: number): Promise<void>;
  stop(): Promise<void>;
}

const STOP_GRACE_MS = 5000;

/** The CLI entry the children run: main.ts beside this file's cli/ folder under tsx, main.js in the built dist/. */
function cliPath(): string {
  const here = fileURLToPath(import.meta.url);
  return path.join(path.dirname(here), '..', 'cli', `main${path.extname(here)}`);
}

/** This process's loader flags (tsx in development), without the test runner's own flags. */
function nodeFlags(): string[] {
  return process.execArgv.filter((a) => !a.startsWith('--test'));
}

function args(o: ChaosWorkerOptions, tray: number, port: number): string[] {
  return [
    'worker', '--port', String(port), '--metrics-port', '0', '--tray', String(tray), '--topology', o.topology, '--model', o.model,
    '--tensor-parallel', String(o.tensorParallel), '--kv-blocks', String(o.kvBlocksPerGpu), '--block-tokens', String(o.blockTokens),
    '--seed', String(o.seed), '--pace', o.pace, '--drain-timeout', '1',
  ];
}

function listening(child: ChildProcess, tray: number, timeoutMs: number): Promise<{ grpc: number; metrics: number }> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    const timer = setTimeout(() => fail(new Error(`worker of tray ${tray} printed no listening line in ${timeoutMs} ms`)), timeoutMs);
    const onExit = (code: number | null): void => fail(new Error(`worker of tray ${tray} exited (${code}) before listening`));
    const fail = (e: Error): void => {
      clearTimeout(timer);
      child.off('exit', onExit);
      reject(e);
    };
    lines.once('line', (line) => {
      clearTimeout(timer);
      child.off('exit', onExit);
      try {
        const msg = JSON.parse(line) as { event?: string; grpc?: number; metrics?: number };
        if (msg.event === 'listening' && typeof msg.grpc === 'number' && typeof msg.metrics === 'number') return resolve({ grpc: msg.grpc, metrics: msg.metrics });
      } catch {
        // falls through to the error below
      }
      reject(new Error(`worker of tray ${tray}: unexpected first line ${line}`));
    });
    child.once('exit', onExit);
  });
}

const exited = (c: ChildProcess): boolean => c.exitCode !== null || c.signalCode !== null;

function waitExit(c: ChildProcess, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  if (exited(c)) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => c.kill('SIGKILL'), graceMs);
    c.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    c.kill(signal);
  });
}

export async function startChaosWorkers(o: ChaosWorkerOptions): Promise<ChaosWorkers> {
  const current: ChildProcess[] = [];
  const all: ChildProcess[] = [];
  const pids: number[] = [];
  const metrics: number[] = [];
  const launch = async (tray: number, port: number): Promise<number> => {
    const child = spawn(process.execPath, [...nodeFlags(), cliPath(), ...args(o, tray, port)], { stdio: ['ignore', 'pipe', 'pipe'] });
    current[tray] = child;
    all.push(child);
    if (child.pid !== undefined) pids.push(child.pid);
    // Worker logs go to the soak's log, prefixed (stderr of the soak is its progress channel).
    createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (l) => o.log?.(`worker ${tray}: ${l}`));
    child.once('exit', (code, signal) => o.log?.(`worker ${tray} (pid ${child.pid}) exited (${code ?? signal})`));
    const ports = await listening(child, tray, o.startTimeoutMs ?? 30_000);
    metrics[tray] = ports.metrics;
    return ports.grpc;
  };
  const stop = async (): Promise<void> => {
    await Promise.all(all.map((c) => waitExit(c, 'SIGTERM', STOP_GRACE_MS)));
  };
  const child = (tray: number): ChildProcess => {
    const c = current[tray];
    if (!c) throw new RangeError(`tray: expected 0..${current.length - 1}, got ${tray}`);
    return c;
  };
  try {
    const ports = await Promise.all(Array.from({ length: o.count }, (_, tray) => launch(tray, 0)));
    return {
      ports,
      pids,
      metricsPort: (tray) => metrics[tray] as number,
      kill: (tray) => waitExit(child(tray), 'SIGKILL', STOP_GRACE_MS),
      restart: async (tray) => {
        if (!exited(child(tray))) throw new Error(`tray ${tray}: its worker is still running (kill it first)`);
        await launch(tray, ports[tray] as number);
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
