// One forwarded request: the origin replica calls the owner replica's peer port (Gateway.Generate, which never
// forwards again) and relays its token chunks and final message to the client's sink unchanged. The client never
// sees the owner fail: a forward that fails before its first token (peer unreachable, refused, shut down) is served
// here instead; one that fails mid-stream continues here as a continuation — the prompt plus the tokens already
// streamed, the tokens still owed — as the driver re-runs a request whose worker failed (../README.md).
import * as grpc from '@grpc/grpc-js';

import type { Shape } from '../../core/types.js';
import type { GatewayClient } from '../../gen/proto/nvlsched/v1/Gateway.js';
import type { GenerateRequest } from '../../gen/proto/nvlsched/v1/GenerateRequest.js';
import type { GenerateResponse__Output } from '../../gen/proto/nvlsched/v1/GenerateResponse.js';
import type { Clock } from '../driver.js';
import type { Finished, ForwardStart, Frontend, StreamSink } from '../frontend.js';
import { DEFAULT_MAX_TOKENS, type ParsedRequest } from '../request.js';

const SHAPE_OF: Readonly<Record<string, Shape>> = { SHAPE_TOOL_CALL: 'tool_call', SHAPE_REASONING: 'reasoning', SHAPE_TERMINAL: 'terminal', SHAPE_CHAT: 'chat' };
const HINT_OF: Readonly<Record<Shape, GenerateRequest['shapeHint']>> = { tool_call: 'SHAPE_TOOL_CALL', reasoning: 'SHAPE_REASONING', terminal: 'SHAPE_TERMINAL', chat: 'SHAPE_CHAT' };
const REASONS: readonly string[] = ['length', 'stop', 'cancelled', 'error'];

export interface ForwardTarget {
  replicaId: string;
  address: string;
  /** The instance expected to serve it (the peer's scheduler places it). */
  instanceId: string;
}

export interface RelayDeps {
  frontend: Frontend;
  client(address: string): GatewayClient;
  clock: Clock;
  maxContextTokens: number;
  connectTimeoutMs: number;
  peerFailed(replicaId: string, why: string): void;
  peerOk(replicaId: string): void;
  /** Served here after all: 'fallback' before any token, 'continuation' after some. */
  servedHere(kind: 'fallback' | 'continuation'): void;
}

/**
 * The Generate request for the peer: the prompt's token ids as the client's request gave them (or, for a request
 * parsed without them, zeros of the same length: the scheduler and the workers use the length and the block hashes,
 * which are sent as computed here), and every field classification reads.
 */
export function peerRequest(parsed: ParsedRequest, remoteId: string, maxContextTokens: number): GenerateRequest {
  const r = parsed.req;
  // 0 lets the peer fill in the same default (and keeps "max_tokens not the client's" for classification).
  const defaultMax = Math.min(DEFAULT_MAX_TOKENS, maxContextTokens - r.promptTokens);
  const maxTokens = r.maxOutputTokensFromClient === false && parsed.maxTokens === defaultMax ? 0 : parsed.maxTokens;
  return {
    requestId: remoteId,
    model: r.model ?? '',
    promptTokenIds: parsed.promptTokenIds !== undefined && parsed.promptTokenIds.length === r.promptTokens ? [...parsed.promptTokenIds] : new Array<number>(r.promptTokens).fill(0),
    blockHashes: r.blockHashes.map((h) => h.toString()),
    maxTokens,
    shapeHint: r.hintShape !== undefined ? HINT_OF[r.hintShape] : 'SHAPE_UNSPECIFIED',
    sessionId: r.sessionId ?? '',
    turnIndex: r.turnIndex ?? 0,
    priority: r.priority ?? 0,
    tenant: r.tenant,
    numTools: r.hasTools ? 1 : 0,
    hasToolResults: r.hasToolResults,
    reasoningEffort: r.reasoningEffort ?? '',
  };
}

/**
 * Calls back once the peer's channel is ready, or with an error as soon as a connection attempt failed (a dead peer
 * refuses at once: no need to wait out the deadline, as grpc's waitForReady would) or at the deadline.
 */
function whenReady(client: grpc.Client, deadlineMs: number, cb: (err?: Error) => void): void {
  const channel = client.getChannel();
  const check = (): void => {
    const state = channel.getConnectivityState(true);
    if (state === grpc.connectivityState.READY) return cb();
    if (state === grpc.connectivityState.TRANSIENT_FAILURE || state === grpc.connectivityState.SHUTDOWN) return cb(new Error('connection failed'));
    if (Date.now() >= deadlineMs) return cb(new Error('no connection before the deadline'));
    channel.watchConnectivityState(state, deadlineMs, (err?: Error) => (err ? cb(new Error('no connection before the deadline')) : check()));
  };
  check();
}

