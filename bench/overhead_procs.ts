// Child processes of `bench overhead`: a simulated worker (`nvlsched worker`, as deployed) and the load clients
// (overhead_clients.ts), started with this process's node and loader flags (tsx from source, none from dist/), each
// read for its first stdout line with a bounded wait, and stopped with SIGTERM then SIGKILL (bounded). CPU time per
// process comes from /proc (Linux), so that each process's share of a step can be reported; elsewhere it is null.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const STOP_GRACE_MS = 5000;
/** Linux USER_HZ: /proc/<pid>/stat counts CPU time in these ticks (100 on every mainstream architecture). */
const TICKS_PER_S = 100;

/** `.ts` when this module runs from source (tsx), `.js` from the compiled dist/. */
const EXT = import.meta.url.endsWith('.ts') ? '.ts' : '.js';

export interface Child {
  proc: ChildProcess;
  lines: Interface;
  /** User + system CPU seconds the process has used so far; null off Linux. */
  cpuS(): number | null;
  stop(): Promise<void>;
}

export function procCpuS(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    // Split after the parenthesised command name: index 0 is field 3 (state), so utime (field 14) is index 11.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_S;
  } catch {
    return null;
  }
}

/** This process's node flags for a child, minus the test runner's own. */
function nodeArgs(): string[] {
  return process.execArgv.filter((a) => !a.startsWith('--test'));
}

/** Children still running: killed if this process exits or is stopped by a signal while the bench runs. */
const live = new Set<ChildProcess>();

function killLive(): void {
  for (const proc of live) proc.kill('SIGKILL');
}

/** While `body` runs, SIGINT/SIGTERM (and any exit) take the children down too. */
export async function withChildrenCleanup<T>(body: () => Promise<T>): Promise<T> {
  const onSignal = (signal: NodeJS.Signals): void => {
    killLive();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.once('exit', killLive);
  try {
    return await body();
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('exit', killLive);
  }
}

function stopChild(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => proc.kill('SIGKILL'), STOP_GRACE_MS);
    proc.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    proc.kill('SIGTERM');
  });
}

/** Starts `node <flags> <script> <args>` and resolves with it once its first stdout line has been parsed. */
async function start<T>(what: string, script: URL, args: string[], timeoutMs: number, parse: (line: string) => T | undefined): Promise<{ child: Child; first: T }> {
  const proc = spawn(process.execPath, [...nodeArgs(), fileURLToPath(script), ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  live.add(proc);
  proc.once('exit', () => live.delete(proc));
  const lines = createInterface({ input: proc.stdout as NodeJS.ReadableStream });
  const child: Child = { proc, lines, cpuS: () => procCpuS(proc.pid), stop: () => stopChild(proc) };
  try {
    const first = await new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${what} printed no ready line in ${timeoutMs} ms`)), timeoutMs);
      const onExit = (code: number | null): void => {
        clearTimeout(timer);
        reject(new Error(`${what} exited (${code}) before it was ready`));
      };
      proc.once('exit', onExit);
      lines.once('line', (line) => {
        clearTimeout(timer);
        proc.off('exit', onExit);
        const value = parse(line);
        if (value === undefined) reject(new Error(`${what}: unexpected first line ${line}`));
        else resolve(value);
      });
    });
    return { child, first };
  } catch (error) {
    await child.stop();
    throw error;
  }
}

function jsonField(line: string, event: string, field: string): number | undefined {
  try {
    const msg = JSON.parse(line) as Record<string, unknown>;
    return msg.event === event && typeof msg[field] === 'number' ? msg[field] : undefined;
  } catch {
    return undefined;
  }
}

/** `nvlsched worker --port 0 <args>` as a child; resolves with its gRPC port. */
export async function spawnWorker(args: string[], timeoutMs: number): Promise<{ child: Child; port: number }> {
  const main = new URL(`../scheduler/cli/main${EXT}`, import.meta.url);
  const { child, first } = await start('worker', main, ['worker', '--port', '0', '--drain-timeout', '0', ...args], timeoutMs, (l) => jsonField(l, 'listening', 'grpc'));
  return { child, port: first };
}

export interface ClientCounts {
  tokens: number;
  ended: number;
  errors: number;
  /** Generate streams open now. */
  open: number;
}

export interface Clients {
  child: Child;
  count(): Promise<ClientCounts>;
}

/** overhead_clients.ts as a child: `streams` Generate streams to the gateway on `port`, kept open (closed loop). */
export async function spawnClients(port: number, streams: number, maxTokens: number, promptTokens: number, timeoutMs: number): Promise<Clients> {
  const script = new URL(`./overhead_clients${EXT}`, import.meta.url);
  const { child } = await start('load clients', script, [String(port), String(streams), String(maxTokens), String(promptTokens)], timeoutMs, (l) => jsonField(l, 'ready', 'streams'));
  const count = (): Promise<ClientCounts> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`load clients did not answer a count in ${timeoutMs} ms`)), timeoutMs);
      child.lines.once('line', (line) => {
        clearTimeout(timer);
        try {
          resolve(JSON.parse(line) as ClientCounts);
        } catch {
          reject(new Error(`load clients: unexpected line ${line}`));
        }
      });
      child.proc.stdin?.write('count\n');
    });
  return { child, count };
}
