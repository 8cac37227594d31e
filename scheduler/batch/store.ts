// A batch's state in Redis, under `<ns>:<batch id>:` (ns = the queue name, default nvlsched-batch):
//   meta     hash: status, counts (total, completed, failed, cancelled), times, chunk size, input file
//   ids      list: the custom_id of each line, in input order
//   lines    list: each validated line (format.ts storedLine), in input order
//   results  hash: custom_id → its output line (JSON)
// and `<ns>:batches`, a sorted set of batch ids by creation time, and `<ns>:tenant:<tenant>:batches`, the same per
// owning tenant (the HTTP Batch API lists and shows only the caller's; the CLI's batches belong to `default`). A result is written by one Lua script that does
// HSETNX and bumps the count only when the field was new, in one step: a line gets exactly one result whoever
// writes it (drainers after a restart, two drainers after a stall, `batch cancel`), and counts never drift. The
// script refuses to write into a batch whose meta is gone, so results never land in a batch Redis lost.
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

import { storedLine, type BatchLine } from './format.js';

/** The state submit writes; completed/cancelled are derived from the counts (statusOf). */
export type StoredStatus = 'validating' | 'in_progress' | 'failed';
export type BatchStatus = 'validating' | 'in_progress' | 'completed' | 'cancelled' | 'failed';
export type ResultField = 'completed' | 'failed' | 'cancelled';

export interface BatchMeta {
  id: string;
  stored: StoredStatus;
  createdAtS: number;
  total: number;
  completed: number;
  failed: number;
  cancelled: number;
  chunkLines: number;
  inputFile: string;
  skippedInvalid: number;
  cancelledAtS?: number;
  finishedAtS?: number;
  failedReason?: string;
  /** The owning tenant (`default` for batches made without one: the CLI's). */
  tenant: string;
  /** OpenAI's batch fields, set by the HTTP Batch API (absent for the CLI's batches). */
  endpoint?: string;
  completionWindow?: string;
  metadata?: Record<string, string>;
  /** Why a batch failed validation, as OpenAI's `errors.data` (JSON in Redis). */
  errors?: BatchErrorEntry[];
}

/** One entry of a failed batch's `errors.data` (OpenAI's shape). */
export interface BatchErrorEntry {
  code: string;
  message: string;
  param: string | null;
  line: number | null;
}

/** The optional fields a batch is created with. */
export interface CreateOptions {
  inputFile: string;
  chunkLines: number;
  skippedInvalid: number;
  tenant?: string;
  endpoint?: string;
  completionWindow?: string;
  metadata?: Record<string, string>;
}

export const DEFAULT_TENANT = 'default';

export interface ResultEntry {
  customId: string;
  /** The output line, JSON. */
  output: string;
  field: ResultField;
}

const PAGE_LINES = 1000;

/** KEYS: meta, results. ARGV: now s, then (custom_id, output, count field) triples. Returns new results, -1: no batch. */
const STORE_RESULTS_LUA = `
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local n = 0
for i = 2, #ARGV, 3 do
  if redis.call('HSETNX', KEYS[2], ARGV[i], ARGV[i + 1]) == 1 then
    redis.call('HINCRBY', KEYS[1], ARGV[i + 2], 1)
    n = n + 1
  end
end
if n > 0 then
  local m = redis.call('HMGET', KEYS[1], 'total', 'completed', 'failed', 'cancelled')
  if tonumber(m[2]) + tonumber(m[3]) + tonumber(m[4]) >= tonumber(m[1]) then redis.call('HSETNX', KEYS[1], 'finished_at', ARGV[1]) end
end
return n
`;

export const nowS = (): number => Math.floor(Date.now() / 1000);

function newBatchId(): string {
  return `batch_${randomBytes(12).toString('hex')}`;
}

function parseJson(text: string, fallback: unknown): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return fallback;
  }
}

/** Completed once every line has a result; cancelled once cancel was asked (its lines all get results at once). */
export function statusOf(m: BatchMeta): BatchStatus {
  if (m.stored === 'validating' || m.stored === 'failed') return m.stored;
  if (m.cancelledAtS !== undefined) return 'cancelled';
  return m.completed + m.failed + m.cancelled >= m.total ? 'completed' : 'in_progress';
}

/** The batch as `batch status` prints it (OpenAI's batch object, trimmed to what applies, plus `cancelled`). */
export function batchView(m: BatchMeta): object {
  const done = m.completed + m.failed + m.cancelled;
  return {
    id: m.id,
    object: 'batch',
    status: statusOf(m),
    input_file: m.inputFile,
    created_at: m.createdAtS,
    cancelled_at: m.cancelledAtS ?? null,
    completed_at: m.finishedAtS ?? null,
    failed_reason: m.failedReason ?? null,
    request_counts: { total: m.total, completed: m.completed, failed: m.failed, cancelled: m.cancelled, in_progress: m.total - done },
    skipped_invalid: m.skippedInvalid,
  };
}

