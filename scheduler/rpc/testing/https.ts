// Test helper: one JSON POST over HTTPS to 127.0.0.1 with a given CA (and optional client certificate), settling with
// the status and body, or the TLS/connection error — bounded by a timeout. (fetch cannot take a CA without undici's
// own Agent; node:https can.)
import { readFileSync } from 'node:fs';
import * as https from 'node:https';

export interface HttpsFiles {
  caFile: string;
  certFile?: string;
  keyFile?: string;
}

export type HttpsOutcome = { ok: true; status: number; body: string } | { ok: false; error: Error };

export function httpsPost(port: number, urlPath: string, json: unknown, files: HttpsFiles, timeoutMs = 10_000): Promise<HttpsOutcome> {
  return new Promise((resolve) => {
    const req = https.request({
      host: '127.0.0.1', port, path: urlPath, method: 'POST', headers: { 'content-type': 'application/json' },
      ca: readFileSync(files.caFile),
      ...(files.certFile ? { cert: readFileSync(files.certFile) } : {}),
      ...(files.keyFile ? { key: readFileSync(files.keyFile) } : {}),
      timeout: timeoutMs,
      agent: false,
    }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ ok: true, status: res.statusCode ?? 0, body }));
      res.on('error', (error) => resolve({ ok: false, error }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer in ${timeoutMs} ms`)));
    req.on('error', (error) => resolve({ ok: false, error }));
    req.end(JSON.stringify(json));
  });
}
