// Test helpers of the KV hand-off between workers: two in-process workers on 127.0.0.1 (ports picked at run time),
// what each holds (the leak check), log lines to await instead of sleeping, and a loopback TCP proxy that cuts the
// connection after a number of bytes toward the destination (a stream cut mid-transfer, deterministically).
import { connect as netConnect, createServer, type Server, type Socket } from 'node:net';

import type { DiscoveredDomain } from '../deploy/discovery.js';
import type { HandoffSendRequest } from '../gen/proto/nvlsched/v1/HandoffSendRequest.js';
import type { HandoffSendResult__Output } from '../gen/proto/nvlsched/v1/HandoffSendResult.js';
import type { WorkerClient } from '../gen/proto/nvlsched/v1/Worker.js';
import type { ClientTls, ServerTls } from '../rpc/tls.js';
import type { WorkerConfig } from './config.js';
import { unary } from './testing.js';
import { startWorker, type RunningWorker } from './worker.js';

/** llama-3.1-70b at TP4: 81,920 KV bytes per token per GPU, 80 layers; 16-token blocks keep test pools small. */
export const HANDOFF_CONFIG: WorkerConfig = { topology: 'gb200-nvl72', tray: 0, model: 'llama-3.1-70b', tensorParallel: 4, kvBlocksPerGpu: 8, blockTokens: 16, hostKvBlocks: 1, seed: 7 };

export interface LoggedWorker {
  w: RunningWorker;
  lines: string[];
  /** Resolves with the first log line (already written or to come) that matches. */
  waitLog(re: RegExp): Promise<string>;
  close(): Promise<void>;
}

export function domain(domainId: string): DiscoveredDomain {
  return { domainId, source: 'config', skipped: [], warnings: [] };
}

export async function startLoggedWorker(config: Partial<WorkerConfig>, options: { domainId?: string; tls?: ServerTls | null; peerTls?: ClientTls | null } = {}): Promise<LoggedWorker> {
  const lines: string[] = [];
  const waiters: Array<{ re: RegExp; resolve: (l: string) => void }> = [];
  const log = (line: string): void => {
    lines.push(line);
    for (const w of [...waiters]) {
      if (w.re.test(line)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  };
  const w = await startWorker({ ...HANDOFF_CONFIG, ...config }, {
    port: 0,
    log,
    discover: async () => domain(options.domainId ?? 'rack0'),
    ...(options.tls ? { tls: options.tls } : {}),
    ...(options.peerTls ? { peerTls: options.peerTls } : {}),
  });
  return {
    w,
    lines,
    waitLog: (re) => {
      const hit = lines.find((l) => re.test(l));
      if (hit !== undefined) return Promise.resolve(hit);
      return new Promise((resolve) => waiters.push({ re, resolve }));
    },
    close: () => w.server.close(0),
  };
}

/** What a worker's KV manager holds: blocks used and pinned per pool, live sequences, open hand-offs. */
export function kvHeld(w: RunningWorker): { used: number[]; pinned: number[]; sequences: number; handoffs: number; heldBlocks: number } {
  const s = w.backend.kv.stats();
  const h = w.backend.kv.handoffStats();
  return { used: s.pools.map((p) => p.usedBlocks), pinned: s.pools.map((p) => p.pinnedBlocks), sequences: s.liveSequences, handoffs: h.liveSources + h.liveDestinations, heldBlocks: h.pinnedBlocks + h.reservedBlocks };
}

export function handoffSend(client: WorkerClient, req: HandoffSendRequest): Promise<HandoffSendResult__Output> {
  return unary<HandoffSendRequest, HandoffSendResult__Output>(client.HandoffSend.bind(client), req);
}

/** A deterministic byte pattern (a different one per seed). */
export function pattern(bytes: number, seed: number): Uint8Array {
  const out = new Uint8Array(bytes);
  let x = (seed * 2654435761) >>> 0;
  for (let i = 0; i < bytes; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

export interface CuttingProxy {
  port: number;
  /** Resolves when the proxy cut the connection. */
  cut: Promise<void>;
  close(): Promise<void>;
}

/**
 * Forwards 127.0.0.1:port to targetPort and destroys both sides once `cutAfterBytes` bytes went toward the target
 * (the source worker's chunks): the transfer breaks mid-way, as when the destination process dies or the link drops.
 */
export function startCuttingProxy(targetPort: number, cutAfterBytes: number): Promise<CuttingProxy> {
  const sockets = new Set<Socket>();
  let resolveCut: () => void = () => undefined;
  const cut = new Promise<void>((resolve) => (resolveCut = resolve));
  let forwarded = 0;
  const server: Server = createServer((client) => {
    const upstream = netConnect(targetPort, '127.0.0.1');
    sockets.add(client);
    sockets.add(upstream);
    const destroy = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (data: Buffer) => {
      forwarded += data.length;
      if (forwarded >= cutAfterBytes) {
        for (const s of sockets) s.destroy();
        resolveCut();
        return;
      }
      upstream.write(data);
    });
    upstream.on('data', (data: Buffer) => client.write(data));
    client.on('error', destroy);
    upstream.on('error', destroy);
    client.on('close', destroy);
    upstream.on('close', destroy);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const a = server.address();
      resolve({
        port: typeof a === 'object' && a ? a.port : 0,
        cut,
        close: () => new Promise<void>((done) => {
          for (const s of sockets) s.destroy();
          server.close(() => done());
        }),
      });
    });
  });
}
