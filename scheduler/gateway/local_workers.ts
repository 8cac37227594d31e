// `serve --local-workers N`: N simulated workers as child processes (`nvlsched worker --port 0 --tray i`), started
// with this process's own node and loader flags, each read for its listening line. stop() sends SIGTERM, waits
// (bounded) for each to exit, then SIGKILLs what is left. Every wait is bounded.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

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
  /** The nvlsched CLI script the children run (default: this process's main script, e.g. dist/…/main.js). */
  cliPath?: string;
  /** TLS on the children's gRPC ports: their worker --tls-cert/--tls-key/--tls-client-ca. Default: insecure. */
  tls?: LocalWorkerTls;
}

/** PEM files the children read (one pair for all: they listen on one host, so one name fits). */
export interface LocalWorkerTls {
  certFile: string;
  keyFile: string;
  /** Set: the children require a client certificate this CA signed (mTLS). */
  clientCaFile?: string;
}

export interface LocalWorkers {
  ports: number[];
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
  if (o.tls) {
    args.push('--tls-cert', o.tls.certFile, '--tls-key', o.tls.keyFile);
    if (o.tls.clientCaFile !== undefined) args.push('--tls-client-ca', o.tls.clientCaFile);
  }
  return args;
}

function listening(child: ChildProcess, tray: number, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker of tray ${tray} printed no listening line in ${timeoutMs} ms`)), timeoutMs);
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.once('line', (line) => {
      clearTimeout(timer);
      try {
        const msg = JSON.parse(line) as { event?: string; grpc?: number };
        if (msg.event === 'listening' && typeof msg.grpc === 'number') resolve(msg.grpc);
        else reject(new Error(`worker of tray ${tray}: unexpected first line ${line}`));
      } catch {
        reject(new Error(`worker of tray ${tray}: unexpected first line ${line}`));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`worker of tray ${tray} exited (${code}) before listening`));
    });
  });
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
  const stop = async (): Promise<void> => {
    await Promise.all(children.map(stopChild));
  };
  const launch = (tray: number, port: number): Promise<number> => {
    // This process's node and loader flags (tsx in development, none for the built dist/).
    const child = spawn(process.execPath, [...process.execArgv, o.cliPath ?? (process.argv[1] as string), ...workerArgs(o, tray, port)], { stdio: ['ignore', 'pipe', 'inherit'] });
    children[tray] = child;
    child.once('exit', (code, signal) => o.log?.(`worker of tray ${tray} exited (${code ?? signal})`));
    return listening(child, tray, o.startTimeoutMs ?? 30_000);
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
