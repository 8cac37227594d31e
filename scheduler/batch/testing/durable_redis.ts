// A redis-server child that survives being killed: append-only file with fsync on every write, in a temp directory,
// so `kill()` (SIGKILL: no chance to save) then `restart()` on the same port brings back every write the server
// acknowledged. Needs the redis-server binary (a REDIS_URL server cannot be killed by a test); skip otherwise.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export type DurableRedis =
  | {
      url: string;
      /** Every redis-server pid started (restarts included): callers can check that none is left running. */
      readonly pids: readonly number[];
      kill(): Promise<void>;
      restart(): Promise<void>;
      stop(): Promise<void>;
    }
  | { skip: string };

const START_TIMEOUT_MS = 10_000;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

function launch(port: number, dir: string): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'always'], { stdio: ['ignore', 'pipe', 'ignore'] });
  return new Promise((resolve, reject) => {
    let log = '';
    const timer = setTimeout(() => done(new Error(`redis-server not ready after ${START_TIMEOUT_MS} ms: ${log.slice(-300)}`)), START_TIMEOUT_MS);
    const onData = (b: Buffer): void => {
      log += b.toString();
      if (log.includes('Ready to accept connections')) done();
    };
    const onExit = (code: number | null): void => done(new Error(`redis-server exited (${code}): ${log.slice(-300)}`));
    const done = (e?: Error): void => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
      if (e) {
        child.kill('SIGKILL');
        reject(e);
      } else resolve(child);
    };
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
  });
}

function killChild(child: ChildProcess | null): Promise<void> {
  return new Promise((resolve) => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

export async function startDurableRedis(): Promise<DurableRedis> {
  const probe = spawnSync('redis-server', ['--version'], { stdio: 'ignore' });
  if (probe.error !== undefined || probe.status !== 0) return { skip: 'no redis-server binary on PATH: the Redis kill-and-restart test is skipped' };
  const dir = mkdtempSync(path.join(tmpdir(), 'nvlsched-redis-'));
  const port = await freePort();
  const pids: number[] = [];
  const started = (c: ChildProcess): ChildProcess => {
    if (c.pid !== undefined) pids.push(c.pid);
    return c;
  };
  let child: ChildProcess | null = started(await launch(port, dir));
  return {
    url: `redis://127.0.0.1:${port}`,
    pids,
    async kill() {
      await killChild(child);
      child = null;
    },
    async restart() {
      if (child) return;
      child = started(await launch(port, dir));
    },
    async stop() {
      await killChild(child);
      child = null;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
