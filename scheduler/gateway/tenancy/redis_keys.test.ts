// API keys in a real Redis (startTestRedis: REDIS_URL or a redis-server child; a unique key prefix per run): keys
// made with `nvlsched keys --redis` authenticate as soon as the pub/sub message arrives, disabling one takes effect
// without a restart, an entry written without a message is picked up by the poll, bad entries are skipped (named),
// and Redis unreachable at start is a ConfigError.
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { after, before, test } from 'node:test';

import { parseKeysArgs, runKeys, type KeysArgs } from '../../cli/keys.js';
import { ConfigError } from '../../core/config/params.js';
import { startTestRedis } from '../../tune/testing/redis_server.js';
import { ApiKeyAuth, openAuth } from './auth.js';
import { RedisKeySource, redisKeyNames } from './key_sources.js';
import { generateKey } from './keys.js';

const redis = await startTestRedis();
const skip = 'skip' in redis ? redis.skip : false;
const url = 'url' in redis ? redis.url : '';
const prefix = `nvltest:${process.pid}:${Date.now()}:`;
let direct: Redis;

before(() => {
  if (!skip) direct = new Redis(url);
});
after(async () => {
  if (skip) return;
  const names = redisKeyNames(prefix);
  await direct.del(names.hash);
  direct.disconnect();
  if ('stop' in redis) await redis.stop();
});

async function cli(argv: string[]): Promise<string> {
  let out = '';
  await runKeys(parseKeysArgs([...argv, '--redis', url, '--prefix', prefix]) as KeysArgs, { stdout: (t) => (out += t), stderr: () => undefined });
  return out;
}

function changed(src: RedisKeySource): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    new Promise<void>((resolve) => src.onChange(resolve)),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('no change seen in 5 s')), 5000))),
  ]).finally(() => clearTimeout(timer));
}

test('keys created and disabled with the CLI take effect through pub/sub, without a restart', { skip }, async () => {
  const lines: string[] = [];
  const src = await RedisKeySource.open(url, { prefix, pollMs: 60_000, log: (l) => lines.push(l) });
  const auth = new ApiKeyAuth([src]);
  try {
    assert.equal(auth.size, 0);
    let seen = changed(src);
    const made = JSON.parse(await cli(['create', '--tenant', 'acme', '--id', 'acme-r1'])) as { key: string };
    await seen;
    assert.deepEqual(auth.authenticate(made.key), { ok: true, tenant: 'acme', keyId: 'acme-r1' });
    // Only the digest is in Redis.
    const stored = await direct.hget(redisKeyNames(prefix).hash, 'acme-r1');
    assert.ok(stored !== null && !stored.includes(made.key.slice(4)));

    seen = changed(src);
    await cli(['disable', 'acme-r1']);
    await seen;
    const r = auth.authenticate(made.key);
    assert.ok(!r.ok && r.reason === 'disabled');
    assert.match(await cli(['list']), /"id":"acme-r1","tenant":"acme","disabled":true/);

    // A bad entry (another tool's mistake) is skipped and named; the good ones stay.
    const good = generateKey('beta', 'beta-r1');
    await direct.hset(redisKeyNames(prefix).hash, 'junk', '{"tenant": "x"}', 'beta-r1', JSON.stringify({ tenant: 'beta', sha256: good.record.sha256 }));
    assert.equal(await src.reload(), true);
    assert.equal(auth.authenticate(good.key).ok, true);
    assert.ok(lines.some((l) => /skipped bad API key entries: .*\[junk\]\.sha256/.test(l)), lines.join('\n'));
  } finally {
    await auth.close();
  }
});

test('an entry written without a message is picked up by the poll', { skip }, async () => {
  const src = await RedisKeySource.open(url, { prefix, pollMs: 30 });
  const auth = new ApiKeyAuth([src]);
  try {
    const k = generateKey('gamma', 'gamma-r1');
    const seen = changed(src);
    await direct.hset(redisKeyNames(prefix).hash, 'gamma-r1', JSON.stringify({ tenant: 'gamma', sha256: k.record.sha256 }));
    await seen;
    assert.equal(auth.authenticate(k.key).ok, true);
  } finally {
    await auth.close();
  }
});

test('Redis unreachable at start: a ConfigError naming auth.redis', { skip }, async () => {
  await assert.rejects(openAuth({ keysRedis: 'redis://127.0.0.1:1' }, () => undefined), (e: unknown) => e instanceof ConfigError && e.field === 'auth.redis' && /cannot read API keys from Redis/.test(e.message));
});
