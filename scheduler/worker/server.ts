// The Worker gRPC service (proto/nvlsched/v1/worker.proto) over a backend. One Step stream per gateway connection:
// plans are executed in arrival order, one result each. A malformed plan ends its stream with INVALID_ARGUMENT
// naming the field; a sequence that cannot run is reported in that step's result and the stream goes on. When a
// stream ends or breaks, the sequences of the instances it drove are freed (the gateway re-runs them elsewhere).
// This is an edge process: it reads the wall clock (drain deadlines, `pace real`), the scheduler core never does.
import * as grpc from '@grpc/grpc-js';

import type { DrainRequest__Output } from '../gen/proto/nvlsched/v1/DrainRequest.js';
import type { StepPlan__Output } from '../gen/proto/nvlsched/v1/StepPlan.js';
import type { StepResult } from '../gen/proto/nvlsched/v1/StepResult.js';
import type { SequenceOutput } from '../gen/proto/nvlsched/v1/SequenceOutput.js';
import type { WorkerMetrics } from '../metrics/worker_metrics.js';
import { unpackSequences } from '../rpc/packed_step.js';
import { loadWorkerProto } from '../rpc/proto.js';
import { withStepCodec } from '../rpc/step_codec.js';
import { serverCredentials, type ClientTls, type ServerTls } from '../rpc/tls.js';
import type { HandoffSendRequest__Output } from '../gen/proto/nvlsched/v1/HandoffSendRequest.js';
import type { HandoffSegment__Output } from '../gen/proto/nvlsched/v1/HandoffSegment.js';
import type { HandoffAck } from '../gen/proto/nvlsched/v1/HandoffAck.js';
import { handoffReceive } from './handoff_receive.js';
import type { HandoffAppendRequest__Output } from '../gen/proto/nvlsched/v1/HandoffAppendRequest.js';
import type { HandoffTailRequest__Output } from '../gen/proto/nvlsched/v1/HandoffTailRequest.js';
import { ParkedCopies } from './handoff_park.js';
import { handoffSend, type HandoffSite } from './handoff_send.js';
import { handoffAppend, handoffTail } from './handoff_tail.js';
import { asFailure, MAX_MESSAGE_BYTES, toServiceError } from './handoff_wire.js';
import { PeerClients } from './peers.js';
import type { SimBackend } from './sim_backend.js';
import { checkPlan, type PlanLimits } from './validate.js';

export type Pace = 'none' | 'real';

export interface WorkerServerOptions {
  backend: SimBackend;
  limits: PlanLimits;
  /** 'real' waits each step's duration before answering; 'none' (default) answers at once. */
  pace?: Pace;
  /** Describes the worker in Health.detail. */
  label?: string;
  log?: (line: string) => void;
  /** Prometheus recorder (scheduler/metrics): steps, KV events, refusals by code. */
  metrics?: WorkerMetrics;
  /** The tray's place: its NVLink domain (discovered at start, scheduler/deploy/discovery.ts) and tray index. */
  placement?: { domainId: string; domainSource: string; tray: number };
  /** TLS for the port (rpc/tls.ts); with clientCaPem, only gateways with a client certificate of that CA get in. Default: insecure. */
  tls?: ServerTls | null;
  /**
   * TLS toward other workers (the KV hand-off's destination): the CA their certificates chain to and this worker's
   * client certificate when they require one (rpc/tls.ts readClientTls). Default: insecure.
   */
  peerTls?: ClientTls | null;
}

/** Longest Drain wait a client may ask for, seconds. */
export const MAX_DRAIN_DEADLINE_S = 3600;

function invalid(details: string): Partial<grpc.StatusObject> {
  return { code: grpc.status.INVALID_ARGUMENT, details };
}

export class WorkerServer {
  // A hand-off chunk is one message of up to MAX_CHUNK_BYTES (grpc-js's default cap is 4 MiB).
  private readonly server = new grpc.Server({ 'grpc.max_receive_message_length': MAX_MESSAGE_BYTES });
  private readonly peers: PeerClients;
  private readonly site: HandoffSite;
  private readonly idleWaiters = new Set<() => void>();
  /** Open Step streams and how to end each one cleanly (status OK after the results already written). */
  private readonly streams = new Set<() => void>();
  private readonly log: (line: string) => void;

