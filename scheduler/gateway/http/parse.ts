// OpenAI request bodies (`/v1/chat/completions`, `/v1/completions`) + hint headers → the scheduler's request. Every
// problem throws an ApiError: 400 naming the field in `param`, 404 for a model this server does not serve.
// Accepted and ignored (they cannot apply to synthetic outputs, or only steer sampling, which the workers do not
// model): stop, temperature, top_p, seed, user, presence_penalty, frequency_penalty, logit_bias, tool_choice
// ("none" does count: no tools for the shape), parallel_tool_calls, response_format, metadata, store, service_tier
// — each still type-checked. Unknown fields are ignored (as vLLM does). Refused at any non-neutral value: n ≠ 1,
// best_of ≠ 1, logprobs, echo, suffix.
import type { IncomingHttpHeaders } from 'node:http';

import type { ReasoningEffort, ScheduleRequest } from '../../core/types.js';
import { promptBlockHashes } from '../hashing.js';
import { DEFAULT_MAX_TOKENS, defaultMaxTokens, type Limits, type ParsedRequest } from '../request.js';
import { limitMessage } from '../tenancy/limits.js';
import type { Tokenizer } from '../tokenizer.js';
import { chatPrompt } from './chat_prompt.js';
import { ApiError, FieldError } from './errors.js';
import { describe, isObject, optBool, optEnum, optInt, optNumber, optObject, optString, onlyNeutral, type JsonObject } from './fields.js';
import { readHints } from './hints.js';

export type ApiKind = 'chat' | 'completion';

export interface ApiRequest {
  kind: ApiKind;
  /** The served model name echoed in responses. */
  model: string;
  stream: boolean;
  includeUsage: boolean;
  parsed: ParsedRequest;
}

export interface ParseContext {
  limits: Limits;
  /** Served names, the first is the default. */
  models: readonly string[];
  tokenizer: Tokenizer;
  /** A fresh id when the client sent no x-request-id. */
  newRequestId: () => string;
  nowS: number;
}

/** OpenAI's documented default for the legacy completions endpoint; chat uses the gateway default (request.ts). */
const COMPLETIONS_DEFAULT_MAX_TOKENS = 16;
const MAX_PROMPT_TOKEN_ID = 0xffffffff;
const MAX_STOP_SEQUENCES = 4;
/** OpenAI's efforts → the scheduler's (it ranks none < low < medium < high). */
const EFFORTS: Readonly<Record<string, ReasoningEffort>> = { none: 'none', minimal: 'low', low: 'low', medium: 'medium', high: 'high', xhigh: 'high' };

function readModel(body: JsonObject, models: readonly string[]): { name: string; pinned: boolean } {
  const m = optString(body, 'model', '', 256);
  if (m === undefined || m === '') return { name: models[0] ?? '', pinned: false };
  if (!models.includes(m)) throw new ApiError(404, `The model ${JSON.stringify(m)} does not exist; served: ${models.join(', ')}`, 'model', 'model_not_found');
  return { name: m, pinned: true };
}

/** The sampling and misc fields this server type-checks but does not apply. */
function checkIgnored(body: JsonObject): void {
  optNumber(body, 'temperature', '', 0, 2);
  optNumber(body, 'top_p', '', 0, 1);
  optNumber(body, 'presence_penalty', '', -2, 2);
  optNumber(body, 'frequency_penalty', '', -2, 2);
  optInt(body, 'seed', '', Number.MIN_SAFE_INTEGER);
  optString(body, 'user', '');
  optObject(body, 'logit_bias', '');
  optObject(body, 'metadata', '');
  optBool(body, 'store', '');
  optString(body, 'service_tier', '');
  const stop = body['stop'];
  if (Array.isArray(stop)) {
    if (stop.length > MAX_STOP_SEQUENCES || !stop.every((s) => typeof s === 'string')) throw new FieldError('stop', `expected a string or up to ${MAX_STOP_SEQUENCES} strings`);
  } else if (stop !== undefined && stop !== null && typeof stop !== 'string') throw new FieldError('stop', `expected a string or up to ${MAX_STOP_SEQUENCES} strings, got ${describe(stop)}`);
  onlyNeutral(body, 'n', '', (v) => v === 1, 'one choice per request; send n = 1');
  onlyNeutral(body, 'logprobs', '', (v) => v === false || v === 0, 'no log probabilities');
}

