// One bidirectional Step stream to a worker: send(plan) resolves with that plan's result (the worker answers in
// order, one result per plan). When the stream ends or breaks, every waiting plan rejects — no step hangs. Plans and
// results go through the Step stream's hand codec (rpc/step_codec.ts; ordinary protobuf on the wire).
import type * as grpc from '@grpc/grpc-js';

import type { StepPlan } from '../gen/proto/nvlsched/v1/StepPlan.js';
import type { StepResult__Output } from '../gen/proto/nvlsched/v1/StepResult.js';
import type { WorkerClient } from '../gen/proto/nvlsched/v1/Worker.js';
import { stepCodec } from '../rpc/step_codec.js';
import { explainTransportError } from '../rpc/tls.js';

export class StepStreamClient {
  private readonly call: grpc.ClientDuplexStream<StepPlan, StepResult__Output>;
  private readonly waiting: Array<{ resolve: (r: StepResult__Output) => void; reject: (e: Error) => void }> = [];
  private closedWith: Error | null = null;
  private readonly closeListeners: Array<(err: Error) => void> = [];

  constructor(client: WorkerClient) {
    this.call = client.makeBidiStreamRequest(stepCodec.path, stepCodec.serializePlan, stepCodec.deserializeResult);
    this.call.on('data', (r: StepResult__Output) => this.waiting.shift()?.resolve(r));
    this.call.on('error', (err: grpc.ServiceError) => this.close(new Error(`step stream failed: ${explainTransportError(err.details || err.message)}`)));
    this.call.on('end', () => this.close(new Error('step stream ended by the worker')));
  }

  private close(err: Error): void {
    const first = this.closedWith === null;
    this.closedWith ??= err;
    for (const w of this.waiting.splice(0)) w.reject(err);
    if (first) for (const l of this.closeListeners.splice(0)) l(err);
  }

  /** Called once when the stream ends or breaks (also while idle: a worker that dies between steps). */
  onClose(listener: (err: Error) => void): void {
    if (this.closedWith) listener(this.closedWith);
    else this.closeListeners.push(listener);
  }

  get closed(): boolean {
    return this.closedWith !== null;
  }

  send(plan: StepPlan): Promise<StepResult__Output> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.call.write(plan);
    });
  }

  end(): void {
    this.call.end();
  }

  cancel(): void {
    this.call.cancel();
  }
}
