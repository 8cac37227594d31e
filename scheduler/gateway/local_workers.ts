// `serve --local-workers N`: N simulated workers as child processes (`nvlsched worker --port 0 --tray i`), started
// with this process's own node and loader flags, each read for its listening line. stop() sends SIGTERM, waits
// (bounded) for each to exit, then SIGKILLs what is left. Every wait is bounded. The chaos soak uses the extras:
// each worker's /metrics port (its KV leak check scrapes it), every pid ever started, kill/restart on one port.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export interface LocalWorkerOptions {
  count: number;
  topology: string;
  model: string;
  tensorParallel?: number;
  kvBlocksPerGpu?: number;
  blockTokens?: number;
  seed?: number;
  /** Worker --pace (none: answer at once; real: sleep each step's duration). */
  pace?: 'none' | 'real';
  startTimeoutMs?: number;
  log?: (line: string) => void;
  /** The nvlsched CLI script the children run (default: cli/main beside this file: main.ts under tsx, main.js in dist/). */
  cliPath?: string;
  /** TLS on the children's gRPC ports: their worker --tls-cert/--tls-key/--tls-client-ca. Default: insecure. */
  tls?: LocalWorkerTls;
  /** Each child serves Prometheus /metrics on a free port (metricsPort(tray)). Default false. */
  metrics?: boolean;
  /** Children's stderr: 'inherit' (default: straight to this process's stderr) or 'log' (each line to `log`, prefixed). */
  stderr?: 'inherit' | 'log';
}

/** PEM files the children read (one pair for all: they listen on one host, so one name fits). */
export interface LocalWorkerTls {
  certFile: string;
  keyFile: string;
  /** Set: the children require a client certificate this CA signed (mTLS). */
  clientCaFile?: string;
}

export interface LocalWorkers {
  /** gRPC ports by tray (a restart keeps the port). */
  ports: number[];
  /** The current /metrics port of tray i's worker (with options.metrics; a restart gets a new one). */
  metricsPort(tray: number): number;
  /** Every child pid started, in start order (killed ones included). */
  readonly pids: readonly number[];
  stop(): Promise<void>;
  /** Kills tray i's worker (default SIGKILL: no drain, as a crash) and waits for it to exit. */
  kill(tray: number, signal?: NodeJS.Signals): Promise<void>;
  /** Starts tray i's worker again on its old port (after kill); resolves once it listens. */
  restart(tray: number): Promise<void>;
}

const STOP_GRACE_MS = 5000;

function workerArgs(o: LocalWorkerOptions, tray: number, port = 0): string[] {
  const args = ['worker', '--port', String(port), '--tray', String(tray), '--topology', o.topology, '--model', o.model, '--drain-timeout', '1'];
  if (o.tensorParallel !== undefined) args.push('--tensor-parallel', String(o.tensorParallel));
  if (o.kvBlocksPerGpu !== undefined) args.push('--kv-blocks', String(o.kvBlocksPerGpu));
  if (o.blockTokens !== undefined) args.push('--block-tokens', String(o.blockTokens));
  if (o.seed !== undefined) args.push('--seed', String(o.seed));
  if (o.pace !== undefined) args.push('--pace', o.pace);
  if (o.metrics) args.push('--metrics-port', '0');
  if (o.tls) {
    args.push('--tls-cert', o.tls.certFile, '--tls-key', o.tls.keyFile);
    if (o.tls.clientCaFile !== undefined) args.push('--tls-client-ca', o.tls.clientCaFile);
  }
  return args;
}

function listening(child: ChildProcess, tray: number, timeoutMs: number): Promise<{ grpc: number; metrics: number | null }> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    const onExit = (code: number | null): void => fail(new Error(`worker of tray ${tray} exited (${code}) before listening`));
    const timer = setTimeout(() => fail(new Error(`worker of tray ${tray} printed no listening line in ${timeoutMs} ms`)), timeoutMs);
    const fail = (e: Error): void => {
      clearTimeout(timer);
      child.off('exit', onExit);
      reject(e);
    };
    lines.once('line', (line) => {
      clearTimeout(timer);
      child.off('exit', onExit);
      try {
        const msg = JSON.parse(line) as { event?: string; grpc?: number; metrics?: number | null };
        if (msg.event === 'listening' && typeof msg.grpc === 'number') return resolve({ grpc: msg.grpc, metrics: typeof msg.metrics === 'number' ? msg.metrics : null });
      } catch {
        // falls through to the error below
      }
      reject(new Error(`worker of tray ${tray}: unexpected first line ${line}`));
    });
    child.once('exit', onExit);
  });
}

/** The CLI entry beside this file's folder: scheduler/cli/main.ts under tsx, dist/scheduler/cli/main.js when built. */
function defaultCliPath(): string {
  const here = fileURLToPath(import.meta.url);
  return path.join(path.dirname(here), '..', 'cli', `main${path.extname(here)}`);
}

/** This process's loader flags (tsx in development, none for the built dist/), without a test runner's own. */
function nodeFlags(): string[] {
  return process.execArgv.filter((a) => !a.startsWith('--test'));
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export async function startLocalWorkers(o: LocalWorkerOptions): Promise<LocalWorkers> {
  const children: ChildProcess[] = [];
  const pids: number[] = [];
  const metricsPorts: Array<number | null> = [];
  const stop = async (): Promise<void> => {
    await Promise.all(children.map(stopChild));
  };
  const launch = async (tray: number, port: number): Promise<number> => {
    const toLog = o.stderr === 'log';
    const child = spawn(process.execPath, [...nodeFlags(), o.cliPath ?? defaultCliPath(), ...workerArgs(o, tray, port)], { stdio: ['ignore', 'pipe', toLog ? 'pipe' : 'inherit'] });
    children[tray] = child;
    if (child.pid !== undefined) pids.push(child.pid);
    if (toLog) createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (l) => o.log?.(`worker ${tray}: ${l}`));
    child.once('exit', (code, signal) => o.log?.(`worker of tray ${tray} exited (${code ?? signal})`));
    const bound = await listening(child, tray, o.startTimeoutMs ?? 30_000);
    metricsPorts[tray] = bound.metrics;
    return bound.grpc;
  };
  const child = (tray: number): ChildProcess => {
    const c = children[tray];
    if (!c) throw new RangeError(`tray: expected 0..${children.length - 1}, got ${tray}`);
    return c;
  };
  try {
    const ports = await Promise.all(Array.from({ length: o.count }, (_, tray) => launch(tray, 0)));
    return {
      ports,
      pids,
      metricsPort: (tray) => {
        const m = metricsPorts[tray];
        if (m === undefined || m === null) throw new RangeError(`tray ${tray}: no metrics port (start the workers with metrics: true)`);
        return m;
      },
      stop,
      kill: (tray, signal = 'SIGKILL') => {
        const c = child(tray);
        if (c.exitCode !== null || c.signalCode !== null) return Promise.resolve();
        return new Promise((resolve) => {
          c.once('exit', () => resolve());
          c.kill(signal);
        });
      },
      restart: async (tray) => {
        const c = child(tray);
        if (c.exitCode === null && c.signalCode === null) throw new Error(`tray ${tray}: its worker is still running (kill it first)`);
        await launch(tray, ports[tray] as number);
      },
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
