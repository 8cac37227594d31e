// One planned request over the gateway's gRPC API (Generate), tracked for exactly-once: the call's `status` event
// is its one end; the final message (finished = true) must come at most once and nothing may follow it. A planned
// cancel cancels the call after its first token (the gateway must free its KV like any other end).
import * as grpc from '@grpc/grpc-js';

import type { GatewayClient } from '../gen/proto/nvlsched/v1/Gateway.js';
import type { GenerateRequest } from '../gen/proto/nvlsched/v1/GenerateRequest.js';
import type { GenerateResponse__Output } from '../gen/proto/nvlsched/v1/GenerateResponse.js';
import { newOutcome, promptIds, type ClientOutcome } from './outcome.js';
import type { PlannedRequest } from './plan.js';

export interface RunningCall {
  outcome: ClientOutcome;
  done: Promise<ClientOutcome>;
  /** Ends a call still open at the bound (the soak records it as open, a violation). */
  abandon(): void;
}

/** Statuses that mean "refused" when they come before any token (as the load generator reads them). */
const REFUSALS = new Set<number>([grpc.status.INVALID_ARGUMENT, grpc.status.NOT_FOUND, grpc.status.ALREADY_EXISTS, grpc.status.RESOURCE_EXHAUSTED, grpc.status.FAILED_PRECONDITION]);

const statusName = (code: number): string => (grpc.status as unknown as Record<number, string | undefined>)[code] ?? `STATUS_${code}`;

export function generateRequest(p: PlannedRequest): GenerateRequest {
  const req: GenerateRequest = { requestId: p.id, promptTokenIds: promptIds(p.promptBase, p.promptLen), maxTokens: p.maxTokens, tenant: 'chaos' };
  if (p.numTools !== undefined) req.numTools = p.numTools;
  if (p.hasToolResults) req.hasToolResults = true;
  if (p.reasoningEffort !== undefined) req.reasoningEffort = p.reasoningEffort;
  if (p.session) {
    req.sessionId = p.session.id;
    req.turnIndex = p.session.turn;
  }
  return req;
}

export function startGrpcCall(client: GatewayClient, p: PlannedRequest, timeoutS: number): RunningCall {
  const out = newOutcome(p);
  let final: GenerateResponse__Output | undefined;
  let cancelled = false;
  let abandoned = false;
  let resolve!: (o: ClientOutcome) => void;
  const done = new Promise<ClientOutcome>((r) => (resolve = r));
  const call = client.Generate(generateRequest(p), { deadline: Date.now() + timeoutS * 1000 });
  call.on('data', (c: GenerateResponse__Output) => {
    if (final) out.problems.push(`a message after the final one (finished=${c.finished}, ${c.tokenIds.length} tokens)`);
    out.tokens += c.tokenIds.length;
    if (c.finished) {
      if (final) out.problems.push(`a second final message (finish_reason ${c.finishReason})`);
      final ??= c;
    }
    if (p.kind === 'cancel' && !cancelled && out.tokens > 0 && !c.finished) {
      cancelled = true;
      call.cancel();
    }
  });
  // grpc-js emits 'error' beside 'status' for a non-OK status; 'status' alone is the end we count.
  call.on('error', () => undefined);
  call.on('status', (s: grpc.StatusObject) => {
    out.ends++;
    if (out.ends > 1) {
      out.problems.push(`a second end (status ${statusName(s.code)})`);
      return;
    }
    if (abandoned) return resolve(out);
    if (s.code === grpc.status.OK) {
      if (!final) {
        out.outcome = 'failed';
        out.message = 'the stream ended OK without a final message';
        out.problems.push(out.message);
      } else fromFinal(final);
    } else if (final) {
      out.problems.push(`status ${statusName(s.code)} after the final message: ${s.details}`);
      fromFinal(final);
    } else if (cancelled && s.code === grpc.status.CANCELLED) {
      out.outcome = 'cancelled';
      out.message = 'cancelled by the client after its first token';
    } else {
      const code = s.metadata?.get('x-nvlsched-reject-code')[0];
      if (out.tokens === 0 && (code !== undefined || REFUSALS.has(s.code))) {
        out.outcome = 'rejected';
        out.code = code !== undefined ? String(code) : `E_${statusName(s.code)}`;
      } else out.outcome = 'failed';
      out.message = `${statusName(s.code)}: ${s.details}`;
      if (!s.details) out.problems.push(`${out.outcome} with status ${statusName(s.code)} and no details`);
    }
    resolve(out);
  });
  const fromFinal = (f: GenerateResponse__Output): void => {
    out.finishReason = f.finishReason;
    if (f.usage) out.usageTokens = f.usage.completionTokens;
    if (f.finishReason === 'length' || f.finishReason === 'stop') out.outcome = 'completed';
    else {
      // 'error': a worker failure the gateway could not re-run; 'cancelled' we did not ask for: the gateway's own.
      out.outcome = 'failed';
      out.message = `finish_reason ${f.finishReason}: ${f.text}`;
      if (!f.text) out.problems.push(`finish_reason ${f.finishReason} without a reason in text`);
    }
  };
  return {
    outcome: out,
    done,
    abandon() {
      if (out.ends > 0) return;
      abandoned = true;
      call.cancel();
    },
  };
}
