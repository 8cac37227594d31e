// `nvlsched keys`: the gateway's API keys (scheduler/gateway/tenancy/README.md), in a keys file or in Redis.
//   create --tenant <name> [--id <id>]   a new key: printed ONCE as {"id","tenant","key"}; only its SHA-256 is stored
//   list                                 one JSON line per key: {"id","tenant","disabled","sha256"} (the digest's start)
//   disable <id> / enable <id>           rotation: create the new key, move clients over, disable the old one
// Where: --keys-file <keys.yaml> (written atomically, mode 0600; a running gateway re-reads it) or --redis <url>
// [--prefix nvlsched:] (the hash <prefix>api-keys; a message on <prefix>api-keys:changed makes gateways re-read).
// Bad flags, an unknown id and an unreachable Redis exit 2 with one line.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';

import { ConfigError } from '../core/config/params.js';
import { formatKeysFile, generateKey, parseKeysFile, type KeyRecord } from '../gateway/tenancy/keys.js';
import { DEFAULT_REDIS_KEY_PREFIX, recordsFromHash, redisKeyNames } from '../gateway/tenancy/key_sources.js';
import { checkRedisUrl } from '../tune/redis_url.js';
import { flagHelp, parseFlags, usageError, type FlagSpec } from './args.js';

const SUBCOMMANDS = ['create', 'list', 'disable', 'enable'] as const;
type Sub = (typeof SUBCOMMANDS)[number];

const FLAGS: Record<string, FlagSpec> = {
  'keys-file': { type: 'string', help: 'the YAML keys file the gateway reads (--keys-file); created if missing' },
  redis: { type: 'string', help: 'redis://host:port holding the keys (the gateway\'s --keys-redis)' },
  prefix: { type: 'string', help: `key prefix in that Redis (default ${DEFAULT_REDIS_KEY_PREFIX})` },
  tenant: { type: 'string', help: 'create: the tenant the key authenticates as' },
  id: { type: 'string', help: 'create: the key id (default <tenant>-<8 hex>)' },
  help: { type: 'boolean', help: 'this text' },
};

export interface KeysArgs {
  sub: Sub;
  /** disable/enable: the key id. */
  target?: string;
  keysFile?: string;
  redisUrl?: string;
  prefix: string;
  tenant?: string;
  id?: string;
}

export function help(): string {
  return `usage: nvlsched keys <create|list|disable <id>|enable <id>> (--keys-file keys.yaml | --redis redis://host:port) [flags]\n\n${flagHelp(FLAGS)}\n`;
}

export function parseKeysArgs(argv: string[]): KeysArgs | 'help' {
  const { flags, rest } = parseFlags(argv, FLAGS);
  if (flags.help) return 'help';
  const [sub, target, extra] = rest;
  if (sub === undefined || !(SUBCOMMANDS as readonly string[]).includes(sub)) throw usageError(`keys: expected a subcommand, one of ${SUBCOMMANDS.join(', ')}${sub !== undefined ? `; got '${sub}'` : ''}`);
  const needsTarget = sub === 'disable' || sub === 'enable';
  if (needsTarget && target === undefined) throw usageError(`keys ${sub}: give the key id`);
  if ((!needsTarget && target !== undefined) || extra !== undefined) throw usageError(`keys ${sub}: unexpected argument '${needsTarget ? extra : target}'`);
  const keysFile = flags['keys-file'] as string | undefined;
  const redisUrl = flags.redis as string | undefined;
  if ((keysFile === undefined) === (redisUrl === undefined)) throw usageError('keys: give exactly one of --keys-file <keys.yaml> or --redis <redis://host:port>');
  if (redisUrl !== undefined) checkRedisUrl(redisUrl);
  const tenant = flags.tenant as string | undefined;
  if (sub === 'create' && tenant === undefined) throw usageError('keys create: --tenant is required');
  if (sub !== 'create' && (tenant !== undefined || flags.id !== undefined)) throw usageError(`keys ${sub}: --tenant and --id are for create`);
  return {
    sub: sub as Sub,
    ...(needsTarget ? { target: target as string } : {}),
    ...(keysFile !== undefined ? { keysFile } : {}),
    ...(redisUrl !== undefined ? { redisUrl } : {}),
    prefix: (flags.prefix as string | undefined) ?? DEFAULT_REDIS_KEY_PREFIX,
    ...(tenant !== undefined ? { tenant } : {}),
    ...(flags.id !== undefined ? { id: flags.id as string } : {}),
  };
}

