// A Redis for tests (architecture §7): REDIS_URL when set; else a `redis-server` child on a free loopback port (no
// persistence), stopped by stop(); else a reason to skip, which the test prints. Never assumes a running server on
// 6379. Tests on a shared REDIS_URL must use their own queue names.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

export type TestRedis = { url: string; stop: () => Promise<void> } | { skip: string };

const START_TIMEOUT_MS = 10_000;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function hasRedisServer(): boolean {
  const probe = spawnSync('redis-server', ['--version'], { stdio: 'ignore' });
  return probe.error === undefined && probe.status === 0;
}

/** Resolves once the server logs that it accepts connections; rejects on exit or after the timeout. */
function ready(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let log = '';
    const timer = setTimeout(() => finish(new Error(`redis-server not ready after ${START_TIMEOUT_MS} ms: ${log.slice(-300)}`)), START_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      log += chunk.toString();
      if (log.includes('Ready to accept connections')) finish();
    };
    const onExit = (code: number | null) => finish(new Error(`redis-server exited (${code}): ${log.slice(-300)}`));
    const finish = (error?: Error) => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
      if (error) reject(error);
      else resolve();
    };
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
  });
}

function stopper(child: ChildProcess): () => Promise<void> {
  return () => new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

export async function startTestRedis(): Promise<TestRedis> {
  const fromEnv = process.env.REDIS_URL;
  if (fromEnv) return { url: fromEnv, stop: async () => {} };
  if (!hasRedisServer()) return { skip: 'no REDIS_URL and no redis-server binary on PATH: Redis tests skipped' };
  // The port is free when probed; another process could take it before redis-server binds, so try a few.
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    try {
      await ready(child);
      return { url: `redis://127.0.0.1:${port}`, stop: stopper(child) };
    } catch (error) {
      lastError = error as Error;
      await stopper(child)();
    }
  }
  throw lastError ?? new Error('redis-server did not start');
}
