// Test helpers: in-process workers and gateway on loopback with ports picked at run time, and a Generate client.
import * as grpc from '@grpc/grpc-js';

import type { GatewayClient } from '../gen/proto/nvlsched/v1/Gateway.js';
import type { GenerateRequest } from '../gen/proto/nvlsched/v1/GenerateRequest.js';
import type { GenerateResponse__Output } from '../gen/proto/nvlsched/v1/GenerateResponse.js';
import { loadGatewayProto } from '../rpc/proto.js';
import { startWorker, type RunningWorker } from '../worker/worker.js';
import { startGateway, type GatewayOptions, type RunningGateway } from './gateway.js';

export const SMALL = { cluster: 'gb200-nvl72', model: 'llama-3.1-70b', tensorParallel: 1, kvBlocksPerGpu: 256, blockTokens: 16 } as const;

export interface Rig {
  gateway: RunningGateway;
  workers: RunningWorker[];
  client: GatewayClient;
  close(): Promise<void>;
}

/** workerBackend: 'cuda' puts the workers' KV in real GPU memory (GPU machines: *.cuda.test.ts). */
export async function startRig(numWorkers: number, extra: Partial<GatewayOptions> = {}, workerBackend: 'sim' | 'cuda' = 'sim'): Promise<Rig> {
  const workers: RunningWorker[] = [];
  const kvBlocksPerGpu = extra.kvBlocksPerGpu ?? SMALL.kvBlocksPerGpu;
  for (let tray = 0; tray < numWorkers; tray++) {
    workers.push(await startWorker({ topology: 'gb200-nvl72', tray, model: SMALL.model, tensorParallel: SMALL.tensorParallel, kvBlocksPerGpu, blockTokens: SMALL.blockTokens, seed: 1, backend: workerBackend }, { port: 0 }));
  }
  const gateway = await startGateway({ ...SMALL, workerPorts: workers.map((w) => w.port), grpcPort: 0, ...extra });
  const proto = loadGatewayProto();
  const client = new proto.nvlsched.v1.Gateway(`127.0.0.1:${gateway.port}`, grpc.credentials.createInsecure());
  return {
    gateway,
    workers,
    client,
    async close() {
      client.close();
      await gateway.close();
      for (const w of workers) await w.server.close();
    },
  };
}

export interface Generated {
  chunks: GenerateResponse__Output[];
  tokens: number[];
  last?: GenerateResponse__Output;
  error?: grpc.ServiceError;
}

/** Streams one Generate to its end (or error); `onChunk` may cancel the call. */
export function generate(client: GatewayClient, req: GenerateRequest, onChunk?: (c: GenerateResponse__Output, call: grpc.ClientReadableStream<GenerateResponse__Output>) => void): Promise<Generated> {
  return new Promise((resolve) => {
    const out: Generated = { chunks: [], tokens: [] };
    const call = client.Generate(req);
    call.on('data', (c: GenerateResponse__Output) => {
      out.chunks.push(c);
      out.tokens.push(...c.tokenIds);
      if (c.finished) out.last = c;
      onChunk?.(c, call);
    });
    call.on('error', (err: grpc.ServiceError) => resolve({ ...out, error: err }));
    call.on('end', () => resolve(out));
  });
}

export function unary<Req, Res>(method: (req: Req, cb: (err: grpc.ServiceError | null, res?: Res) => void) => unknown, req: Req): Promise<Res> {
  return new Promise((resolve, reject) => method(req, (err, res) => (err || res === undefined ? reject(err) : resolve(res))));
}