function int(v: string | undefined): number {
  const n = Number(v ?? 0);
  return Number.isFinite(n) ? n : 0;
}

function optInt(v: string | undefined): number | undefined {
  return v === undefined ? undefined : int(v);
}

export class BatchStore {
  constructor(
    readonly redis: Redis,
    /** Key namespace: the queue name. */
    readonly ns: string,
  ) {}

  key(batchId: string, part: 'meta' | 'ids' | 'lines' | 'results'): string {
    return `${this.ns}:${batchId}:${part}`;
  }

  get indexKey(): string {
    return `${this.ns}:batches`;
  }

  tenantIndexKey(tenant: string): string {
    return `${this.ns}:tenant:${tenant}:batches`;
  }

  /** The meta hash fields every new batch gets, and the two index entries. */
  private async register(id: string, status: StoredStatus, total: number, o: CreateOptions, extra: Record<string, string | number> = {}): Promise<void> {
    const created = nowS();
    const tenant = o.tenant ?? DEFAULT_TENANT;
    const fields: Record<string, string | number> = {
      id, status, created_at: created, total, completed: 0, failed: 0, cancelled: 0, chunk_lines: o.chunkLines, input_file: o.inputFile, skipped_invalid: o.skippedInvalid, tenant,
      ...(o.endpoint !== undefined ? { endpoint: o.endpoint } : {}),
      ...(o.completionWindow !== undefined ? { completion_window: o.completionWindow } : {}),
      ...(o.metadata !== undefined ? { metadata: JSON.stringify(o.metadata) } : {}),
      ...extra,
    };
    await this.redis.multi().hset(this.key(id, 'meta'), fields).zadd(this.indexKey, created, id).zadd(this.tenantIndexKey(tenant), created, id).exec();
  }

  /** Records a batch whose input failed validation (no lines stored, nothing to drain): status failed, its errors. */
  async createFailed(errors: readonly BatchErrorEntry[], o: CreateOptions): Promise<string> {
    const id = newBatchId();
    await this.register(id, 'failed', 0, o, { errors: JSON.stringify(errors), failed_reason: errors[0]?.message ?? 'invalid input', finished_at: nowS() });
    return id;
  }

  /** Stores a validated batch (status validating until every line is in) and returns its id. */
  async create(lines: readonly BatchLine[], o: CreateOptions): Promise<string> {
    const id = newBatchId();
    await this.register(id, 'validating', lines.length, o);
    for (let first = 0; first < lines.length; first += PAGE_LINES) {
      const page = lines.slice(first, first + PAGE_LINES);
      await this.redis
        .multi()
        .rpush(this.key(id, 'ids'), ...page.map((l) => l.customId))
        .rpush(this.key(id, 'lines'), ...page.map(storedLine))
        .exec();
    }
    await this.redis.hset(this.key(id, 'meta'), 'status', 'in_progress');
    return id;
  }

  async meta(batchId: string): Promise<BatchMeta | null> {
    const h = await this.redis.hgetall(this.key(batchId, 'meta'));
    if (h['id'] === undefined) return null;
    const m: BatchMeta = {
      id: h['id'],
      stored: (h['status'] as StoredStatus | undefined) ?? 'validating',
      createdAtS: int(h['created_at']),
      total: int(h['total']),
      completed: int(h['completed']),
      failed: int(h['failed']),
      cancelled: int(h['cancelled']),
      chunkLines: int(h['chunk_lines']),
      inputFile: h['input_file'] ?? '',
      skippedInvalid: int(h['skipped_invalid']),
      tenant: h['tenant'] ?? DEFAULT_TENANT,
    };
    if (h['endpoint'] !== undefined) m.endpoint = h['endpoint'];
    if (h['completion_window'] !== undefined) m.completionWindow = h['completion_window'];
    if (h['metadata'] !== undefined) m.metadata = parseJson(h['metadata'], {}) as Record<string, string>;
    if (h['errors'] !== undefined) m.errors = parseJson(h['errors'], []) as BatchErrorEntry[];
    const cancelled = optInt(h['cancelled_at']);
    const finished = optInt(h['finished_at']);
    if (cancelled !== undefined) m.cancelledAtS = cancelled;
    if (finished !== undefined) m.finishedAtS = finished;
    if (h['failed_reason'] !== undefined) m.failedReason = h['failed_reason'];
    return m;
  }