/** Where the records live: read all, write one. */
interface Store {
  read(): Promise<KeyRecord[]>;
  write(records: KeyRecord[], changed: KeyRecord): Promise<void>;
  close(): Promise<void>;
}

function fileStore(path: string): Store {
  return {
    read: async () => (existsSync(path) ? parseKeysFile(readFileSync(path, 'utf8'), path) : []),
    // Write then rename: a gateway polling the file never reads half of it.
    write: async (records) => {
      const tmp = `${path}.${process.pid}.tmp`;
      writeFileSync(tmp, formatKeysFile(records), { mode: 0o600 });
      renameSync(tmp, path);
    },
    close: async () => {},
  };
}

async function redisStore(url: string, prefix: string): Promise<Store> {
  const { failFastClient, connectOrExplain } = await import('../batch/redis_conn.js');
  const client = failFastClient(url, 3000);
  try {
    await connectOrExplain(client, url);
  } catch (e) {
    client.disconnect();
    throw usageError((e as Error).message);
  }
  const names = redisKeyNames(prefix);
  return {
    read: async () => recordsFromHash(await client.hgetall(names.hash), names.hash).records,
    write: async (_records, r) => {
      await client.hset(names.hash, r.id, JSON.stringify({ tenant: r.tenant, sha256: r.sha256, ...(r.disabled ? { disabled: true } : {}) }));
      await client.publish(names.channel, r.id);
    },
    close: async () => {
      client.disconnect();
    },
  };
}

export interface KeysIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

export async function runKeys(a: KeysArgs, io: KeysIo): Promise<number> {
  const store = a.keysFile !== undefined ? fileStore(a.keysFile) : await redisStore(a.redisUrl as string, a.prefix);
  const print = (v: unknown): void => io.stdout(`${JSON.stringify(v)}\n`);
  try {
    const records = await store.read();
    switch (a.sub) {
      case 'create': {
        const { key, record } = generateKey(a.tenant as string, a.id);
        if (records.some((r) => r.id === record.id)) throw usageError(`keys create: a key with id ${JSON.stringify(record.id)} exists`);
        await store.write([...records, record], record);
        print({ id: record.id, tenant: record.tenant, key });
        io.stderr(`keys: created ${record.id} for tenant ${record.tenant}; the key above is shown once (only its SHA-256 is stored)\n`);
        return 0;
      }
      case 'list':
        for (const r of records) print({ id: r.id, tenant: r.tenant, disabled: r.disabled, sha256: `${r.sha256.slice(0, 12)}…` });
        return 0;
      case 'disable':
      case 'enable': {
        const i = records.findIndex((r) => r.id === a.target);
        if (i < 0) throw usageError(`keys ${a.sub}: no key with id ${JSON.stringify(a.target)}; known: ${records.map((r) => r.id).join(', ') || 'none'}`);
        const r = { ...(records[i] as KeyRecord), disabled: a.sub === 'disable' };
        const next = records.map((x, j) => (j === i ? r : x));
        await store.write(next, r);
        print({ id: r.id, tenant: r.tenant, disabled: r.disabled });
        return 0;
      }
    }
  } catch (e) {
    if (e instanceof ConfigError) throw usageError(e.message);
    throw e;
  } finally {
    await store.close();
  }
}

export async function run(argv: string[]): Promise<number> {
  const args = parseKeysArgs(argv);
  if (args === 'help') {
    process.stdout.write(help());
    return 0;
  }
  return runKeys(args, { stdout: (t) => void process.stdout.write(t), stderr: (t) => void process.stderr.write(t) });
}
