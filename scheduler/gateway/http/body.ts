// Reads a request body with a byte cap enforced while reading: a declared Content-Length past the cap is refused
// before any byte is read, a chunked body as soon as it passes the cap. Refused bodies are drained (discarded, not
// kept) so that the client can read the 413 before the connection closes.
import type { IncomingMessage } from 'node:http';

// A body that stops arriving (no bytes for `idleTimeoutMs`) is refused as `idle` (the server answers 408): a client
// must not hold a connection and its buffered bytes open by sending nothing.
export type BodyResult = { ok: true; body: Buffer } | { ok: false; reason: 'too_large' | 'aborted' | 'idle' };

export function readBody(req: IncomingMessage, maxBytes: number, idleTimeoutMs: number | null = null): Promise<BodyResult> {
  return new Promise((resolve) => {
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (declared > maxBytes) return resolve({ ok: false, reason: 'too_large' });
    const parts: Buffer[] = [];
    let total = 0;
    let settled = false;
    let idle: NodeJS.Timeout | undefined;
    const arm = (): void => {
      if (idleTimeoutMs === null) return;
      clearTimeout(idle);
      idle = setTimeout(() => settle({ ok: false, reason: 'idle' }), idleTimeoutMs);
      idle.unref();
    };
    const settle = (r: BodyResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(idle);
      resolve(r);
    };
    arm();
    req.on('data', (b: Buffer) => {
      if (settled) return;
      arm();
      total += b.length;
      if (total > maxBytes) {
        parts.length = 0;
        return settle({ ok: false, reason: 'too_large' });
      }
      parts.push(b);
    });
    req.on('end', () => settle({ ok: true, body: Buffer.concat(parts, total) }));
    req.on('error', () => settle({ ok: false, reason: 'aborted' }));
    req.on('close', () => settle({ ok: false, reason: 'aborted' }));
  });
}
