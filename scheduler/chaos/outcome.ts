// What one client request ended as, seen from the client, and the protocol slips the client noticed on the way
// (a second final message, data after the end, an error after a final message): these are exactly-once violations
// even when an outcome could still be read. Shared by the gRPC and HTTP callers.
import type { Api, PlannedRequest } from './plan.js';

/** completed: a final message with finish_reason length/stop; rejected: refused before any token, with a code;
 *  failed: ended with an error message (a worker failure the gateway could not hide, a transport error);
 *  cancelled: the client cancelled it (planned); open: no end within the bound (always a violation). */
export type Outcome = 'completed' | 'rejected' | 'failed' | 'cancelled' | 'open';

export interface ClientOutcome {
  id: string;
  api: Api;
  kind: PlannedRequest['kind'];
  outcome: Outcome;
  /** Rejections: the scheduler's code, an HTTP error code, or E_<gRPC status>. */
  code?: string;
  /** Why it was rejected or failed (must be non-empty for those). */
  message?: string;
  finishReason?: string;
  /** Tokens the client received (gRPC token ids; HTTP: usage when it came, else content chunks). */
  tokens: number;
  /** usage.completion_tokens of the final message, when there was one. */
  usageTokens?: number;
  maxTokens: number;
  /** Terminal signals seen: exactly one is correct. */
  ends: number;
  problems: string[];
}

export function newOutcome(p: PlannedRequest): ClientOutcome {
  return { id: p.id, api: p.api, kind: p.kind, outcome: 'open', tokens: 0, maxTokens: p.maxTokens, ends: 0, problems: [] };
}

/** Synthetic prompt token ids: `len` ids from `base` by a prime step (a session's turns share their first ids). */
export function promptIds(base: number, len: number): number[] {
  const ids = new Array<number>(len);
  for (let i = 0; i < len; i++) ids[i] = (base + i * 7919) % 32_000;
  return ids;
}

/** Prompt text of `len` words from `base` (a session's turns share their first words: a prefix of the text). */
export function promptText(base: number, len: number): string {
  const words = new Array<string>(len);
  for (let i = 0; i < len; i++) words[i] = `w${(base + i * 7919) % 5003}`;
  return words.join(' ');
}
