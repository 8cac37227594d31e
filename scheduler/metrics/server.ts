// The /metrics HTTP endpoint Prometheus scrapes (gateway and workers). Serves the exposition of one or more
// registries concatenated — not Registry.merge, which would drop each registry's default labels (the worker's
// `worker` label) — after checking at start that no metric name appears in two of them. GET or HEAD /metrics only;
// anything else 404 (other paths) or 405 (other methods). close() is bounded: idle keep-alive connections are closed
// at once, busy ones after closeTimeoutMs.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { MetricsInputError } from './labels.js';

export interface MetricsServerOptions {
  registries: readonly Registry[];
  /** Default 127.0.0.1; in a pod, 0.0.0.0 so Prometheus can reach it. */
  host?: string;
  /** 0 = a free port (default). */
  port?: number;
  /** How long close() lets a scrape in progress finish before cutting its connection. Default 2000. */
  closeTimeoutMs?: number;
}

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

export async function startMetricsServer(opts: MetricsServerOptions): Promise<MetricsServer> {
  const registries = checkRegistries(opts.registries);
  const host = opts.host ?? '127.0.0.1';
  if (typeof host !== 'string' || host === '') throw new MetricsInputError('host', `must be a host name or address, got ${JSON.stringify(host)}`);
  const port = opts.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new MetricsInputError('port', `must be an integer 0-65535, got ${String(port)}`);
  const closeTimeoutMs = opts.closeTimeoutMs ?? 2000;
  if (!Number.isFinite(closeTimeoutMs) || closeTimeoutMs < 0) throw new MetricsInputError('closeTimeoutMs', `must be a number >= 0, got ${String(closeTimeoutMs)}`);
  const contentType = registries[0]!.contentType;

  const server = createServer((req, res) => void handle(req, res, registries, contentType));
  // A scrape is small and quick; a client that stalls sending its request is dropped instead of held.
  server.requestTimeout = 10_000;
  server.headersTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  let closing: Promise<void> | undefined;
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        const cut = setTimeout(() => server.closeAllConnections(), closeTimeoutMs);
        cut.unref();
        server.close(() => {
          clearTimeout(cut);
          resolve();
        });
        server.closeIdleConnections();
      })),
  };
}

function checkRegistries(registries: unknown): readonly Registry[] {
  if (!Array.isArray(registries) || registries.length === 0) throw new MetricsInputError('registries', 'must be a non-empty array of prom-client Registry objects');
  const owner = new Map<string, number>();
  registries.forEach((r: Registry, i) => {
    if (typeof r?.metrics !== 'function' || typeof r.getMetricsAsArray !== 'function') throw new MetricsInputError(`registries[${i}]`, 'is not a prom-client Registry');
    if (r.contentType !== (registries[0] as Registry).contentType) throw new MetricsInputError(`registries[${i}]`, `content type ${r.contentType} differs from registries[0]`);
    for (const m of r.getMetricsAsArray()) {
      const first = owner.get(m.name);
      if (first !== undefined) throw new MetricsInputError(`registries[${i}]`, `metric ${m.name} is also in registries[${first}] (process metrics enabled twice?)`);
      owner.set(m.name, i);
    }
  });
  return registries as readonly Registry[];
}

async function handle(req: IncomingMessage, res: ServerResponse, registries: readonly Registry[], contentType: string): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (path !== '/metrics') return reply(res, 404, 'text/plain; charset=utf-8', 'not found: scrape GET /metrics\n');
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    return reply(res, 405, 'text/plain; charset=utf-8', `method ${req.method ?? ''} not allowed: GET /metrics\n`);
  }
  let body: string;
  try {
    const parts = await Promise.all(registries.map((r) => r.metrics()));
    body = parts.filter((p) => p !== '').map((p) => (p.endsWith('\n') ? p : `${p}\n`)).join('');
  } catch (err) {
    // A collect hook threw (e.g. onCollect returned a bad value): say so to the scraper, keep serving.
    return reply(res, 500, 'text/plain; charset=utf-8', `metrics collection failed: ${err instanceof Error ? err.message : String(err)}\n`);
  }
  reply(res, 200, contentType, req.method === 'HEAD' ? '' : body, Buffer.byteLength(body));
}

function reply(res: ServerResponse, status: number, type: string, body: string, length = Buffer.byteLength(body)): void {
  res.writeHead(status, { 'content-type': type, 'content-length': length });
  res.end(body);
}
