// The batch file formats: OpenAI's batch input (one JSON request per line: custom_id, method, url, body) checked line
// by line before anything is stored, and the output line each request gets. A line's body goes through the HTTP
// API's own parser (gateway/http/parse.ts), so a body the batch accepts is exactly a body `POST /v1/...` accepts;
// the drainer parses it again with the serving gateway's limits and models. Problems name the line (1-based) and
// the field: `line 7: body.messages[0].role: ...`.
import type { Limits } from '../gateway/request.js';
import type { Tokenizer } from '../gateway/tokenizer.js';
import { ApiError } from '../gateway/http/errors.js';
import { describe, isObject, type JsonObject } from '../gateway/http/fields.js';
import { parseChat, parseCompletion, type ApiRequest, type ParseContext } from '../gateway/http/parse.js';

export const BATCH_URLS = ['/v1/chat/completions', '/v1/completions'] as const;
export type BatchUrl = (typeof BATCH_URLS)[number];

/** OpenAI's batch limits (platform docs, "Batch API": 50,000 requests, 200 MB per input file). */
export const MAX_BATCH_LINES = 50_000;
export const MAX_BATCH_BYTES = 200 * 1024 * 1024;
export const MAX_CUSTOM_ID_CHARS = 512;

/** One validated input line, as stored: `lineNo` is its place in the file (1-based). */
export interface BatchLine {
  customId: string;
  url: BatchUrl;
  body: JsonObject;
  lineNo: number;
}

export interface LineProblem {
  lineNo: number;
  /** The field path (`custom_id`, `body.messages[0].content`), or `line` when the line is not a JSON object. */
  field: string;
  /** The whole one-line message, starting with `line N: field: `. */
  message: string;
}

/** One output line (OpenAI's batch output: `response` for an answer or a request error, `error` when it never ran). */
export interface OutputLine {
  id: string;
  custom_id: string;
  response: { status_code: number; request_id: string; body: unknown } | null;
  error: { code: string; message: string } | null;
}

export interface ValidateContext {
  limits: Limits;
  tokenizer: Tokenizer;
  /** Served model names; empty: any model a line names is accepted here (the gateway checks it when it runs). */
  models?: readonly string[];
}

function problem(lineNo: number, field: string, message: string): LineProblem {
  return { lineNo, field, message: `line ${lineNo}: ${field}: ${message}` };
}

/** Parses a line's body exactly as the HTTP API would (no hint headers: a batch line has none). */
export function parseBody(url: BatchUrl, body: JsonObject, ctx: ParseContext): ApiRequest {
  return url === '/v1/chat/completions' ? parseChat(body, {}, ctx) : parseCompletion(body, {}, ctx);
}

/** The problem with a body, or undefined; `model` unknown to the context counts only when models were given. */
function checkBody(lineNo: number, url: BatchUrl, body: JsonObject, ctx: ValidateContext): LineProblem | undefined {
  if (body['stream'] === true) return problem(lineNo, 'body.stream', 'a batch request cannot stream; leave stream out or false');
  const named = typeof body['model'] === 'string' && body['model'] !== '' ? body['model'] : 'default';
  const models = ctx.models && ctx.models.length > 0 ? ctx.models : [named];
  try {
    parseBody(url, body, { limits: ctx.limits, models, tokenizer: ctx.tokenizer, newRequestId: () => 'validate', nowS: 0 });
    return undefined;
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    if (error.param === null) return problem(lineNo, 'body', error.message);
    // Most ApiError messages start with their param (`messages[0].role: ...`); the batch names it under `body.`.
    const field = `body.${error.param}`;
    const prefix = `${error.param}: `;
    return problem(lineNo, field, error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message);
  }
}

/** One line → a BatchLine or its first problem (duplicates are found by the caller, which sees every line). */
export function validateLine(text: string, lineNo: number, ctx: ValidateContext): BatchLine | LineProblem {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return problem(lineNo, 'line', `not JSON (${(error as Error).message})`);
  }
  if (!isObject(value)) return problem(lineNo, 'line', `expected a JSON object, got ${describe(value)}`);
  const customId = value['custom_id'];
  if (typeof customId !== 'string' || customId === '') return problem(lineNo, 'custom_id', `required: a non-empty string, got ${describe(customId)}`);
  if (customId.length > MAX_CUSTOM_ID_CHARS) return problem(lineNo, 'custom_id', `at most ${MAX_CUSTOM_ID_CHARS} characters, got ${customId.length}`);
  if (value['method'] !== 'POST') return problem(lineNo, 'method', `expected "POST", got ${describe(value['method'])}`);
  const url = value['url'];
  if (typeof url !== 'string' || !(BATCH_URLS as readonly string[]).includes(url)) return problem(lineNo, 'url', `expected ${BATCH_URLS.join(' or ')}, got ${describe(url)}`);
  const body = value['body'];
  if (!isObject(body)) return problem(lineNo, 'body', `expected a JSON object, got ${describe(body)}`);
  return checkBody(lineNo, url as BatchUrl, body, ctx) ?? { customId, url: url as BatchUrl, body, lineNo };
}

export interface ValidatedFile {
  lines: BatchLine[];
  problems: LineProblem[];
}

/** Every line of a JSONL text; blank lines are skipped (a trailing newline is not a request). */
export function validateBatchText(text: string, ctx: ValidateContext): ValidatedFile {
  const lines: BatchLine[] = [];
  const problems: LineProblem[] = [];
  const firstLineOf = new Map<string, number>();
  const rows = text.split('\n');
  let requests = 0;
  for (let i = 0; i < rows.length; i++) {
    const row = (rows[i] as string).replace(/\r$/, '');
    if (row.trim() === '') continue;
    const lineNo = i + 1;
    if (++requests > MAX_BATCH_LINES) {
      problems.push(problem(lineNo, 'line', `a batch holds at most ${MAX_BATCH_LINES} requests`));
      break;
    }
    const checked = validateLine(row, lineNo, ctx);
    if ('message' in checked) {
      problems.push(checked);
      continue;
    }
    const seen = firstLineOf.get(checked.customId);
    if (seen !== undefined) {
      problems.push(problem(lineNo, 'custom_id', `${JSON.stringify(checked.customId)} is already used on line ${seen}`));
      continue;
    }
    firstLineOf.set(checked.customId, lineNo);
    lines.push(checked);
  }
  return { lines, problems };
}

/** The stored form of a line (what the drainer reads back). */
export function storedLine(l: BatchLine): string {
  return JSON.stringify({ custom_id: l.customId, url: l.url, body: l.body, line: l.lineNo });
}

/** Reads a stored line back; a damaged one throws naming the batch and index. */
export function readStoredLine(json: string, where: string): BatchLine {
  const v = JSON.parse(json) as { custom_id?: unknown; url?: unknown; body?: unknown; line?: unknown };
  if (typeof v.custom_id !== 'string' || typeof v.url !== 'string' || !(BATCH_URLS as readonly string[]).includes(v.url) || !isObject(v.body) || typeof v.line !== 'number') {
    throw new Error(`${where}: the stored line is damaged (not a batch line this version wrote)`);
  }
  return { customId: v.custom_id, url: v.url as BatchUrl, body: v.body, lineNo: v.line };
}

/** The output line of a request that never ran because the batch was cancelled. */
export function cancelledOutput(batchId: string, index: number, customId: string): OutputLine {
  return { id: outputId(batchId, index), custom_id: customId, response: null, error: { code: 'batch_cancelled', message: 'the batch was cancelled before this request finished' } };
}

export function outputId(batchId: string, index: number): string {
  return `batch_req_${batchId.replace(/^batch_/, '')}_${index}`;
}
