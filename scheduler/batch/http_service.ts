// What the HTTP Batch API does (OpenAI's Files and Batches endpoints), transport-free: the routes in
// gateway/http/batch_routes.ts parse HTTP and call these. A batch made here is stored and queued exactly as
// `nvlsched batch submit` does (store.ts, queue.ts), so any gateway's drainer runs it; it belongs to the caller's
// tenant (its lines run as that tenant), and a tenant sees, cancels and downloads only its own batches and files
// (another's is a 404, as if it did not exist). Redis failures are 503s naming Redis; bad input is a 400 naming the
// field; a file whose lines are bad makes a batch with status `failed` and the problems in `errors` (OpenAI's way).
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';

import { ApiError, FieldError } from '../gateway/http/errors.js';
import { describe, isObject, type JsonObject } from '../gateway/http/fields.js';
import { FileStore, parseResultFileId, partOfOutputLine, type FileObject, type ResultPart } from './files.js';
import { BATCH_URLS, cancelledOutput, validateBatchText, type ValidateContext } from './format.js';
import { openAiBatch, resultsFinal, COMPLETION_WINDOW, type OpenAiBatch } from './openai_view.js';
import { BATCH_QUEUE, DEFAULT_CHUNK_LINES, enqueueBatch, removeWaitingChunks, type ChunkJobData } from './queue.js';
import { connectOrExplain, reconnectDelayMs, redactUrl } from './redis_conn.js';
import { BatchStore, type BatchErrorEntry, type BatchMeta } from './store.js';

/** Problems kept in a failed batch's `errors` (the first ones; the message says how many there were). */
const MAX_ERRORS = 100;
const MAX_METADATA_KEYS = 16;
const MAX_METADATA_KEY_CHARS = 64;
const MAX_METADATA_VALUE_CHARS = 512;
export const MAX_LIST_LIMIT = 100;
export const DEFAULT_LIST_LIMIT = 20;

export interface BatchListPage {
  object: 'list';
  data: OpenAiBatch[];
  first_id: string | null;
  last_id: string | null;
  has_more: boolean;
}

export interface BatchServiceDeps {
  redis: Redis;
  queue: Queue<ChunkJobData>;
  /** Key namespace = the queue name. */
  ns: string;
  /** The gateway's parse settings and served models: lines are checked as its HTTP API would take them. */
  validate: ValidateContext;
  redisUrl: string;
  chunkLines?: number;
}

export class BatchHttpService {
  readonly store: BatchStore;
  readonly files: FileStore;

  constructor(private readonly d: BatchServiceDeps) {
    this.store = new BatchStore(d.redis, d.ns);
    this.files = new FileStore(d.redis, d.ns);
  }

  /** Runs a Redis step; a failure of Redis (not of the input) is a 503 naming it. */
  private async redis<T>(what: string, step: () => Promise<T>): Promise<T> {
    try {
      return await step();
    } catch (error) {
      if (error instanceof ApiError) throw error;
      throw new ApiError(503, `${what}: Redis at ${redactUrl(this.d.redisUrl)} is unavailable (${(error as Error).message}); retry later`, null, 'redis_unavailable', 'server_error', 1);
    }
  }

  async uploadFile(tenant: string, o: { filename: string; purpose: string; content: Buffer }): Promise<FileObject> {
    if (o.purpose !== 'batch') throw new FieldError('purpose', `only "batch" is supported here, got ${describe(o.purpose)}`);
    if (o.content.length === 0) throw new FieldError('file', 'the file is empty; expected JSONL, one request a line');
    return this.redis('upload', () => this.files.put({ tenant, filename: o.filename, purpose: 'batch', content: o.content }));
  }

  async file(tenant: string, fileId: string): Promise<FileObject> {
    const derived = parseResultFileId(fileId);
    if (derived) {
      const meta = await this.resultsOf(tenant, fileId, derived);
      let bytes = 0;
      await this.eachPartLine(meta.id, derived.part, (line) => void (bytes += Buffer.byteLength(line) + 1));
      return { id: fileId, object: 'file', bytes, created_at: meta.finishedAtS ?? meta.cancelledAtS ?? meta.createdAtS, filename: `${meta.id}_${derived.part}.jsonl`, purpose: 'batch_output', status: 'processed', status_details: null, expires_at: null };
    }
    const f = await this.redis('file', () => this.files.get(fileId));
    if (f === null || f.tenant !== tenant) throw noFile(fileId);
    return f.object;
  }