  /** Whether cancel was asked (one field: the drainers poll it). */
  async cancelRequested(batchId: string): Promise<boolean> {
    return (await this.redis.hexists(this.key(batchId, 'meta'), 'cancelled_at')) === 1;
  }

  /** Lines [first, first + count) as stored, with their custom_ids. */
  async lineRange(batchId: string, first: number, count: number): Promise<{ ids: string[]; lines: string[] }> {
    const last = first + count - 1;
    const [ids, lines] = await Promise.all([this.redis.lrange(this.key(batchId, 'ids'), first, last), this.redis.lrange(this.key(batchId, 'lines'), first, last)]);
    return { ids, lines };
  }

  /** For each custom_id, whether it has a result. */
  async haveResults(batchId: string, customIds: readonly string[]): Promise<boolean[]> {
    if (customIds.length === 0) return [];
    const pipe = this.redis.pipeline();
    for (const id of customIds) pipe.hexists(this.key(batchId, 'results'), id);
    const replies = (await pipe.exec()) ?? [];
    return replies.map(([err, v]) => {
      if (err) throw err;
      return v === 1;
    });
  }

  /** Writes results that are not there yet; returns how many were new, or -1 when the batch is not in Redis. */
  async storeResults(batchId: string, entries: readonly ResultEntry[]): Promise<number> {
    if (entries.length === 0) return 0;
    const args = entries.flatMap((e) => [e.customId, e.output, e.field]);
    const n = await this.redis.eval(STORE_RESULTS_LUA, 2, this.key(batchId, 'meta'), this.key(batchId, 'results'), nowS(), ...args);
    return Number(n);
  }

  /**
   * Cancels: marks the batch (drainers stop and cancel what they run), then gives every line without a result its
   * cancelled output. Results already written stay; a finished batch is left as it is. Null when there is no such
   * batch.
   */
  async cancel(batchId: string, output: (index: number, customId: string) => string): Promise<BatchMeta | null> {
    const metaKey = this.key(batchId, 'meta');
    const before = await this.meta(batchId);
    if (before === null) return null;
    // A batch that has finished stays completed (OpenAI's cancel also only applies to unfinished batches).
    if (before.cancelledAtS === undefined && before.completed + before.failed + before.cancelled >= before.total) return before;
    await this.redis.hsetnx(metaKey, 'cancelled_at', nowS());
    const total = await this.redis.llen(this.key(batchId, 'ids'));
    for (let first = 0; first < total; first += PAGE_LINES) {
      const ids = await this.redis.lrange(this.key(batchId, 'ids'), first, first + PAGE_LINES - 1);
      const entries = ids.map((customId, i) => ({ customId, output: output(first + i, customId), field: 'cancelled' as const }));
      if ((await this.storeResults(batchId, entries)) < 0) return null;
    }
    return this.meta(batchId);
  }

  /** Every result in input order; `onLine` gets null for a line that has none yet. */
  async eachResult(batchId: string, onLine: (output: string | null, index: number, customId: string) => void | Promise<void>): Promise<void> {
    const total = await this.redis.llen(this.key(batchId, 'ids'));
    for (let first = 0; first < total; first += PAGE_LINES) {
      const ids = await this.redis.lrange(this.key(batchId, 'ids'), first, first + PAGE_LINES - 1);
      if (ids.length === 0) break;
      const outputs = await this.redis.hmget(this.key(batchId, 'results'), ...ids);
      for (let i = 0; i < ids.length; i++) await onLine(outputs[i] ?? null, first + i, ids[i] as string);
    }
  }

  /** The newest batches first. */
  async list(limit: number): Promise<BatchMeta[]> {
    const ids = await this.redis.zrevrange(this.indexKey, 0, limit - 1);
    const metas = await Promise.all(ids.map((id) => this.meta(id)));
    return metas.filter((m): m is BatchMeta => m !== null);
  }

  /**
   * A tenant's batches, newest first: up to `limit` after the batch `after` (a cursor: an id of this tenant's, else
   * from the newest), and whether more follow.
   */
  async listTenant(tenant: string, limit: number, after?: string): Promise<{ metas: BatchMeta[]; hasMore: boolean }> {
    const key = this.tenantIndexKey(tenant);
    let start = 0;
    if (after !== undefined) {
      const rank = await this.redis.zrevrank(key, after);
      if (rank === null) return { metas: [], hasMore: false };
      start = rank + 1;
    }
    const ids = await this.redis.zrevrange(key, start, start + limit);
    const metas = (await Promise.all(ids.slice(0, limit).map((id) => this.meta(id)))).filter((m): m is BatchMeta => m !== null);
    return { metas, hasMore: ids.length > limit };
  }
}
