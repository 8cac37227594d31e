// Test helpers for batches: a gateway rig (in-process workers + gateway, scheduler/gateway/testing.ts) with a batch
// drainer on it, batch JSONL builders, the validation context of the rig's model, a queue name of one's own (tests
// may share a REDIS_URL), and a bounded wait on Redis-side conditions.
import { randomBytes } from 'node:crypto';

import { startRig, SMALL, type Rig } from '../../gateway/testing.js';
import { defaultTokenizer } from '../../gateway/tokenizer.js';
import { getModel } from '../../perf/models.js';
import { startBatchDrainer, type BatchDrainer, type BatchDrainerOptions } from '../drainer.js';
import type { ValidateContext } from '../format.js';
import type { LineEnd } from '../line_run.js';

export interface BatchRig {
  rig: Rig;
  drainer: BatchDrainer;
  /** Every line end the drainer saw, in order. */
  ends: LineEnd[];
  close(): Promise<void>;
}

/** Fast lock expiry and stalled checks, so a "crashed" drainer's chunks come back within about 2 s. */
export const FAST_LOCKS = { lockMs: 1000, stalledIntervalMs: 300, cancelPollMs: 50, idlePollMs: 10 } as const;

export function testQueue(tag: string): string {
  return `test-batch-${tag}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

export function validateContext(): ValidateContext {
  return { limits: { maxContextTokens: getModel(SMALL.model).maxContextTokens, blockTokens: SMALL.blockTokens }, tokenizer: defaultTokenizer() };
}

export async function startBatchRig(redisUrl: string, queue: string, o: Partial<BatchDrainerOptions> = {}, rig?: Rig): Promise<BatchRig> {
  const r = rig ?? (await startRig(1));
  const ends: LineEnd[] = [];
  const cluster = r.gateway.topology.cluster;
  const drainer = await startBatchDrainer({
    frontend: r.gateway.frontend,
    redisUrl,
    queue,
    limits: { maxContextTokens: cluster.model.maxContextTokens, blockTokens: SMALL.blockTokens },
    models: [...new Set([cluster.pool.name, cluster.model.name])],
    ...FAST_LOCKS,
    ...o,
    onLineEnd: (e) => {
      ends.push(e);
      o.onLineEnd?.(e);
    },
  });
  return {
    rig: r,
    drainer,
    ends,
    async close() {
      await drainer.stop();
      await r.close();
    },
  };
}

export interface ChatLineOptions {
  maxTokens?: number | ((i: number) => number);
  /** Words in each user message (prompt length). */
  words?: number;
  idPrefix?: string;
  url?: (i: number) => '/v1/chat/completions' | '/v1/completions';
}

/** `n` valid batch lines: custom_id `<prefix><i>`, distinct prompts, max_tokens as given (default 4). */
export function batchLines(n: number, o: ChatLineOptions = {}): string[] {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const maxTokens = typeof o.maxTokens === 'function' ? o.maxTokens(i) : (o.maxTokens ?? 4);
    const text = `request ${i}: ` + Array.from({ length: o.words ?? 8 }, (_, w) => `word${(i * 31 + w) % 97}`).join(' ');
    const url = o.url?.(i) ?? '/v1/chat/completions';
    const body = url === '/v1/chat/completions' ? { messages: [{ role: 'user', content: text }], max_tokens: maxTokens } : { prompt: text, max_tokens: maxTokens };
    lines.push(JSON.stringify({ custom_id: `${o.idPrefix ?? 'req-'}${i}`, method: 'POST', url, body }));
  }
  return lines;
}

/** Resolves when `cond` holds, checking every 10 ms, or throws after `timeoutMs` naming `what`. */
export async function until(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
