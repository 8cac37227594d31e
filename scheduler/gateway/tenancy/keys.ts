// API keys: how they are made, stored and written down. A key is `nvl-` + 43 base64url characters (32 random
// bytes); only its SHA-256 is ever stored (keys file, Redis). A fast hash is enough here, unlike for passwords:
// the key carries 256 bits of entropy from crypto.randomBytes, so no dictionary or brute-force search of the
// preimage is feasible even with the digest in hand, and a slow KDF (bcrypt, scrypt) would only add milliseconds of
// CPU to every request. The digest is what the gateway looks up (a lookup keyed by the digest leaks nothing useful
// about the raw key), then compares with crypto.timingSafeEqual (auth.ts).
//
// Keys file (YAML), re-read when it changes (key_sources.ts):
//   keys:
//     - {id: acme-1, tenant: acme, sha256: 3b1f...64 hex}
//     - {id: acme-0, tenant: acme, sha256: 9c0d..., disabled: true}   # rotated out
import { createHash, randomBytes } from 'node:crypto';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';

import { ConfigError, asParams, onlyKeys } from '../../core/config/params.js';
import { isTenantName } from '../../core/config/tenants.js';

export const KEY_PREFIX = 'nvl-';
const KEY_BYTES = 32;
const SHA256_HEX = /^[0-9a-f]{64}$/;
const KEY_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;
/** Longer presented keys are refused before hashing (a header can be up to 16 KiB; hashing it is cheap but pointless). */
export const MAX_PRESENTED_KEY_CHARS = 256;

export interface KeyRecord {
  /** Names the key in listings, logs and `keys disable <id>`; never secret. */
  id: string;
  tenant: string;
  /** SHA-256 of the key's UTF-8 bytes, lower-case hex. */
  sha256: string;
  disabled: boolean;
}

/** A fresh key (shown to its owner once) and its record. */
export function generateKey(tenant: string, id?: string): { key: string; record: KeyRecord } {
  if (!isTenantName(tenant)) throw new ConfigError('tenant', `${JSON.stringify(tenant)} is not a tenant name (1–128 letters, digits, . _ : -)`);
  const keyId = id ?? `${tenant.slice(0, 40)}-${randomBytes(4).toString('hex')}`;
  if (!KEY_ID.test(keyId)) throw new ConfigError('id', `${JSON.stringify(keyId)}: expected 1–64 letters, digits, . _ : - (starting with a letter or digit)`);
  const key = KEY_PREFIX + randomBytes(KEY_BYTES).toString('base64url');
  return { key, record: { id: keyId, tenant, sha256: hashKey(key), disabled: false } };
}

export function hashKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** One record from a plain object (keys file entry, Redis hash value); errors name `path`'s fields. */
export function readKeyRecord(value: unknown, path: string): KeyRecord {
  const p = asParams(value, path);
  onlyKeys(p, path, ['id', 'tenant', 'sha256', 'disabled']);
  const id = p['id'];
  if (typeof id !== 'string' || !KEY_ID.test(id)) throw new ConfigError(`${path}.id`, `expected 1–64 letters, digits, . _ : - (starting with a letter or digit), got ${JSON.stringify(id)}`);
  const tenant = p['tenant'];
  if (typeof tenant !== 'string' || !isTenantName(tenant)) throw new ConfigError(`${path}.tenant`, `expected a tenant name (1–128 letters, digits, . _ : -), got ${JSON.stringify(tenant)}`);
  const sha = p['sha256'];
  if (typeof sha !== 'string' || !SHA256_HEX.test(sha.toLowerCase())) throw new ConfigError(`${path}.sha256`, 'expected 64 hex digits (the SHA-256 of the key; never the key itself)');
  const disabled = p['disabled'] ?? false;
  if (typeof disabled !== 'boolean') throw new ConfigError(`${path}.disabled`, `expected true or false, got ${JSON.stringify(disabled)}`);
  return { id, tenant, sha256: sha.toLowerCase(), disabled };
}

/** Records must not repeat an id or a digest (the same key under two tenants would make the tenant ambiguous). */
export function checkUnique(records: readonly KeyRecord[], path: string): void {
  const ids = new Set<string>();
  const digests = new Set<string>();
  records.forEach((r, i) => {
    if (ids.has(r.id)) throw new ConfigError(`${path}[${i}].id`, `duplicate key id ${JSON.stringify(r.id)}`);
    if (digests.has(r.sha256)) throw new ConfigError(`${path}[${i}].sha256`, 'the same key digest appears twice');
    ids.add(r.id);
    digests.add(r.sha256);
  });
}

/** The keys file's text → records; `source` names the file in errors. An empty file holds no keys. */
export function parseKeysFile(text: string, source = 'keys'): KeyRecord[] {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new ConfigError(source, `not valid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  const p = asParams(doc, source);
  onlyKeys(p, source, ['keys']);
  const list = p['keys'] ?? [];
  if (!Array.isArray(list)) throw new ConfigError(`${source}.keys`, 'expected a list of {id, tenant, sha256, disabled?}');
  const records = list.map((v, i) => readKeyRecord(v, `${source}.keys[${i}]`));
  checkUnique(records, `${source}.keys`);
  return records;
}

export function formatKeysFile(records: readonly KeyRecord[]): string {
  const keys = records.map((r) => ({ id: r.id, tenant: r.tenant, sha256: r.sha256, ...(r.disabled ? { disabled: true } : {}) }));
  return `# nvlsched API keys: SHA-256 digests only (nvlsched keys create|list|disable). Re-read by the gateway on change.\n${stringifyYaml({ keys })}`;
}