function readStream(body: JsonObject): { stream: boolean; includeUsage: boolean } {
  const stream = optBool(body, 'stream', '') ?? false;
  const opts = optObject(body, 'stream_options', '');
  if (opts !== undefined && !stream) throw new FieldError('stream_options', 'only allowed when stream is true');
  return { stream, includeUsage: (opts && optBool(opts, 'include_usage', 'stream_options')) ?? false };
}

/** The completions `prompt`: a string or token ids, alone or as a one-item batch. */
function completionPromptIds(body: JsonObject, tokenizer: Tokenizer, maxTokens: number): number[] {
  let p = body['prompt'];
  if (p === undefined || p === null) throw new FieldError('prompt', 'required');
  // A batch of one is the same request; larger batches would need n choices.
  if (Array.isArray(p) && p.length === 1 && (typeof p[0] === 'string' || Array.isArray(p[0]))) p = p[0];
  if (typeof p === 'string') {
    if (p === '') throw new FieldError('prompt', 'must not be empty');
    return tokenizer.encode(p, maxTokens);
  }
  if (!Array.isArray(p) || p.length === 0) throw new FieldError('prompt', `expected a non-empty string or token id array (a batch of one), got ${describe(p)}`);
  p.forEach((id, i) => {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id > MAX_PROMPT_TOKEN_ID) throw new FieldError(`prompt[${i}]`, `expected a token id 0 to ${MAX_PROMPT_TOKEN_ID}${typeof id === 'string' ? ' (a batch of several prompts is not supported)' : ''}, got ${describe(id)}`);
  });
  return p as number[];
}

/** limits.maxMessages and limits.maxTools, checked before the (costlier) prompt rendering. */
function checkCounts(body: JsonObject, limits: Limits): void {
  const messages = body['messages'];
  if (Array.isArray(messages) && limits.maxMessages !== undefined && messages.length > limits.maxMessages) {
    throw new ApiError(400, limitMessage('messages', `${messages.length} messages exceed`, 'maxMessages', limits.maxMessages), 'messages', 'limit_exceeded');
  }
  const tools = body['tools'];
  if (Array.isArray(tools) && limits.maxTools !== undefined && tools.length > limits.maxTools) {
    throw new ApiError(400, limitMessage('tools', `${tools.length} tools exceed`, 'maxTools', limits.maxTools), 'tools', 'limit_exceeded');
  }
}

