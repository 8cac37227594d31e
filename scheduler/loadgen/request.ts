// A workload request → the Generate request a client would send: prompt_token_ids of the prompt's length (synthetic
// ids), the workload's chained block hashes (so prefix caching sees the trace's sharing, not the synthetic ids),
// max_tokens = the trace's true output length (the gateway stops there, so the output length is the trace's), and
// the shape signals the workload carries (tools, tool results, session and turn, reasoning effort, hint).
import type { ScheduleRequest, Shape } from '../core/types.js';
import type { GenerateRequest } from '../gen/proto/nvlsched/v1/GenerateRequest.js';
import type { Shape as ProtoShape } from '../gen/proto/nvlsched/v1/Shape.js';

export const PROTO_SHAPE: Readonly<Record<Shape, ProtoShape>> = {
  tool_call: 'SHAPE_TOOL_CALL',
  reasoning: 'SHAPE_REASONING',
  terminal: 'SHAPE_TERMINAL',
  chat: 'SHAPE_CHAT',
};

const SHAPE_OF_PROTO: Readonly<Record<string, Shape>> = {
  SHAPE_TOOL_CALL: 'tool_call',
  SHAPE_REASONING: 'reasoning',
  SHAPE_TERMINAL: 'terminal',
  SHAPE_CHAT: 'chat',
};

/** The scheduler's shape from a response's enum name; undefined for SHAPE_UNSPECIFIED or anything unknown. */
export function shapeOfProto(value: string | number | undefined): Shape | undefined {
  return typeof value === 'string' ? SHAPE_OF_PROTO[value] : undefined;
}

/** Synthetic ids stay below the smallest vocabulary of the catalog's models (all are ≥ 32K). */
const SYNTHETIC_VOCAB = 32_000;

/** FNV-1a 32 of the id: a per-request offset, so that two requests' synthetic ids differ. */
function idSeed(requestId: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < requestId.length; i++) h = Math.imul(h ^ requestId.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** `numTokens` synthetic token ids for a request (deterministic; distinct between requests). */
export function syntheticTokenIds(requestId: string, numTokens: number): number[] {
  const ids = new Array<number>(numTokens);
  let x = idSeed(requestId) % SYNTHETIC_VOCAB;
  for (let i = 0; i < numTokens; i++) {
    ids[i] = x;
    x += 7919; // a prime step: consecutive ids differ, the sequence cycles only after the vocabulary
    if (x >= SYNTHETIC_VOCAB) x -= SYNTHETIC_VOCAB;
  }
  return ids;
}

export interface RequestShapeOptions {
  /** Prefix of every request id (a run tag), so that two runs against one gateway never collide. */
  idPrefix: string;
  /**
   * The served model's context, when known: max_tokens is clamped to the room the prompt leaves (the simulator's
   * EOS at the context). Unknown: sent as is, and the gateway refuses what does not fit.
   */
  maxContextTokens?: number;
}

/** max_tokens for a request: the true output length, at least 1, within the context when known. */
export function maxTokensFor(req: ScheduleRequest, outputTokens: number, maxContextTokens: number | undefined): number {
  let n = Math.max(1, Math.round(outputTokens));
  if (maxContextTokens !== undefined) {
    const room = maxContextTokens - req.promptTokens - 1;
    if (room >= 1) n = Math.min(n, room);
  }
  return n;
}

export function toGenerateRequest(req: ScheduleRequest, outputTokens: number, o: RequestShapeOptions): GenerateRequest {
  const requestId = `${o.idPrefix}${req.requestId}`;
  const out: GenerateRequest = {
    requestId,
    promptTokenIds: syntheticTokenIds(requestId, req.promptTokens),
    blockHashes: req.blockHashes.map((h) => h.toString()),
    maxTokens: maxTokensFor(req, outputTokens, o.maxContextTokens),
    tenant: req.tenant,
    numTools: req.hasTools ? 1 : 0,
    hasToolResults: req.hasToolResults,
  };
  if (req.sessionId !== undefined) {
    out.sessionId = req.sessionId;
    out.turnIndex = req.turnIndex ?? 0;
  }
  // The API knows low | medium | high; "none" is the absence of effort, i.e. no field.
  if (req.reasoningEffort !== undefined && req.reasoningEffort !== 'none') out.reasoningEffort = req.reasoningEffort;
  if (req.hintShape !== undefined) out.shapeHint = PROTO_SHAPE[req.hintShape];
  if (req.model !== undefined && req.model !== '') out.model = req.model;
  if (req.priority !== undefined && req.priority !== 0) out.priority = req.priority;
  return out;
}