  /** Writes the file's content: an upload as stored; a batch's output or error file line by line, in input order. */
  async fileContent(tenant: string, fileId: string, write: (chunk: string | Buffer) => void | Promise<void>): Promise<void> {
    const derived = parseResultFileId(fileId);
    if (derived) {
      const meta = await this.resultsOf(tenant, fileId, derived);
      return this.eachPartLine(meta.id, derived.part, (line) => write(`${line}\n`));
    }
    const f = await this.redis('file', () => this.files.get(fileId));
    if (f === null || f.tenant !== tenant) throw noFile(fileId);
    const content = await this.redis('file content', () => this.files.content(fileId));
    if (content === null) throw noFile(fileId);
    await write(content);
  }

  /** The batch behind a derived file id, when it is the caller's and the file exists (the batch ended with such lines). */
  private async resultsOf(tenant: string, fileId: string, derived: { batchId: string; part: ResultPart }): Promise<BatchMeta> {
    const meta = await this.redis('file', () => this.store.meta(derived.batchId));
    if (meta === null || meta.tenant !== tenant) throw noFile(fileId);
    const view = openAiBatch(meta);
    if (!resultsFinal(meta) || (derived.part === 'output' ? view.output_file_id : view.error_file_id) !== fileId) throw noFile(fileId);
    return meta;
  }

  private async eachPartLine(batchId: string, part: ResultPart, write: (line: string) => void | Promise<void>): Promise<void> {
    await this.redis('results', () => this.store.eachResult(batchId, async (output) => {
      if (output !== null && partOfOutputLine(output) === part) await write(output);
    }));
  }

  async createBatch(tenant: string, body: unknown): Promise<OpenAiBatch> {
    if (!isObject(body)) throw new FieldError('body', `expected a JSON object, got ${describe(body)}`);
    const inputFileId = requiredString(body, 'input_file_id');
    const endpoint = requiredString(body, 'endpoint');
    if (!(BATCH_URLS as readonly string[]).includes(endpoint)) throw new FieldError('endpoint', `expected ${BATCH_URLS.join(' or ')}, got ${describe(endpoint)}`);
    const window = requiredString(body, 'completion_window');
    if (window !== COMPLETION_WINDOW) throw new FieldError('completion_window', `expected "${COMPLETION_WINDOW}", got ${describe(window)}`);
    const metadata = readMetadata(body['metadata']);
    const f = await this.redis('batch', () => this.files.get(inputFileId));
    if (f === null || f.tenant !== tenant) throw new ApiError(404, `input_file_id: no file ${JSON.stringify(inputFileId)} (upload one with POST /v1/files, purpose "batch")`, 'input_file_id', 'not_found');
    if (f.object.purpose !== 'batch') throw new FieldError('input_file_id', `file ${inputFileId} has purpose "${f.object.purpose}"; a batch's input needs purpose "batch"`);
    const content = await this.redis('batch', () => this.files.content(inputFileId));
    if (content === null) throw new ApiError(404, `input_file_id: no file ${JSON.stringify(inputFileId)}`, 'input_file_id', 'not_found');
    const { lines, problems } = validateBatchText(content.toString('utf8'), this.d.validate);
    const errors: BatchErrorEntry[] = problems.map((p) => ({ code: 'invalid_request', message: p.message, param: p.field, line: p.lineNo }));
    for (const l of lines) {
      if (l.url !== endpoint) errors.push({ code: 'mismatched_endpoint', message: `line ${l.lineNo}: url: expected ${endpoint} (the batch's endpoint), got ${JSON.stringify(l.url)}`, param: 'url', line: l.lineNo });
    }
    if (lines.length === 0 && errors.length === 0) errors.push({ code: 'empty_file', message: `file ${inputFileId} holds no request`, param: null, line: null });
    const created = { inputFile: inputFileId, chunkLines: this.d.chunkLines ?? DEFAULT_CHUNK_LINES, skippedInvalid: 0, tenant, endpoint, completionWindow: window, ...(metadata ? { metadata } : {}) };
    if (errors.length > 0) {
      errors.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
      const kept = errors.slice(0, MAX_ERRORS);
      if (errors.length > MAX_ERRORS) kept.push({ code: 'too_many_errors', message: `${errors.length} problems in all; the first ${MAX_ERRORS} are listed`, param: null, line: null });
      const id = await this.redis('batch', () => this.store.createFailed(kept, created));
      return this.view(tenant, id);
    }
    const id = await this.redis('batch', () => this.store.create(lines, created));
    // Stored but not queued (Redis went away in between): `nvlsched batch requeue <id>` puts its chunks back.
    await this.redis(`batch ${id} stored but not queued (run nvlsched batch requeue ${id})`, () => enqueueBatch(this.d.queue, id, lines.length, created.chunkLines));
    return this.view(tenant, id);
  }

  async view(tenant: string, batchId: string): Promise<OpenAiBatch> {
    const meta = await this.redis('batch', () => this.store.meta(batchId));
    if (meta === null || meta.tenant !== tenant) throw noBatch(batchId);
    return openAiBatch(meta);
  }

