// GenerateRequest → the scheduler's ScheduleRequest. Every problem is one "field: reason" string (proto field
// names), which the service returns as gRPC INVALID_ARGUMENT — never a crash, never a hung stream.
import type { GenerateRequest__Output } from '../gen/proto/nvlsched/v1/GenerateRequest.js';
import type { ReasoningEffort, ScheduleRequest, Shape } from '../core/types.js';
import { promptBlockHashes } from './hashing.js';
import { limitMessage } from './tenancy/limits.js';
import { defaultTokenizer, type Tokenizer } from './tokenizer.js';

/** max_tokens when the client leaves it 0 (as OpenAI's servers, a default; it says nothing about the shape). */
export const DEFAULT_MAX_TOKENS = 256;
const MAX_REQUEST_ID_CHARS = 256;
/**
 * A session id becomes the workers' session key when the scheduler retains a turn's KV (hold_sessions), and the
 * worker refuses keys past 256 characters (worker/validate.ts): a longer id would end the whole Step stream of its
 * worker. Same bound as the HTTP API's x-session-id.
 */
const MAX_SESSION_ID_CHARS = 256;
/** As the HTTP API's x-tenant. */
const MAX_TENANT_CHARS = 128;
const MAX_PRIORITY = 1_000_000;
const DECIMAL_U64 = /^[0-9]{1,20}$/;

const SHAPE_HINTS: Readonly<Record<string, Shape | undefined>> = {
  SHAPE_UNSPECIFIED: undefined,
  SHAPE_TOOL_CALL: 'tool_call',
  SHAPE_REASONING: 'reasoning',
  SHAPE_TERMINAL: 'terminal',
  SHAPE_CHAT: 'chat',
};
const EFFORTS: readonly string[] = ['low', 'medium', 'high'];

export interface Limits {
  maxContextTokens: number;
  blockTokens: number;
  /** The edge's caps (the `limits:` section, tenancy/limits.ts); absent: only the context bounds a request. */
  maxPromptTokens?: number | null;
  maxOutputTokens?: number | null;
  maxTools?: number;
  maxMessages?: number;
}

export interface ParsedRequest {
  req: ScheduleRequest;
  /** The request's own output cap (the gateway's EOS rule). */
  maxTokens: number;
  /**
   * The prompt's token ids, for a forward to another gateway replica (replica/relay.ts sends them). Dropped once the
   * request is served here or its forward is sent, so that a live request does not keep its whole prompt.
   */
  promptTokenIds?: readonly number[];
}

export type ParseResult = { ok: true; value: ParsedRequest } | { ok: false; error: string };

const fail = (error: string): ParseResult => ({ ok: false, error });

function readPrompt(r: GenerateRequest__Output, limits: Limits, tokenizer: Tokenizer): number[] | string {
  const hasText = r.prompt.length > 0;
  const hasIds = r.promptTokenIds.length > 0;
  if (hasText && hasIds) return 'prompt: give prompt or prompt_token_ids, not both';
  if (!hasText && !hasIds) return 'prompt: required (or prompt_token_ids)';
  if (hasIds) {
    const n = r.promptTokenIds.length;
    if (n >= limits.maxContextTokens) return `prompt_token_ids: ${n} tokens leave no room in the model's context of ${limits.maxContextTokens}`;
    return r.promptTokenIds;
  }
  // Encoding stops once past the context: a huge text costs no more than a context's worth of tokens.
  const ids = tokenizer.encode(r.prompt, limits.maxContextTokens);
  if (ids.length >= limits.maxContextTokens) return `prompt: ${ids.length > limits.maxContextTokens ? 'more than ' : ''}${limits.maxContextTokens} tokens leave no room in the model's context of ${limits.maxContextTokens}`;
  return ids;
}

function readHashes(r: GenerateRequest__Output, ids: readonly number[], limits: Limits): bigint[] | string {
  if (r.blockHashes.length === 0) return promptBlockHashes(ids, limits.blockTokens);
  const full = Math.floor(ids.length / limits.blockTokens);
  if (r.blockHashes.length > full) return `block_hashes: ${r.blockHashes.length} hashes for a prompt of ${full} full blocks of ${limits.blockTokens} tokens`;
  const out: bigint[] = [];
  for (const h of r.blockHashes) {
    const s = String(h);
    if (!DECIMAL_U64.test(s) || BigInt(s) > 0xffffffffffffffffn) return `block_hashes: not a 64-bit hash: ${s}`;
    out.push(BigInt(s));
  }
  return out;
}