function build(kind: ApiKind, body: unknown, headers: IncomingHttpHeaders, ctx: ParseContext): ApiRequest {
  if (!isObject(body)) throw new FieldError('body', `expected a JSON object, got ${describe(body)}`);
  const hints = readHints(headers);
  const model = readModel(body, ctx.models);
  checkIgnored(body);
  const { stream, includeUsage } = readStream(body);
  const { maxContextTokens, blockTokens } = ctx.limits;
  let ids: number[];
  let numTools = 0;
  let hasToolResults = false;
  let assistantTurns = 0;
  let effort: ReasoningEffort | undefined;
  if (kind === 'chat') {
    if (body['functions'] !== undefined && body['functions'] !== null) throw new FieldError('functions', 'deprecated by OpenAI and not supported: send tools');
    const e = optEnum(body, 'reasoning_effort', '', Object.keys(EFFORTS));
    effort = e === undefined ? undefined : EFFORTS[e];
    optObject(body, 'response_format', '');
    optBool(body, 'parallel_tool_calls', '');
    const choice = body['tool_choice'];
    if (choice !== undefined && choice !== null && !isObject(choice) && !['none', 'auto', 'required'].includes(choice as string)) throw new FieldError('tool_choice', `expected none, auto, required or an object, got ${describe(choice)}`);
    checkCounts(body, ctx.limits);
    const chat = chatPrompt(body);
    ({ hasToolResults, assistantTurns } = chat);
    // tool_choice "none": the schemas are still in the prompt (they cost tokens) but no call can come back.
    numTools = choice === 'none' ? 0 : chat.numTools;
    ids = ctx.tokenizer.encode(chat.text, maxContextTokens);
  } else {
    onlyNeutral(body, 'echo', '', (v) => v === false, 'the prompt is not echoed');
    onlyNeutral(body, 'best_of', '', (v) => v === 1, 'one choice per request');
    onlyNeutral(body, 'suffix', '', (v) => v === '', 'no insertion');
    ids = completionPromptIds(body, ctx.tokenizer, maxContextTokens);
  }
  const promptParam = kind === 'chat' ? 'messages' : 'prompt';
  if (ids.length >= maxContextTokens) {
    const n = ids.length > maxContextTokens ? `more than ${maxContextTokens}` : String(ids.length);
    throw new ApiError(400, `${promptParam}: the prompt has ${n} tokens; the model's context of ${maxContextTokens} leaves no room for output`, promptParam, 'context_length_exceeded');
  }
  if (ctx.limits.maxPromptTokens != null && ids.length > ctx.limits.maxPromptTokens) {
    throw new ApiError(400, limitMessage(promptParam, `the prompt's ${ids.length} tokens exceed`, 'maxPromptTokens', ctx.limits.maxPromptTokens), promptParam, 'limit_exceeded');
  }
  const room = maxContextTokens - ids.length;
  const maxParam = body['max_completion_tokens'] !== undefined && body['max_completion_tokens'] !== null ? 'max_completion_tokens' : 'max_tokens';
  const clientMax = optInt(body, maxParam, '', 1);
  optInt(body, maxParam === 'max_tokens' ? 'max_completion_tokens' : 'max_tokens', '', 1);
  if (clientMax !== undefined && clientMax > room) {
    throw new ApiError(400, `${maxParam}: ${clientMax} is past the context left after a ${ids.length}-token prompt (${room} of ${maxContextTokens})`, maxParam, 'context_length_exceeded');
  }
  if (clientMax !== undefined && ctx.limits.maxOutputTokens != null && clientMax > ctx.limits.maxOutputTokens) {
    throw new ApiError(400, limitMessage(maxParam, `${clientMax} exceeds`, 'maxOutputTokens', ctx.limits.maxOutputTokens), maxParam, 'limit_exceeded');
  }
  const maxTokens = clientMax ?? defaultMaxTokens(kind === 'chat' ? DEFAULT_MAX_TOKENS : COMPLETIONS_DEFAULT_MAX_TOKENS, room, ctx.limits);
  const req: ScheduleRequest = {
    requestId: hints.requestId ?? ctx.newRequestId(),
    tenant: hints.tenant,
    arrivalS: ctx.nowS,
    promptTokens: ids.length,
    maxOutputTokens: maxTokens,
    maxOutputTokensFromClient: clientMax !== undefined,
    blockHashes: promptBlockHashes(ids, blockTokens),
    hasTools: numTools > 0,
    hasToolResults,
    ...(hints.sessionId !== undefined ? { sessionId: hints.sessionId, turnIndex: hints.turnIndex ?? assistantTurns } : {}),
    ...(effort !== undefined ? { reasoningEffort: effort } : {}),
    ...(hints.hintShape !== undefined ? { hintShape: hints.hintShape } : {}),
    // Only a model the client named pins the route; otherwise the router chooses.
    ...(model.pinned ? { model: model.name } : {}),
    priority: hints.priority,
  };
  return { kind, model: model.name, stream, includeUsage, parsed: { req, maxTokens, promptTokenIds: ids } };
}

export const parseChat = (body: unknown, headers: IncomingHttpHeaders, ctx: ParseContext): ApiRequest => build('chat', body, headers, ctx);
export const parseCompletion = (body: unknown, headers: IncomingHttpHeaders, ctx: ParseContext): ApiRequest => build('completion', body, headers, ctx);