/** Starts the relay; the returned handle cancels it (wherever it is served by then). */
export function startRelay(d: RelayDeps, parsed: ParsedRequest, sink: StreamSink, target: ForwardTarget, remoteId: string, shape: Shape, pool: string, onDone: () => void): ForwardStart {
  const req = parsed.req;
  let ended = false;
  let streamed = 0;
  let firstTokenS: number | undefined;
  let call: grpc.ClientReadableStream<GenerateResponse__Output> | null = null;
  let local: { cancel(reason: string): boolean } | null = null;

  const end = (f: Finished): void => {
    if (ended) return;
    ended = true;
    onDone();
    sink.onEnd(f);
  };
  const tokens = (ids: readonly number[]): void => {
    if (ended || ids.length === 0) return;
    firstTokenS ??= d.clock();
    streamed += ids.length;
    sink.onTokens(ids);
  };
  /** Origin-side timings: what the client saw, hop included. */
  const timings = (queueS: number, completionTokens: number): Finished['timings'] => {
    const nowS = d.clock();
    const ttftS = firstTokenS !== undefined ? firstTokenS - req.arrivalS : 0;
    const tpotS = firstTokenS !== undefined && completionTokens > 1 ? (nowS - firstTokenS) / (completionTokens - 1) : 0;
    return { queueS, ttftS, tpotS, e2eS: nowS - req.arrivalS };
  };

  const serveHere = (why: string): void => {
    if (ended) return;
    call = null;
    const before = streamed;
    d.servedHere(before === 0 ? 'fallback' : 'continuation');
    const rest = parsed.maxTokens - before;
    if (rest <= 0) {
      // Every token was streamed; only the final message was lost.
      end({ requestId: req.requestId, finishReason: 'length', usage: { promptTokens: req.promptTokens, completionTokens: before, cachedPromptTokens: 0, costUsd: 0 }, timings: timings(0, before), shape });
      return;
    }
    const again: ParsedRequest = before === 0 ? parsed : {
      req: { ...req, arrivalS: d.clock(), promptTokens: Math.min(req.promptTokens + before, d.maxContextTokens - 1), maxOutputTokens: rest },
      maxTokens: rest,
    };
    const res = d.frontend.startLocal(again, {
      onTokens: tokens,
      onEnd: (f) => {
        const completionTokens = before + f.usage.completionTokens;
        const usage = { promptTokens: req.promptTokens, completionTokens, cachedPromptTokens: Math.min(req.promptTokens, f.usage.cachedPromptTokens), costUsd: f.usage.costUsd };
        end({ ...f, requestId: req.requestId, usage, timings: timings(f.timings.queueS, completionTokens) });
      },
    });
    if (!res.ok) {
      const r = res.rejection;
      end({ requestId: req.requestId, finishReason: 'error', error: `${r.code}: ${r.reason} (after replica ${target.replicaId} failed: ${why})`, usage: { promptTokens: req.promptTokens, completionTokens: before, cachedPromptTokens: 0, costUsd: 0 }, timings: timings(0, before), shape });
      return;
    }
    local = res;
  };

  const onChunk = (c: GenerateResponse__Output): void => {
    if (ended) return;
    tokens(c.tokenIds);
    if (!c.finished) return;
    d.peerOk(target.replicaId);
    const reason = REASONS.includes(c.finishReason) ? (c.finishReason as Finished['finishReason']) : 'error';
    const u = c.usage;
    const usage = { promptTokens: req.promptTokens, completionTokens: u?.completionTokens ?? streamed, cachedPromptTokens: u?.cachedPromptTokens ?? 0, costUsd: u?.costUsd ?? 0 };
    const f: Finished = { requestId: req.requestId, finishReason: reason, usage, timings: timings(c.timings?.queueS ?? 0, usage.completionTokens), shape: SHAPE_OF[c.shape] ?? shape };
    if (reason === 'error') f.error = c.text || 'the serving replica reported an error';
    if (reason === 'cancelled') f.cancelReason = c.text;
    end(f);
  };

  const open = (): void => {
    const client = d.client(target.address);
    whenReady(client, Date.now() + d.connectTimeoutMs, (err?: Error) => {
      if (ended) return;
      if (err) {
        d.peerFailed(target.replicaId, `not reachable at ${target.address}: ${err.message}`);
        return serveHere(err.message);
      }
      const c = client.Generate(peerRequest(parsed, remoteId, d.maxContextTokens));
      // Sent: a fallback or continuation served here needs only the length and hashes.
      delete parsed.promptTokenIds;
      call = c;
      c.on('data', onChunk);
      c.on('error', (e: grpc.ServiceError) => {
        if (ended || call !== c) return;
        // A refusal (overload, a request it finds invalid) is not a failed peer; anything else is.
        const why = `${grpc.status[e.code] ?? e.code}: ${e.details || e.message}`;
        if (e.code !== grpc.status.RESOURCE_EXHAUSTED && e.code !== grpc.status.INVALID_ARGUMENT) d.peerFailed(target.replicaId, why);
        serveHere(why);
      });
      c.on('end', () => {
        if (!ended && call === c) serveHere('the stream ended without a final message');
      });
    });
  };
  // Never before the caller has the handle (the Forwarder contract: no sink call before forward() returns).
  queueMicrotask(open);

  return {
    shape,
    pool,
    instanceId: target.instanceId,
    cancel: (reason: string): boolean => {
      if (ended) return false;
      if (local) return local.cancel(reason);
      const c = call;
      call = null;
      c?.cancel();
      end({ requestId: req.requestId, finishReason: 'cancelled', cancelReason: reason, usage: { promptTokens: req.promptTokens, completionTokens: streamed, cachedPromptTokens: 0, costUsd: 0 }, timings: timings(0, streamed), shape });
      return true;
    },
  };
}
