// Test helpers: Prometheus's own `promtool` and `prometheus` (Debian package `prometheus`; .ci/run installs it) when
// on PATH, and a scrape over real HTTP. Tests that need them skip with a visible reason when they are missing.
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export function findPromtool(): string | undefined {
  return findOnPath('promtool');
}

function findOnPath(binary: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const file = path.join(dir, binary);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

export const PROMTOOL_MISSING = 'promtool not on PATH (apt-get install prometheus): promtool checks skipped';

/** Runs promtool with args and stdin; bounded at 30 s. */
export function runPromtool(promtool: string, args: readonly string[], input?: string): { status: number | null; output: string } {
  const r = spawnSync(promtool, args, { input, encoding: 'utf8', timeout: 30_000 });
  if (r.error) throw r.error;
  return { status: r.status, output: `${r.stdout}${r.stderr}`.trim() };
}

/** GET a URL on loopback with a bounded wait; status, content type and body. */
export async function httpGet(url: string, method: 'GET' | 'HEAD' | 'POST' = 'GET'): Promise<{ status: number; contentType: string | null; body: string }> {
  const res = await fetch(url, { method, signal: AbortSignal.timeout(10_000) });
  return { status: res.status, contentType: res.headers.get('content-type'), body: await res.text() };
}

export interface TestPrometheus {
  /** Instant query (PromQL) at now; the API's vector result. */
  query(promql: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]>;
  stop(): Promise<void>;
}

const PROMETHEUS_START_MS = 20_000;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createNetServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * A real Prometheus server (the `prometheus` binary of the same Debian package) scraping `target` every
 * scrapeIntervalMs, its storage in a temporary folder; undefined when the binary is missing. Ready when it logs
 * "Server is ready to receive web requests" (bounded); a port taken between probe and bind is retried (3 tries).
 * stop() kills it and removes the folder. Its first scrape comes ~5 s after start (the scrape manager's target sync).
 */
export async function startTestPrometheus(target: string, scrapeIntervalMs: number): Promise<TestPrometheus | undefined> {
  const binary = findOnPath('prometheus');
  if (!binary) return undefined;
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startPrometheusOnce(binary, target, scrapeIntervalMs, await freePort());
    } catch (error) {
      lastError = error as Error;
    }
  }
  throw lastError ?? new Error('prometheus did not start');
}

async function startPrometheusOnce(binary: string, target: string, scrapeIntervalMs: number, port: number): Promise<TestPrometheus> {
  const dir = mkdtempSync(path.join(tmpdir(), 'nvlsched-prom-'));
  const config = path.join(dir, 'prometheus.yml');
  writeFileSync(config, `global:\n  scrape_interval: ${scrapeIntervalMs}ms\n  scrape_timeout: ${scrapeIntervalMs}ms\nscrape_configs:\n  - job_name: nvlsched\n    static_configs:\n      - targets: ["${target}"]\n`);
  const child = spawn(binary, [`--config.file=${config}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  const stop = () => new Promise<void>((resolve) => {
    const done = () => { rmSync(dir, { recursive: true, force: true }); resolve(); };
    if (child.exitCode !== null || child.signalCode !== null) return done();
    child.once('exit', done);
    child.kill('SIGKILL');
  });
  try {
    await new Promise<void>((resolve, reject) => {
      let log = '';
      const timer = setTimeout(() => finish(new Error(`prometheus not ready after ${PROMETHEUS_START_MS} ms: ${log.slice(-600)}`)), PROMETHEUS_START_MS);
      const onData = (chunk: Buffer) => {
        log = (log + chunk.toString()).slice(-4000);
        if (log.includes('Server is ready to receive web requests')) finish();
      };
      const onExit = (code: number | null) => finish(new Error(`prometheus exited (${code}): ${log.slice(-600)}`));
      const finish = (error?: Error) => {
        clearTimeout(timer);
        child.stderr?.off('data', onData);
        child.off('exit', onExit);
        child.stderr?.resume(); // keep draining its log so it never blocks on a full pipe
        if (error) reject(error);
        else resolve();
      };
      child.stderr?.on('data', onData);
      child.once('exit', onExit);
    });
  } catch (error) {
    await stop();
    throw error;
  }
  const base = `http://127.0.0.1:${port}`;
  return {
    async query(promql) {
      const res = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(promql)}`, { signal: AbortSignal.timeout(10_000) });
      const body = (await res.json()) as { status: string; error?: string; data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] } };
      if (body.status !== 'success' || body.data?.resultType !== 'vector') throw new Error(`${promql}: ${body.error ?? JSON.stringify(body).slice(0, 300)}`);
      return body.data.result;
    },
    stop,
  };
}
