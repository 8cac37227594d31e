// Scheduling hints an HTTP client gives in headers (the OpenAI body has no place for them). Every header is
// optional; a bad one is a 400 whose `param` is the header name.
//   x-request-id       the scheduler's request id (≤ 256 printable ASCII); a live duplicate is a 409
//   x-session-id       agent / chat session (≤ 256 characters): KV retention and session shape rules
//   x-turn-index       0-based turn of the session (needs x-session-id); default: the assistant messages so far
//   x-nvlsched-shape   tool_call | reasoning | terminal | chat: wins over the scheduler's inference
//   x-tenant           ≤ 128 characters; default "default"
//   x-priority         integer, |p| ≤ 1,000,000; higher runs first within a shape, negative is sheddable
import type { IncomingHttpHeaders } from 'node:http';

import { SHAPES, type Shape } from '../../core/types.js';
import { FieldError } from './errors.js';

export interface Hints {
  requestId?: string;
  sessionId?: string;
  turnIndex?: number;
  hintShape?: Shape;
  tenant: string;
  priority: number;
}

const MAX_ID_CHARS = 256;
const MAX_TENANT_CHARS = 128;
const MAX_PRIORITY = 1_000_000;
const MAX_TURN_INDEX = 1_000_000;
const PRINTABLE_ASCII = /^[\x21-\x7e]+$/;
const SIGNED_INT = /^-?[0-9]{1,7}$/;
const UNSIGNED_INT = /^[0-9]{1,7}$/;

/** A header's value (Node joins repeated custom headers with ", "); undefined when absent or empty. */
function header(h: IncomingHttpHeaders, name: string): string | undefined {
  const v = h[name];
  const s = Array.isArray(v) ? v.join(', ') : v;
  return s === undefined || s.trim() === '' ? undefined : s.trim();
}

export function readHints(h: IncomingHttpHeaders): Hints {
  const out: Hints = { tenant: 'default', priority: 0 };
  const requestId = header(h, 'x-request-id');
  if (requestId !== undefined) {
    if (requestId.length > MAX_ID_CHARS || !PRINTABLE_ASCII.test(requestId)) throw new FieldError('x-request-id', `expected 1 to ${MAX_ID_CHARS} printable ASCII characters without spaces`);
    out.requestId = requestId;
  }
  const sessionId = header(h, 'x-session-id');
  if (sessionId !== undefined) {
    if (sessionId.length > MAX_ID_CHARS) throw new FieldError('x-session-id', `at most ${MAX_ID_CHARS} characters, got ${sessionId.length}`);
    out.sessionId = sessionId;
  }
  const turn = header(h, 'x-turn-index');
  if (turn !== undefined) {
    if (!UNSIGNED_INT.test(turn) || Number(turn) > MAX_TURN_INDEX) throw new FieldError('x-turn-index', `expected an integer 0 to ${MAX_TURN_INDEX}, got ${JSON.stringify(turn.slice(0, 40))}`);
    if (sessionId === undefined) throw new FieldError('x-turn-index', 'needs x-session-id');
    out.turnIndex = Number(turn);
  }
  const shape = header(h, 'x-nvlsched-shape');
  if (shape !== undefined) {
    if (!(SHAPES as readonly string[]).includes(shape)) throw new FieldError('x-nvlsched-shape', `expected one of ${SHAPES.join(', ')}, got ${JSON.stringify(shape.slice(0, 40))}`);
    out.hintShape = shape as Shape;
  }
  const tenant = header(h, 'x-tenant');
  if (tenant !== undefined) {
    if (tenant.length > MAX_TENANT_CHARS) throw new FieldError('x-tenant', `at most ${MAX_TENANT_CHARS} characters, got ${tenant.length}`);
    out.tenant = tenant;
  }
  const priority = header(h, 'x-priority');
  if (priority !== undefined) {
    if (!SIGNED_INT.test(priority) || Math.abs(Number(priority)) > MAX_PRIORITY) throw new FieldError('x-priority', `expected an integer with |priority| ≤ ${MAX_PRIORITY}, got ${JSON.stringify(priority.slice(0, 40))}`);
    out.priority = Number(priority);
  }
  return out;
}
