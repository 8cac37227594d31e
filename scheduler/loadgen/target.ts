// Reaching a running gateway: the address check, a connect bounded in time (waitForReady, then Health), and what
// the Health detail says about the serving side (model, instances, tensor parallel, trays, cluster, policy) — the
// report's labels and GPU count. A gateway whose detail reads otherwise still works: the labels say "unknown".
import * as grpc from '@grpc/grpc-js';

import type { GatewayClient } from '../gen/proto/nvlsched/v1/Gateway.js';
import type { HealthResponse__Output } from '../gen/proto/nvlsched/v1/HealthResponse.js';
import { getModel, MODEL_NAMES } from '../perf/models.js';
import { loadGatewayProto } from '../rpc/proto.js';
import type { TargetInfo } from './loadgen.js';

export interface Target {
  address: string;
  client: GatewayClient;
  info: TargetInfo;
  /** The served model's context when the model is in the catalog. */
  maxContextTokens?: number;
  health: HealthResponse__Output;
  close(): void;
}

const ADDRESS = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})$/;

/** `host:port` → the same string, or a one-line reason naming the flag. */
export function checkAddress(address: string, flag = '--target'): string | { error: string } {
  const m = ADDRESS.exec(address);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port >= 1 && port <= 65535)) return { error: `${flag}: expected host:port (e.g. 127.0.0.1:50051), got '${address}'` };
  return address;
}

// gateway.ts's label: "<n> instances of <model> tp<k> on <t> tray(s) of <cluster>, policy <policy>; <m> live requests".
const LABEL = /^(\d+) instances of (\S+) tp(\d+) on (\d+) tray\(s\) of (\S+), policy ([^;]+);/;

export function describeTarget(detail: string): { info: TargetInfo; maxContextTokens?: number } {
  const m = LABEL.exec(detail);
  if (!m) return { info: { policy: 'unknown', cluster: 'unknown', model: 'unknown', gpus: 0 } };
  const model = m[2] as string;
  const info: TargetInfo = { policy: (m[6] as string).trim(), cluster: m[5] as string, model, gpus: Number(m[1]) * Number(m[3]) };
  return MODEL_NAMES.includes(model) ? { info, maxContextTokens: getModel(model).maxContextTokens } : { info };
}

/** Connects and asks Health, within `timeoutMs` in all; rejects with a one-line reason. */
export async function connectTarget(address: string, timeoutMs: number): Promise<Target> {
  const proto = loadGatewayProto();
  const client = new proto.nvlsched.v1.Gateway(address, grpc.credentials.createInsecure());
  const deadline = Date.now() + timeoutMs;
  try {
    await new Promise<void>((resolve, reject) => client.waitForReady(deadline, (err) => (err ? reject(err) : resolve())));
    const health = await new Promise<HealthResponse__Output>((resolve, reject) =>
      client.Health({}, { deadline }, (err, res) => (err || !res ? reject(err ?? new Error('empty Health answer')) : resolve(res))));
    if (health.status !== 'STATUS_SERVING') throw new Error(`the gateway answers ${health.status} (${health.detail})`);
    const { info, maxContextTokens } = describeTarget(health.detail);
    return { address, client, info, ...(maxContextTokens !== undefined ? { maxContextTokens } : {}), health, close: () => client.close() };
  } catch (error) {
    client.close();
    const why = (error as Error).message.includes('Deadline') ? `no answer within ${(timeoutMs / 1000).toFixed(1)} s` : (error as Error).message;
    throw new Error(`cannot reach the gateway at ${address}: ${why}`);
  }
}