  constructor(private readonly options: WorkerServerOptions) {
    this.log = options.log ?? (() => undefined);
    this.peers = new PeerClients(options.peerTls ?? null);
    this.site = { backend: options.backend, peers: this.peers, domainId: options.placement?.domainId ?? '', tray: options.placement?.tray ?? 0, log: this.log, parked: new ParkedCopies(options.backend, this.log) };
    const proto = loadWorkerProto();
    // The Step stream through its hand codec (rpc/step_codec.ts): the hot path of every gateway step.
    this.server.addService(withStepCodec(proto.nvlsched.v1.Worker.service), {
      Step: (call: grpc.ServerDuplexStream<StepPlan__Output, StepResult>) => this.step(call),
      Snapshot: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, this.options.backend.snapshot()),
      Drain: (call: grpc.ServerUnaryCall<DrainRequest__Output, unknown>, cb: grpc.sendUnaryData<unknown>) => this.drainRpc(call.request, cb),
      Health: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, this.health()),
      HandoffSend: (call: grpc.ServerUnaryCall<HandoffSendRequest__Output, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        handoffSend(this.site, call.request).then((r) => cb(null, r), (error: unknown) => cb(toServiceError(asFailure(error))));
      },
      HandoffReceive: (call: grpc.ServerDuplexStream<HandoffSegment__Output, HandoffAck>) => handoffReceive(this.site, call),
      HandoffTail: (call: grpc.ServerUnaryCall<HandoffTailRequest__Output, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        handoffTail(this.site, call.request).then((r) => cb(null, r), (error: unknown) => cb(toServiceError(asFailure(error))));
      },
      HandoffAppend: (call: grpc.ServerUnaryCall<HandoffAppendRequest__Output, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        try {
          cb(null, handoffAppend(this.site, call.request));
        } catch (error) {
          cb(toServiceError(asFailure(error)));
        }
      },
    });
  }

  /** Binds host:port (0 picks a free port) and returns the port. */
  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) =>
      this.server.bindAsync(`${host}:${port}`, serverCredentials(this.options.tls), (err, bound) => (err ? reject(err) : resolve(bound))));
  }

  health(): { status: string; detail: string; domainId: string; domainSource: string; tray: number } {
    const b = this.options.backend;
    const state = b.draining ? 'STATUS_DRAINING' : 'STATUS_SERVING';
    const p = this.options.placement;
    return { status: state, detail: `${this.options.label ?? 'worker'}; ${b.liveSequences} running sequences`, domainId: p?.domainId ?? '', domainSource: p?.domainSource ?? '', tray: p?.tray ?? 0 };
  }

  /** Refuses new sequences from now on and resolves with the running count once it is 0 or `deadlineS` passed. */
  drain(deadlineS: number): Promise<number> {
    const backend = this.options.backend;
    if (!backend.draining) this.log(`draining: ${backend.liveSequences} running sequences, deadline ${deadlineS} s`);
    backend.draining = true;
    if (backend.liveSequences === 0 || deadlineS <= 0) return Promise.resolve(backend.liveSequences);
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.idleWaiters.delete(done);
        resolve(backend.liveSequences);
      };
      const timer = setTimeout(done, deadlineS * 1000);
      this.idleWaiters.add(done);
    });
  }

  /**
   * Ends every Step stream with status OK (results already written still reach the client), then stops the server;
   * calls still open after `graceS` are cancelled.
   */
  async close(graceS = 2): Promise<void> {
    for (const done of [...this.idleWaiters]) done();
    for (const end of [...this.streams]) end();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, graceS * 1000);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    this.peers.close();
    this.site.parked.clear();
    this.options.backend.close();
  }

  private drainRpc(request: DrainRequest__Output, cb: grpc.sendUnaryData<unknown>): void {
    const deadlineS = request.deadlineS;
    if (!(Number.isFinite(deadlineS) && deadlineS >= 0 && deadlineS <= MAX_DRAIN_DEADLINE_S)) {
      cb(invalid(`deadline_s: expected seconds in [0, ${MAX_DRAIN_DEADLINE_S}], got ${deadlineS}`));
      return;
    }
    this.drain(deadlineS).then((running) => cb(null, { runningSequences: running }), (error: Error) => cb({ code: grpc.status.INTERNAL, details: error.message }));
  }

  private afterStep(): void {
    if (this.options.backend.liveSequences !== 0) return;
    for (const done of [...this.idleWaiters]) done();
  }

  private step(call: grpc.ServerDuplexStream<StepPlan__Output, StepResult>): void {
    const backend = this.options.backend;
    const instances = new Set<string>();
    let closed = false;
    let pending: Promise<void> = Promise.resolve();
    const finish = (): void => {
      if (closed) return;
      closed = true;
      this.streams.delete(endStream);
      let freed = 0;
      for (const id of instances) freed += backend.releaseInstance(id);
      if (freed > 0) this.log(`step stream ended: freed ${freed} sequences of ${[...instances].join(', ')}`);
      this.afterStep();
    };
    const endStream = (): void => {
      void pending.then(() => {
        if (closed) return;
        finish();
        call.end();
      });
    };
    this.streams.add(endStream);
    call.on('data', (plan: StepPlan__Output) => {
      if (closed) return;
      const packed = plan.packedSequences !== undefined && plan.packedSequences.length > 0;
      let bad: string | null = null;
      if (packed) {
        if (plan.sequences.length > 0) bad = 'packed_sequences: give sequences or packed_sequences, not both';
        else {
          try {
            plan.sequences = unpackSequences(plan.packedSequences);
          } catch (error) {
            bad = (error as Error).message;
          }
        }
      }
      bad ??= checkPlan(plan, this.options.limits, (instance, seq) => backend.tokensOf(instance, seq));
      if (bad) {
        finish();
        call.emit('error', invalid(`StepPlan ${plan.stepId}: ${bad}`));
        return;
      }
      instances.add(plan.instanceId);
      const result = this.execute(plan, packed);
      this.record(plan, result);
      this.afterStep();
      if (this.options.pace === 'real' && Number(result.durationS) > 0) {
        pending = pending.then(() => new Promise((resolve) => setTimeout(resolve, Number(result.durationS) * 1000))).then(() => {
          if (!closed) call.write(result);
        });
      } else {
        call.write(result);
      }
    });
    call.on('end', endStream);
    call.on('cancelled', finish);
    call.on('error', finish);
  }

  private record(plan: StepPlan__Output, result: StepResult): void {
    const m = this.options.metrics;
    if (!m) return;
    try {
      const outputs = (result.outputs ?? []) as SequenceOutput[];
      // The refused sequences (few, usually none) are the outputs with an error code, packed plan or not.
      let refused: Set<number> | undefined;
      for (const o of outputs) if (o.errorCode) (refused ??= new Set()).add(o.seqId as number);
      let ran = 0;
      let tokens = 0;
      for (const s of plan.sequences) {
        if (refused?.has(s.seqId)) continue;
        ran++;
        tokens += s.numTokens;
      }
      for (const o of outputs) if (o.errorCode) m.error(o.errorCode);
      if (result.errorCode && !outputs.some((o) => o.errorCode)) m.error(result.errorCode);
      m.stepCompleted({ numTokens: tokens, numSeqs: ran, durationS: Number(result.durationS) || 0 });
      const events = (result.kvEvents ?? []) as Array<{ stored?: unknown; removed?: unknown; moved?: unknown }>;
      if (events.length > 0) {
        const counts = { stored: 0, removed: 0, moved: 0 };
        for (const e of events) {
          if (e.stored) counts.stored++;
          else if (e.removed) counts.removed++;
          else if (e.moved) counts.moved++;
        }
        m.kvEvents(counts);
      }
    } catch (error) {
      this.log(`metrics: ${(error as Error).message}`);
    }
  }

  private execute(plan: StepPlan__Output, packed: boolean): StepResult {
    try {
      return this.options.backend.execute(plan, { packed });
    } catch (error) {
      // A bug, not bad input: report it for this step and keep serving.
      const message = (error as Error).message ?? String(error);
      this.log(`step ${plan.stepId}: internal error: ${message}`);
      return { stepId: plan.stepId, durationS: 0, outputs: [], kvEvents: [], errorCode: 'E_INTERNAL', errorMessage: message };
    }
  }
}
