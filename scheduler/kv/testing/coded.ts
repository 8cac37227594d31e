// For the addon's fuzz tests: run one call and accept either its value or an Error that carries a known KV error code
// (native/SPEC.md) — anything else (a non-Error, an uncoded TypeError) fails the test, naming the call.
import assert from 'node:assert/strict';

import { KV_ERROR_CODES } from '../types.js';

export type Attempt = { ok: true; v: unknown } | { ok: false; code: string };

/** forbidInternal: E_INTERNAL (a bug, not bad input) fails too, and the message must not be empty. */
export async function attemptCoded(what: string, fn: () => unknown, o: { forbidInternal?: boolean } = {}): Promise<Attempt> {
  try {
    return { ok: true, v: await fn() };
  } catch (e) {
    assert.ok(e instanceof Error, `${what}: threw a non-Error ${String(e)}`);
    const code = (e as { code?: unknown }).code;
    assert.ok(typeof code === 'string' && (KV_ERROR_CODES as readonly string[]).includes(code), `${what}: code ${String(code)}: ${e.message}`);
    if (o.forbidInternal) {
      assert.notEqual(code, 'E_INTERNAL', `${what}: ${e.message}`);
      assert.ok(e.message.length > 0);
    }
    return { ok: false, code };
  }
}
