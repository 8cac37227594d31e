// What the rendered pods' exec hooks run (through `nvlsched deploy probe|drain`): a worker's readiness (its Health
// RPC answers SERVING), a worker's preStop drain (its Drain RPC: refuse new sequences, wait for running ones), and
// a gateway's preStop drain (wait until its /health reports no live requests). Every wait is bounded.
import * as grpc from '@grpc/grpc-js';
import { setTimeout as sleep } from 'node:timers/promises';

import type { WorkerClient } from '../gen/proto/nvlsched/v1/Worker.js';
import { loadWorkerProto } from '../rpc/proto.js';
import { channelCredentials, explainTransportError, type ClientTls } from '../rpc/tls.js';

export interface WorkerHealth {
  serving: boolean;
  status: string;
  detail: string;
}

/** tls: the worker's port speaks TLS (rpc/tls.ts readClientTls; a client pair when it requires mTLS). */
function workerClient(address: string, tls: ClientTls | null): WorkerClient {
  const proto = loadWorkerProto();
  const { credentials, options } = channelCredentials(tls);
  return new proto.nvlsched.v1.Worker(address, credentials, options);
}

function rpcError(what: string, address: string, err: grpc.ServiceError): Error {
  return new Error(`${what} ${address}: ${explainTransportError(err.details || err.message)}`);
}

/** The worker's Health; rejects when it does not answer within `timeoutMs`. */
export async function probeWorker(address: string, timeoutMs: number, tls: ClientTls | null = null): Promise<WorkerHealth> {
  const client = workerClient(address, tls);
  try {
    return await new Promise<WorkerHealth>((resolve, reject) =>
      client.Health({}, { deadline: Date.now() + timeoutMs }, (err, res) => {
        if (err || !res) return reject(err ? rpcError('Health', address, err) : new Error(`Health ${address}: empty answer`));
        resolve({ serving: res.status === 'STATUS_SERVING', status: res.status, detail: res.detail });
      }));
  } finally {
    client.close();
  }
}

/** Asks the worker to drain and waits for it: resolves with the sequences still running at the deadline. */
export async function drainWorker(address: string, deadlineS: number, tls: ClientTls | null = null): Promise<number> {
  const client = workerClient(address, tls);
  try {
    // The RPC itself waits up to deadlineS; a little more lets the answer arrive.
    return await new Promise<number>((resolve, reject) =>
      client.Drain({ deadlineS }, { deadline: Date.now() + deadlineS * 1000 + 5000 }, (err, res) => {
        if (err || !res) return reject(err ? rpcError('Drain', address, err) : new Error(`Drain ${address}: empty answer`));
        resolve(res.runningSequences);
      }));
  } finally {
    client.close();
  }
}

export interface GatewayDrainOptions {
  /** The gateway's HTTP API base, http://127.0.0.1:8000. */
  url: string;
  /** Seconds to wait first, while Kubernetes takes the pod out of the Service's endpoints. */
  settleS: number;
  /** Seconds in all (settle included) before giving up with requests still live. */
  timeoutS: number;
  pollMs?: number;
}

export interface GatewayDrainResult {
  idle: boolean;
  liveRequests: number;
  polls: number;
}

async function liveRequests(url: string, timeoutMs: number): Promise<number> {
  const res = await fetch(new URL('/health', url), { signal: AbortSignal.timeout(timeoutMs) });
  const body = (await res.json()) as { live_requests?: unknown };
  if (typeof body.live_requests !== 'number') throw new Error(`${url}/health: no live_requests in ${JSON.stringify(body).slice(0, 120)}`);
  return body.live_requests;
}

/** Waits `settleS`, then polls /health until no request is live or `timeoutS` has passed since the start. */
export async function drainGateway(o: GatewayDrainOptions): Promise<GatewayDrainResult> {
  const started = Date.now();
  const endMs = started + o.timeoutS * 1000;
  const pollMs = o.pollMs ?? 500;
  await sleep(Math.min(o.settleS, o.timeoutS) * 1000);
  let live = Number.NaN;
  let polls = 0;
  // Bounded: each round waits ≥ pollMs, and the loop ends at endMs.
  for (;;) {
    polls++;
    live = await liveRequests(o.url, Math.max(500, Math.min(5000, endMs - Date.now())));
    if (live === 0) return { idle: true, liveRequests: 0, polls };
    if (Date.now() + pollMs > endMs) return { idle: false, liveRequests: live, polls };
    await sleep(pollMs);
  }
}
