// Test helpers: a loopback client of the Worker service and a Step stream that answers plan by plan.
import * as grpc from '@grpc/grpc-js';

import type { KvEvent__Output } from '../gen/proto/nvlsched/v1/KvEvent.js';
import type { StepPlan } from '../gen/proto/nvlsched/v1/StepPlan.js';
import type { StepResult__Output } from '../gen/proto/nvlsched/v1/StepResult.js';
import type { WorkerClient } from '../gen/proto/nvlsched/v1/Worker.js';
import type { KvEvent } from '../kv/types.js';
import { loadWorkerProto } from '../rpc/proto.js';
import { channelCredentials, type ClientTls } from '../rpc/tls.js';

/** A client of the worker on 127.0.0.1:port; tls: over TLS (rpc/tls.ts readClientTls), default insecure. */
export function connect(port: number, tls?: ClientTls | null): WorkerClient {
  const proto = loadWorkerProto();
  const { credentials, options } = channelCredentials(tls);
  return new proto.nvlsched.v1.Worker(`127.0.0.1:${port}`, credentials, options);
}

export function unary<Req, Res>(method: (req: Req, cb: (err: grpc.ServiceError | null, res?: Res) => void) => unknown, req: Req): Promise<Res> {
  return new Promise((resolve, reject) => method(req, (err, res) => (err || res === undefined ? reject(err) : resolve(res))));
}

/** One Step stream: send(plan) resolves with that plan's result; `closed` settles with the stream's status. */
export class StepStream {
  readonly closed: Promise<grpc.ServiceError | null>;
  private readonly call: grpc.ClientDuplexStream<StepPlan, StepResult__Output>;
  private readonly waiting: Array<{ resolve: (r: StepResult__Output) => void; reject: (e: Error) => void }> = [];

  constructor(client: WorkerClient) {
    this.call = client.Step();
    this.call.on('data', (r: StepResult__Output) => this.waiting.shift()?.resolve(r));
    this.closed = new Promise((resolve) => {
      this.call.on('error', (err: grpc.ServiceError) => resolve(err));
      this.call.on('end', () => resolve(null));
    });
    // A plan still waiting when the stream closes fails its test instead of hanging it.
    void this.closed.then((err) => {
      for (const w of this.waiting.splice(0)) w.reject(new Error(`step stream closed before the result: ${err?.details ?? 'end'}`));
    });
  }

  send(plan: StepPlan): Promise<StepResult__Output> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.call.write(plan);
    });
  }

  /** Sends a plan the server should refuse and returns the stream's error. */
  async sendBad(plan: StepPlan): Promise<grpc.ServiceError | null> {
    this.call.write(plan);
    return this.closed;
  }

  end(): Promise<grpc.ServiceError | null> {
    this.call.end();
    return this.closed;
  }
}

const TIERS = { TIER_DEVICE: 'device', TIER_HOST: 'host', TIER_DISK: 'disk' } as const;

/** Proto events → the KV manager's event objects (what KvIndex.applyEvents takes). */
export function eventsFromProto(events: readonly KvEvent__Output[]): KvEvent[] {
  return events.map((e) => {
    const eventId = Number(e.eventId);
    if (e.stored) {
      const loc = e.stored.location;
      return { eventId, kind: 'stored', location: { tier: TIERS[loc?.tier ?? 'TIER_DEVICE'], index: loc?.index ?? 0 }, hash: BigInt(e.stored.hash), parentHash: BigInt(e.stored.parentHash) };
    }
    if (e.removed) {
      const loc = e.removed.location;
      return { eventId, kind: 'removed', location: { tier: TIERS[loc?.tier ?? 'TIER_DEVICE'], index: loc?.index ?? 0 }, hash: BigInt(e.removed.hash) };
    }
    throw new Error(`unexpected event ${JSON.stringify(e)}`);
  });
}
