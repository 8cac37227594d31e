// Files for the HTTP Batch API (OpenAI's Files API, purpose "batch"), in the batches' Redis namespace:
//   <ns>:file:<id>   hash: id, bytes, created_at, filename, purpose, tenant, content
// An uploaded file is stored whole (at most MAX_BATCH_BYTES, OpenAI's batch input limit) and kept until deleted
// (no TTL, as OpenAI's). A batch's output and error files are not copies: their ids name the batch
// (`file-out-<hex>`, `file-err-<hex>` for batch_<hex>) and their content is read from its results, in input order,
// when asked — a line answered with status 200 goes to the output file, any other (a request error, a failure, a
// cancelled line) to the error file.
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

import { DEFAULT_TENANT } from './store.js';

export type FilePurpose = 'batch' | 'batch_output';

/** OpenAI's file object. */
export interface FileObject {
  id: string;
  object: 'file';
  bytes: number;
  created_at: number;
  filename: string;
  purpose: FilePurpose;
  status: 'processed';
  status_details: null;
  expires_at: null;
}

export interface StoredFile {
  object: FileObject;
  tenant: string;
}

/** Which part of a batch's results a derived file holds. */
export type ResultPart = 'output' | 'error';

const PART_PREFIX: Readonly<Record<ResultPart, string>> = { output: 'file-out-', error: 'file-err-' };

/** The id of a batch's output or error file. */
export function resultFileId(batchId: string, part: ResultPart): string {
  return `${PART_PREFIX[part]}${batchId.replace(/^batch_/, '')}`;
}

/** The batch and part a derived file id names, or null for an uploaded file's id. */
export function parseResultFileId(fileId: string): { batchId: string; part: ResultPart } | null {
  for (const part of ['output', 'error'] as const) {
    const prefix = PART_PREFIX[part];
    if (fileId.startsWith(prefix) && fileId.length > prefix.length) return { batchId: `batch_${fileId.slice(prefix.length)}`, part };
  }
  return null;
}

/** Which file an output line belongs to: the output file for a 200 answer, the error file otherwise. */
export function partOfOutputLine(jsonLine: string): ResultPart {
  try {
    const v = JSON.parse(jsonLine) as { response?: { status_code?: unknown } | null };
    return v.response?.status_code === 200 ? 'output' : 'error';
  } catch {
    return 'error';
  }
}

export class FileStore {
  constructor(
    readonly redis: Redis,
    readonly ns: string,
  ) {}

  key(fileId: string): string {
    return `${this.ns}:file:${fileId}`;
  }

  async put(o: { tenant: string; filename: string; purpose: FilePurpose; content: Buffer }): Promise<FileObject> {
    const id = `file-${randomBytes(12).toString('hex')}`;
    const object: FileObject = { id, object: 'file', bytes: o.content.length, created_at: Math.floor(Date.now() / 1000), filename: o.filename, purpose: o.purpose, status: 'processed', status_details: null, expires_at: null };
    await this.redis.hset(this.key(id), { id, bytes: object.bytes, created_at: object.created_at, filename: o.filename, purpose: o.purpose, tenant: o.tenant, content: o.content });
    return object;
  }

  /** An uploaded file's object and owner (not its content), or null. */
  async get(fileId: string): Promise<StoredFile | null> {
    const [id, bytes, created, filename, purpose, tenant] = await this.redis.hmget(this.key(fileId), 'id', 'bytes', 'created_at', 'filename', 'purpose', 'tenant');
    if (id === null || id === undefined) return null;
    return {
      object: { id, object: 'file', bytes: Number(bytes ?? 0), created_at: Number(created ?? 0), filename: filename ?? '', purpose: (purpose as FilePurpose | null) ?? 'batch', status: 'processed', status_details: null, expires_at: null },
      tenant: tenant ?? DEFAULT_TENANT,
    };
  }

  async content(fileId: string): Promise<Buffer | null> {
    return this.redis.hgetBuffer(this.key(fileId), 'content');
  }
}