/** The output cap of a request that gave none: the API's default, within the context left and limits.maxOutputTokens. */
export function defaultMaxTokens(apiDefault: number, room: number, limits: Limits): number {
  return Math.min(apiDefault, room, limits.maxOutputTokens ?? Infinity);
}

/** The edge's caps (limits.maxPromptTokens, maxOutputTokens, maxTools), in proto field names. */
function checkCaps(r: GenerateRequest__Output, promptTokens: number, limits: Limits): string | undefined {
  const promptField = r.prompt.length > 0 ? 'prompt' : 'prompt_token_ids';
  if (limits.maxPromptTokens != null && promptTokens > limits.maxPromptTokens) return limitMessage(promptField, `${promptTokens} tokens exceed`, 'maxPromptTokens', limits.maxPromptTokens);
  if (limits.maxOutputTokens != null && r.maxTokens > limits.maxOutputTokens) return limitMessage('max_tokens', `${r.maxTokens} exceeds`, 'maxOutputTokens', limits.maxOutputTokens);
  if (limits.maxTools !== undefined && r.numTools > limits.maxTools) return limitMessage('num_tools', `${r.numTools} tools exceed`, 'maxTools', limits.maxTools);
  return undefined;
}

/**
 * Validates and converts; `requestId` is used when the client left request_id empty. Text prompts are tokenized by
 * `tokenizer` (o200k_base by default: approximate counts for non-OpenAI models, see tokenizer.ts).
 */
export function parseGenerate(r: GenerateRequest__Output, limits: Limits, requestId: string, nowS: number, tokenizer: Tokenizer = defaultTokenizer()): ParseResult {
  if (r.requestId.length > MAX_REQUEST_ID_CHARS) return fail(`request_id: at most ${MAX_REQUEST_ID_CHARS} characters, got ${r.requestId.length}`);
  if (r.sessionId.length > MAX_SESSION_ID_CHARS) return fail(`session_id: at most ${MAX_SESSION_ID_CHARS} characters, got ${r.sessionId.length}`);
  if (r.tenant.length > MAX_TENANT_CHARS) return fail(`tenant: at most ${MAX_TENANT_CHARS} characters, got ${r.tenant.length}`);
  const ids = readPrompt(r, limits, tokenizer);
  if (typeof ids === 'string') return fail(ids);
  const capped = checkCaps(r, ids.length, limits);
  if (capped !== undefined) return fail(capped);
  const room = limits.maxContextTokens - ids.length;
  if (r.maxTokens > room) return fail(`max_tokens: ${r.maxTokens} past the context left after a ${ids.length}-token prompt (${room})`);
  if (!Object.hasOwn(SHAPE_HINTS, r.shapeHint)) return fail(`shape_hint: unknown shape ${String(r.shapeHint)}`);
  if (r.reasoningEffort !== '' && !EFFORTS.includes(r.reasoningEffort)) return fail(`reasoning_effort: expected low, medium, high or empty, got ${JSON.stringify(r.reasoningEffort)}`);
  if (Math.abs(r.priority) > MAX_PRIORITY) return fail(`priority: expected |priority| ≤ ${MAX_PRIORITY}, got ${r.priority}`);
  if (r.turnIndex > 0 && r.sessionId === '') return fail('turn_index: needs session_id');
  const hashes = readHashes(r, ids, limits);
  if (typeof hashes === 'string') return fail(hashes);
  const maxTokens = r.maxTokens > 0 ? r.maxTokens : defaultMaxTokens(DEFAULT_MAX_TOKENS, room, limits);
  const shape = SHAPE_HINTS[r.shapeHint];
  const req: ScheduleRequest = {
    requestId: r.requestId !== '' ? r.requestId : requestId,
    tenant: r.tenant !== '' ? r.tenant : 'default',
    arrivalS: nowS,
    promptTokens: ids.length,
    maxOutputTokens: maxTokens,
    maxOutputTokensFromClient: r.maxTokens > 0,
    blockHashes: hashes,
    hasTools: r.numTools > 0,
    hasToolResults: r.hasToolResults,
    ...(r.sessionId !== '' ? { sessionId: r.sessionId, turnIndex: r.turnIndex } : {}),
    ...(r.reasoningEffort !== '' ? { reasoningEffort: r.reasoningEffort as ReasoningEffort } : {}),
    ...(shape !== undefined ? { hintShape: shape } : {}),
    ...(r.model !== '' ? { model: r.model } : {}),
    priority: r.priority,
  };
  return { ok: true, value: { req, maxTokens, promptTokenIds: ids } };
}