  async cancel(tenant: string, batchId: string): Promise<OpenAiBatch> {
    const meta = await this.redis('cancel', () => this.store.meta(batchId));
    if (meta === null || meta.tenant !== tenant) throw noBatch(batchId);
    const after = await this.redis('cancel', () => this.store.cancel(batchId, (index, customId) => JSON.stringify(cancelledOutput(batchId, index, customId))));
    if (after === null) throw noBatch(batchId);
    // Best effort: a chunk a drainer holds ends by itself when it sees the cancel.
    await this.redis('cancel', () => removeWaitingChunks(this.d.queue, batchId, after.total, Math.max(1, after.chunkLines)));
    return openAiBatch(after);
  }

  async list(tenant: string, limit: number, after?: string): Promise<BatchListPage> {
    const { metas, hasMore } = await this.redis('list', () => this.store.listTenant(tenant, limit, after));
    const data = metas.map(openAiBatch);
    return { object: 'list', data, first_id: data[0]?.id ?? null, last_id: data[data.length - 1]?.id ?? null, has_more: hasMore };
  }
}

function noFile(fileId: string): ApiError {
  return new ApiError(404, `No such File object: ${fileId}`, 'file_id', 'not_found');
}

function noBatch(batchId: string): ApiError {
  return new ApiError(404, `No such Batch object: ${batchId}`, 'batch_id', 'not_found');
}

function requiredString(body: JsonObject, key: string): string {
  const v = body[key];
  if (typeof v !== 'string' || v === '') throw new FieldError(key, `required: a non-empty string, got ${describe(v)}`);
  return v;
}

/** OpenAI's metadata: at most 16 string pairs, keys ≤ 64 and values ≤ 512 characters. */
function readMetadata(v: unknown): Record<string, string> | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) throw new FieldError('metadata', `expected an object of strings, got ${describe(v)}`);
  const entries = Object.entries(v);
  if (entries.length > MAX_METADATA_KEYS) throw new FieldError('metadata', `at most ${MAX_METADATA_KEYS} keys, got ${entries.length}`);
  const out: Record<string, string> = {};
  for (const [k, value] of entries) {
    if (k.length > MAX_METADATA_KEY_CHARS) throw new FieldError('metadata', `keys are at most ${MAX_METADATA_KEY_CHARS} characters, got one of ${k.length}`);
    if (typeof value !== 'string' || value.length > MAX_METADATA_VALUE_CHARS) throw new FieldError(`metadata.${k}`, `expected a string of at most ${MAX_METADATA_VALUE_CHARS} characters, got ${describe(value)}`);
    out[k] = value;
  }
  return out;
}

export interface OpenBatchServiceOptions {
  redisUrl: string;
  /** Queue name and key namespace (default nvlsched-batch, the drainers' and the CLI's). */
  queue?: string;
  validate: ValidateContext;
  chunkLines?: number;
  /** Bounds connecting and each command (a Redis that stops answering is a 503 after this). */
  timeoutMs?: number;
  log?: (line: string) => void;
}

export interface OpenedBatchService {
  service: BatchHttpService;
  close(): Promise<void>;
}

/**
 * Connects (an unreachable Redis at start throws `cannot reach Redis at <url>: ...`, as the drainer does) and
 * returns the service over one connection shared with its BullMQ queue. Later outages: commands fail at once (no
 * offline queue: a request gets a 503 rather than waiting), ioredis reconnects with backoff, one log line each way.
 */
export async function openBatchService(o: OpenBatchServiceOptions): Promise<OpenedBatchService> {
  const timeoutMs = o.timeoutMs ?? 5000;
  const redis = new Redis(o.redisUrl, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: timeoutMs, commandTimeout: timeoutMs, retryStrategy: reconnectDelayMs });
  try {
    await connectOrExplain(redis, o.redisUrl);
  } catch (error) {
    redis.disconnect();
    throw error;
  }
  let down = false;
  let closing = false;
  const shown = redactUrl(o.redisUrl);
  redis.on('error', (e: Error) => {
    if (closing || down) return;
    down = true;
    o.log?.(`batch API: Redis at ${shown} unavailable (${e.message}); batch and file requests get 503 until it is back`);
  });
  redis.on('ready', () => {
    if (!down) return;
    down = false;
    o.log?.(`batch API: Redis at ${shown} is back`);
  });
  const ns = o.queue ?? BATCH_QUEUE;
  const queue = new Queue<ChunkJobData>(ns, { connection: redis });
  queue.on('error', () => {});
  return {
    service: new BatchHttpService({ redis, queue, ns, validate: o.validate, redisUrl: o.redisUrl, ...(o.chunkLines !== undefined ? { chunkLines: o.chunkLines } : {}) }),
    async close() {
      closing = true;
      await queue.close().catch(() => {});
      await redis.quit().catch(() => {});
      redis.disconnect();
    },
  };
}
