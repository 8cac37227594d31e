// The BullMQ side of batches: one queue (default `nvlsched-batch`) whose jobs are chunks of a batch — lines
// [first, first + count) — so that any number of gateways drain one big batch side by side. A chunk's jobId is
// `<batch id>.<chunk>`: adding the same batch twice cannot queue a chunk twice. Jobs carry no request text (that
// stays in the store); exactly-once per line comes from the store's HSETNX, not from BullMQ: a chunk may run again
// (a stalled gateway, a retry) and then runs only its lines without a result.
import type { JobsOptions, Queue } from 'bullmq';

export const BATCH_QUEUE = 'nvlsched-batch';
/** Bumped when ChunkJobData or the store layout change: drainers refuse chunks of another protocol. */
export const BATCH_PROTOCOL = 1;
export const CHUNK_JOB_NAME = 'lines';
export const DEFAULT_CHUNK_LINES = 100;

export interface ChunkJobData {
  protocol: number;
  batchId: string;
  /** Index of the chunk's first line. */
  first: number;
  count: number;
}

/**
 * A chunk whose processing threw (not a line's failure: those are results) is retried a while, every 2 s; a
 * gateway that drains it never fails it for load or shutdown (it hands it back instead).
 */
const CHUNK_JOB_OPTIONS: JobsOptions = {
  attempts: 30,
  backoff: { type: 'fixed', delay: 2000 },
  removeOnComplete: true,
  removeOnFail: { count: 1000 },
};

export function chunkJobId(batchId: string, chunk: number): string {
  return `${batchId}.${chunk}`;
}

export function chunkJobs(batchId: string, total: number, chunkLines: number): Array<{ name: string; data: ChunkJobData; opts: JobsOptions }> {
  const jobs = [];
  for (let first = 0, chunk = 0; first < total; first += chunkLines, chunk++) {
    jobs.push({
      name: CHUNK_JOB_NAME,
      data: { protocol: BATCH_PROTOCOL, batchId, first, count: Math.min(chunkLines, total - first) },
      opts: { ...CHUNK_JOB_OPTIONS, jobId: chunkJobId(batchId, chunk) },
    });
  }
  return jobs;
}

export async function enqueueBatch(queue: Queue<ChunkJobData>, batchId: string, total: number, chunkLines: number): Promise<number> {
  const jobs = chunkJobs(batchId, total, chunkLines);
  for (let i = 0; i < jobs.length; i += 500) await queue.addBulk(jobs.slice(i, i + 500));
  return jobs.length;
}

/** Removes a cancelled batch's chunks that no drainer holds (best effort: a held one ends by itself on the cancel). */
export async function removeWaitingChunks(queue: Queue<ChunkJobData>, batchId: string, total: number, chunkLines: number): Promise<number> {
  let removed = 0;
  for (let chunk = 0; chunk * chunkLines < total; chunk++) removed += await queue.remove(chunkJobId(batchId, chunk));
  return removed;
}

/**
 * Puts back the chunks of a batch that lost them (its submit died between storing and queueing, a chunk failed
 * for good, Redis lost the queue but not the batch): a chunk not in the queue is added, a failed one retried, any
 * other left as it is. Harmless on a healthy batch: a chunk runs only its lines without a result.
 */
export async function requeueChunks(queue: Queue<ChunkJobData>, batchId: string, total: number, chunkLines: number): Promise<{ added: number; retried: number }> {
  let added = 0;
  let retried = 0;
  for (const job of chunkJobs(batchId, total, chunkLines)) {
    const existing = await queue.getJob(job.opts.jobId as string);
    if (!existing) {
      await queue.add(job.name, job.data, job.opts);
      added++;
    } else if (await existing.isFailed()) {
      await existing.retry();
      retried++;
    }
  }
  return { added, retried };
}

/** The job's data, or an error naming what is wrong (a job from another nvlsched version). */
export function checkChunkData(jobId: string | undefined, name: string, v: unknown): ChunkJobData {
  const d = v as Partial<ChunkJobData> | null;
  if (name !== CHUNK_JOB_NAME || typeof d !== 'object' || d === null || d.protocol !== BATCH_PROTOCOL) {
    throw new Error(`job ${jobId}: not a protocol-${BATCH_PROTOCOL} batch chunk (name ${name}, protocol ${String(d?.protocol)}); is the submitter another nvlsched version?`);
  }
  if (typeof d.batchId !== 'string' || !Number.isInteger(d.first) || !Number.isInteger(d.count) || (d.first as number) < 0 || (d.count as number) < 1) {
    throw new Error(`job ${jobId}: damaged batch chunk data`);
  }
  return d as ChunkJobData;
}
