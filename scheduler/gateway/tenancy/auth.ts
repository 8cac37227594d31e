// API key authentication for the client-facing APIs: a presented key → its tenant, or a refusal. Keys are kept as
// SHA-256 digests (keys.ts says why that is enough); a presented key is hashed, its digest looked up (the map is
// keyed by digest, so its timing says nothing about the raw key), and the stored digest compared with
// crypto.timingSafeEqual over the two fixed-length 32-byte buffers. Records come from one or more KeySources and
// the table is rebuilt whenever one changes (rotation without a restart). A digest present in two sources counts
// once: the first source's record wins.
//
// Transport helpers: HTTP `Authorization: Bearer <key>` (or `x-api-key: <key>`); gRPC metadata the same.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

import { ConfigError } from '../../core/config/params.js';
import { FileKeySource, RedisKeySource, type KeySource } from './key_sources.js';
import { MAX_PRESENTED_KEY_CHARS, type KeyRecord } from './keys.js';

export type AuthFailure = 'missing' | 'invalid' | 'disabled';

export type AuthResult =
  | { ok: true; tenant: string; keyId: string }
  | { ok: false; reason: AuthFailure; message: string };

/** What the APIs need: a key (or nothing) → a tenant or a refusal. */
export interface Authenticator {
  authenticate(presented: string | undefined): AuthResult;
}

interface Entry {
  digest: Buffer;
  record: KeyRecord;
}

export class ApiKeyAuth implements Authenticator {
  private byDigest = new Map<string, Entry>();

  constructor(private readonly sources: readonly KeySource[], private readonly log: (line: string) => void = () => undefined) {
    for (const s of sources) s.onChange(() => this.rebuild(`${s.name} changed`));
    this.rebuild();
  }

  private rebuild(why?: string): void {
    const next = new Map<string, Entry>();
    for (const s of this.sources) {
      for (const r of s.current()) {
        if (next.has(r.sha256)) continue;
        next.set(r.sha256, { digest: Buffer.from(r.sha256, 'hex'), record: r });
      }
    }
    this.byDigest = next;
    if (why !== undefined) {
      const enabled = [...next.values()].filter((e) => !e.record.disabled).length;
      this.log(`auth: ${why}; ${enabled} enabled keys, ${next.size - enabled} disabled`);
    }
  }

  /** Keys known (enabled and disabled). */
  get size(): number {
    return this.byDigest.size;
  }

  authenticate(presented: string | undefined): AuthResult {
    if (presented === undefined || presented === '') {
      return { ok: false, reason: 'missing', message: 'You didn\'t provide an API key. Send it as "Authorization: Bearer <key>".' };
    }
    const invalid: AuthResult = { ok: false, reason: 'invalid', message: 'Incorrect API key provided.' };
    if (presented.length > MAX_PRESENTED_KEY_CHARS) return invalid;
    const digest = createHash('sha256').update(presented, 'utf8').digest();
    const entry = this.byDigest.get(digest.toString('hex'));
    // Both buffers are 32 bytes: timingSafeEqual never throws here. The map already matched the digest; comparing
    // again in constant time keeps the decision itself free of an early-exit comparison.
    const probe = entry?.digest ?? Buffer.alloc(32);
    const same = timingSafeEqual(probe, digest);
    if (!entry || !same) return invalid;
    if (entry.record.disabled) return { ok: false, reason: 'disabled', message: `The API key ${entry.record.id} is disabled.` };
    return { ok: true, tenant: entry.record.tenant, keyId: entry.record.id };
  }

  /** Re-reads every source now (the lead's SIGHUP hook; sources also follow their own changes). */
  async reload(): Promise<void> {
    for (const s of this.sources) {
      if (s instanceof FileKeySource) s.reload();
      else if (s instanceof RedisKeySource) await s.reload();
    }
  }

