// What `nvlsched batch` does, as functions (the CLI and tests call them): submit a JSONL text (validated line by
// line first), status, cancel, requeue, results in input order, and wait with progress. Each opens its own fail-fast Redis
// connection (an unreachable or vanished server is one line naming the URL, never a hang); `waitForBatch` instead
// rides out an outage: one line when Redis goes away, one when it is back, polling with backoff meanwhile.
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';

import { cancelledOutput, validateBatchText, type LineProblem, type ValidateContext } from './format.js';
import { BATCH_QUEUE, DEFAULT_CHUNK_LINES, enqueueBatch, removeWaitingChunks, requeueChunks, type ChunkJobData } from './queue.js';
import { connectOrExplain, failFastClient, reconnectDelayMs, redactUrl } from './redis_conn.js';
import { BatchStore, statusOf, type BatchMeta } from './store.js';

export interface BatchClientOptions {
  redisUrl: string;
  queue?: string;
  /** Bounds connecting and each command. */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 5000;

/** Bad input or an unknown batch: the CLI exits 2 with the message (and the problems, one a line). */
export class BatchInputError extends Error {
  readonly code = 'E_USAGE';
  constructor(message: string, readonly problems: readonly LineProblem[] = []) {
    super(message);
  }
}

async function withStore<T>(o: BatchClientOptions, use: (store: BatchStore, redis: Redis) => Promise<T>): Promise<T> {
  const redis = failFastClient(o.redisUrl, o.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  try {
    await connectOrExplain(redis, o.redisUrl);
    try {
      return await use(new BatchStore(redis, o.queue ?? BATCH_QUEUE), redis);
    } catch (error) {
      if (error instanceof BatchInputError) throw error;
      throw new Error(`Redis at ${redactUrl(o.redisUrl)}: ${(error as Error).message}`);
    }
  } finally {
    redis.disconnect();
  }
}

async function withQueue<T>(o: BatchClientOptions, use: (queue: Queue<ChunkJobData>) => Promise<T>): Promise<T> {
  const queue = new Queue<ChunkJobData>(o.queue ?? BATCH_QUEUE, { connection: { url: o.redisUrl, maxRetriesPerRequest: 1, connectTimeout: o.timeoutMs ?? DEFAULT_TIMEOUT_MS, retryStrategy: () => null } });
  let failure: Error | undefined;
  queue.on('error', (e) => void (failure ??= e));
  try {
    return await use(queue);
  } catch (error) {
    throw new Error(`Redis at ${redactUrl(o.redisUrl)}: ${(failure ?? (error as Error)).message}`);
  } finally {
    await queue.close().catch(() => {});
  }
}

export interface SubmitOptions extends BatchClientOptions {
  text: string;
  /** Shown in status (the file name). */
  inputFile: string;
  validate: ValidateContext;
  /** Report and skip bad lines instead of refusing the file. */
  skipInvalid?: boolean;
  chunkLines?: number;
}

export interface Submitted {
  id: string;
  total: number;
  chunks: number;
  skipped: LineProblem[];
}

export async function submitBatch(o: SubmitOptions): Promise<Submitted> {
  const { lines, problems } = validateBatchText(o.text, o.validate);
  if (problems.length > 0 && !o.skipInvalid) {
    throw new BatchInputError(`${problems.length} invalid line(s); fix them or pass --skip-invalid`, problems);
  }
  if (lines.length === 0) throw new BatchInputError(`no valid request in ${o.inputFile}`, problems);
  const chunkLines = o.chunkLines ?? DEFAULT_CHUNK_LINES;
  const id = await withStore(o, (store) => store.create(lines, { inputFile: o.inputFile, chunkLines, skippedInvalid: problems.length }));
  const chunks = await withQueue(o, (queue) => enqueueBatch(queue, id, lines.length, chunkLines));
  return { id, total: lines.length, chunks, skipped: problems };
}

async function metaOrRefuse(store: BatchStore, batchId: string): Promise<BatchMeta> {
  const m = await store.meta(batchId);
  if (m === null) throw new BatchInputError(`no batch '${batchId}' in queue '${store.ns}'`);
  return m;
}

export function batchMeta(o: BatchClientOptions, batchId: string): Promise<BatchMeta> {
  return withStore(o, (store) => metaOrRefuse(store, batchId));
}

/** Cancels: lines without a result get a cancelled one; results already there stay. */
export async function cancelBatch(o: BatchClientOptions, batchId: string): Promise<BatchMeta> {
  const meta = await withStore(o, async (store) => {
    await metaOrRefuse(store, batchId);
    const m = await store.cancel(batchId, (index, customId) => JSON.stringify(cancelledOutput(batchId, index, customId)));
    if (m === null) throw new BatchInputError(`no batch '${batchId}' in queue '${store.ns}'`);
    return m;
  });
  await withQueue(o, (queue) => removeWaitingChunks(queue, batchId, meta.total, Math.max(1, meta.chunkLines)));
  return meta;
}

/** Queues again the chunks an unfinished batch lost (queue.ts requeueChunks); a finished batch is left alone. */
export async function requeueBatch(o: BatchClientOptions, batchId: string): Promise<{ meta: BatchMeta; added: number; retried: number }> {
  const meta = await batchMeta(o, batchId);
  if (statusOf(meta) !== 'in_progress') return { meta, added: 0, retried: 0 };
  const r = await withQueue(o, (queue) => requeueChunks(queue, batchId, meta.total, Math.max(1, meta.chunkLines)));
  return { meta, ...r };
}

/** Writes each stored output line in input order to `write`; returns how many were written and how many have none. */
export async function eachBatchResult(o: BatchClientOptions, batchId: string, write: (jsonLine: string) => void | Promise<void>): Promise<{ written: number; pending: number }> {
  return withStore(o, async (store) => {
    await metaOrRefuse(store, batchId);
    let written = 0;
    let pending = 0;
    await store.eachResult(batchId, async (output) => {
      if (output === null) pending++;
      else {
        written++;
        await write(output);
      }
    });
    return { written, pending };
  });
}

export interface WaitOptions {
  timeoutMs: number;
  pollMs?: number;
  onProgress?: (m: BatchMeta) => void;
  log?: (line: string) => void;
}

/** Polls until the batch is completed, cancelled or failed; rides out Redis outages; throws after `timeoutMs`. */
export async function waitForBatch(o: BatchClientOptions, batchId: string, w: WaitOptions): Promise<BatchMeta> {
  const deadline = Date.now() + w.timeoutMs;
  const pollMs = w.pollMs ?? 500;
  let failures = 0;
  for (;;) {
    let meta: BatchMeta | undefined;
    try {
      meta = await batchMeta(o, batchId);
      if (failures > 0) w.log?.(`Redis at ${redactUrl(o.redisUrl)} is back`);
      failures = 0;
    } catch (error) {
      if (error instanceof BatchInputError) throw error;
      if (failures++ === 0) w.log?.(`${(error as Error).message}; retrying`);
    }
    if (meta) {
      w.onProgress?.(meta);
      if (statusOf(meta) !== 'in_progress' && statusOf(meta) !== 'validating') return meta;
    }
    const waitMs = failures > 0 ? reconnectDelayMs(failures) : pollMs;
    if (Date.now() + waitMs > deadline) throw new Error(`batch ${batchId}: not finished after ${(w.timeoutMs / 1000).toFixed(0)} s${meta ? ` (${statusOf(meta)})` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, waitMs));
  }
}
