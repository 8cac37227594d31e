// Test helpers: tiny hand-made workloads whose block hashes are chained at the rig's block size, and a rig whose
// worker paces its steps.
import * as grpc from '@grpc/grpc-js';

import type { ScheduleRequest } from '../core/types.js';
import { startGateway, type RunningGateway } from '../gateway/gateway.js';
import { SMALL } from '../gateway/testing.js';
import type { GatewayClient } from '../gen/proto/nvlsched/v1/Gateway.js';
import { loadGatewayProto } from '../rpc/proto.js';
import { startWorker } from '../worker/worker.js';
import { chainHash, fmix64 } from '../workload/hash.js';
import type { ClosedLoopWorkload, OpenLoopWorkload, SessionScript, WorkloadRequest } from '../workload/types.js';

/** Chained hashes of `numTokens / blockTokens` full blocks under a namespace (equal namespaces share a prefix). */
export function chainedHashes(namespace: string, numTokens: number, blockTokens: number): bigint[] {
  let parent = fmix64(BigInt([...namespace].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7)));
  const out: bigint[] = [];
  for (let i = 0; i < Math.floor(numTokens / blockTokens); i++) out.push((parent = chainHash(parent, BigInt(i + 1))));
  return out;
}

export function workloadRequest(id: string, o: { arrivalS?: number; promptTokens: number; outputTokens: number; blockTokens: number; req?: Partial<ScheduleRequest> }): WorkloadRequest {
  return {
    req: {
      requestId: id, tenant: 'test', arrivalS: o.arrivalS ?? 0, promptTokens: o.promptTokens, maxOutputTokens: o.outputTokens,
      blockHashes: chainedHashes(id, o.promptTokens, o.blockTokens), hasTools: false, hasToolResults: false, ...o.req,
    },
    outputTokens: o.outputTokens,
    traceShape: 'chat',
  };
}

export function openWorkload(requests: WorkloadRequest[]): OpenLoopWorkload {
  const sorted = [...requests].sort((a, b) => a.req.arrivalS - b.req.arrivalS);
  return { kind: 'open', name: 'test-open', requests: sorted, durationS: sorted.at(-1)?.req.arrivalS ?? 0 };
}

/** `sessions` scripts of `turns` turns each; turn k's prompt extends turn k-1's (a growing context). */
export function closedWorkload(o: { sessions: number; turns: number; thinkTimeS: number; blockTokens: number }): ClosedLoopWorkload {
  const scripts: SessionScript[] = [];
  for (let s = 0; s < o.sessions; s++) {
    const sessionId = `sess${s}`;
    const turns = Array.from({ length: o.turns }, (_, k) => {
      const promptTokens = 64 + 48 * k;
      const w = workloadRequest(`${sessionId}#${k}`, { promptTokens, outputTokens: 4 + k, blockTokens: o.blockTokens, req: { sessionId, turnIndex: k, hasTools: true } });
      // One chain per session, so each turn's hashes extend the previous turn's.
      w.req.blockHashes = chainedHashes(sessionId, promptTokens, o.blockTokens);
      w.traceShape = 'terminal';
      return { thinkTimeS: k === 0 ? 0 : o.thinkTimeS, request: w };
    });
    scripts.push({ sessionId, tenant: 'test', turns });
  }
  return { kind: 'closed', name: 'test-closed', sessions: scripts };
}

/**
 * startRig's shape (scheduler/gateway/testing.ts: one in-process worker, the SMALL engine) with the worker pacing
 * each step to its modelled time, so that a long output really takes long (tests of the limits).
 */
export async function startPacedRig(): Promise<{ client: GatewayClient; gateway: RunningGateway; close(): Promise<void> }> {
  const worker = await startWorker({ topology: SMALL.cluster, tray: 0, model: SMALL.model, tensorParallel: SMALL.tensorParallel, kvBlocksPerGpu: SMALL.kvBlocksPerGpu, blockTokens: SMALL.blockTokens, seed: 1 }, { port: 0, pace: 'real' });
  const gateway = await startGateway({ ...SMALL, workerPorts: [worker.port], grpcPort: 0 });
  const client = new (loadGatewayProto().nvlsched.v1.Gateway)(`127.0.0.1:${gateway.port}`, grpc.credentials.createInsecure());
  return {
    client,
    gateway,
    async close() {
      client.close();
      await gateway.close();
      await worker.server.close();
    },
  };
}