  async close(): Promise<void> {
    for (const s of this.sources) await s.close();
  }
}

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/**
 * The key from an `authorization` and an `x-api-key` value (HTTP header or gRPC metadata). A present Authorization
 * that is not `Bearer <key>` yields '' (refused as missing, with the message saying how to send it).
 */
export function presentedKey(authorization: string | undefined, xApiKey: string | undefined): string | undefined {
  if (authorization !== undefined && authorization !== '') {
    const m = BEARER.exec(authorization);
    return m ? m[1] : '';
  }
  if (xApiKey !== undefined && xApiKey.trim() !== '') return xApiKey.trim();
  return undefined;
}

const first = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);

export function keyFromHttp(h: IncomingHttpHeaders): string | undefined {
  return presentedKey(first(h.authorization), first(h['x-api-key']));
}

/** gRPC metadata values (Metadata.get returns strings or Buffers). */
export function keyFromGrpc(get: (name: string) => Array<string | Buffer>): string | undefined {
  const s = (name: string): string | undefined => {
    const v = get(name)[0];
    return v === undefined ? undefined : v.toString();
  };
  return presentedKey(s('authorization'), s('x-api-key'));
}

export interface AuthSettings {
  /** A YAML keys file (`--keys-file`). */
  keysFile?: string;
  /** Redis holding the keys (`--keys-redis redis://...`). */
  keysRedis?: string;
  /** Key prefix in that Redis (default `nvlsched:`). */
  keysRedisPrefix?: string;
  /** `--insecure-no-auth`: serve without keys (local use). */
  insecureNoAuth?: boolean;
}

export const NO_AUTH_WARNING =
  'WARNING: --insecure-no-auth: the gateway accepts every request without an API key and takes the tenant from x-tenant / the tenant field. For local use only; never expose this port.';

/**
 * Checks the auth settings before anything starts: keys (file and/or Redis) or --insecure-no-auth, exactly one of
 * the two. Throws ConfigError naming `auth` otherwise. In no-auth mode `warn` gets NO_AUTH_WARNING (one visible line).
 */
export function checkAuthSettings(s: AuthSettings, warn: (line: string) => void): 'keys' | 'none' {
  const hasKeys = (s.keysFile ?? '') !== '' || (s.keysRedis ?? '') !== '';
  if (hasKeys && s.insecureNoAuth) throw new ConfigError('auth', '--insecure-no-auth together with API keys (--keys-file / --keys-redis): choose one');
  if (!hasKeys && !s.insecureNoAuth) {
    throw new ConfigError('auth', 'no API keys: give --keys-file <keys.yaml> and/or --keys-redis <redis://...> (create keys with `nvlsched keys create`), or --insecure-no-auth for local use');
  }
  if (!hasKeys) {
    warn(NO_AUTH_WARNING);
    return 'none';
  }
  return 'keys';
}

/** Opens the key sources the settings name (after checkAuthSettings); null in no-auth mode. */
export async function openAuth(s: AuthSettings, log: (line: string) => void, o: { filePollMs?: number; redisPollMs?: number } = {}): Promise<ApiKeyAuth | null> {
  if (checkAuthSettings(s, log) === 'none') return null;
  const sources: KeySource[] = [];
  try {
    if (s.keysFile) sources.push(new FileKeySource(s.keysFile, { log, ...(o.filePollMs !== undefined ? { pollMs: o.filePollMs } : {}) }));
    if (s.keysRedis) sources.push(await RedisKeySource.open(s.keysRedis, { log, ...(s.keysRedisPrefix !== undefined ? { prefix: s.keysRedisPrefix } : {}), ...(o.redisPollMs !== undefined ? { pollMs: o.redisPollMs } : {}) }));
  } catch (e) {
    for (const src of sources) await src.close();
    throw e;
  }
  const auth = new ApiKeyAuth(sources, log);
  const enabled = sources.flatMap((src) => src.current()).filter((r) => !r.disabled).length;
  log(`auth: API keys required (${sources.map((src) => src.name).join(', ')}: ${enabled} enabled)`);
  return auth;
}
