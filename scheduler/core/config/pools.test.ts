import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, type Params } from './params.js';
import { DEFAULT_POOLS_CONFIG, defaultPools, parsePools, poolGpus, poolKvBytesPerBlock } from './pools.js';

const SELF: Params = {
  name: 'llama',
  kind: 'self_hosted',
  model: 'llama-3.1-70b',
  instances: { gpu: 'gb200', tensorParallel: 4, count: 2 },
};
const EXT: Params = {
  name: 'api',
  kind: 'external',
  model: 'upstream-model',
  maxContextTokens: 1_000_000,
  usdPerMInputTokens: 2,
  usdPerMOutputTokens: 8,
  external: { baseUrl: 'https://api.example.com/v1', ttftS: 0.8, tpotS: 0.02 },
};

/** pools: [SELF, EXT] with one of them changed; `undefined` values delete the key. */
function withPool(index: 0 | 1, patch: Params): unknown[] {
  const entry: Record<string, unknown> = { ...(index === 0 ? SELF : EXT), ...patch };
  for (const [k, v] of Object.entries(patch)) if (v === undefined) delete entry[k];
  return index === 0 ? [entry, EXT] : [SELF, entry];
}
const inst = (patch: Params): Params => ({ instances: { ...(SELF.instances as Params), ...patch } });
const ext = (patch: Params): Params => ({ external: { ...(EXT.external as Params), ...patch } });

const ERRORS: [string, unknown, RegExp][] = [
  ['not a list', { a: 1 }, /^pools: expected a list of pools/],
  ['missing', undefined, /^pools: expected a list of pools, got nothing/],
  ['empty list', [], /^pools: expected at least one pool/],
  ['entry not a mapping', [SELF, 'x'], /^pools\[1\]: expected a mapping, got "x"/],
  ['unknown key', withPool(0, { reliableContext: 5 }), /^pools\[0\]\.reliableContext: unknown field; allowed: name, kind/],
  ['name missing', withPool(0, { name: undefined }), /^pools\[0\]\.name: required/],
  ['name empty', withPool(0, { name: '' }), /^pools\[0\]\.name: expected a non-empty string/],
  ['name with spaces', withPool(1, { name: 'my pool' }), /^pools\[1\]\.name: expected letters, digits/],
  ['duplicate name', [SELF, { ...EXT, name: 'llama' }], /^pools\[1\]\.name: duplicate pool name "llama" \(also pools\[0\]\)/],
  ['kind missing', withPool(0, { kind: undefined }), /^pools\[0\]\.kind: required \(self_hosted or external\)/],
  ['kind bad', withPool(0, { kind: 'cloud' }), /^pools\[0\]\.kind: expected one of self_hosted, external, got "cloud"/],
  ['model missing', withPool(1, { model: undefined }), /^pools\[1\]\.model: required \(the upstream's model id\)/],
  ['self-hosted model not in the catalog', withPool(0, { model: 'llama-4' }), /^pools\[0\]\.model: expected one of llama-3\.1-70b, .* for a self_hosted pool, got "llama-4"/],
  ['maxContextTokens over the model maximum', withPool(0, { maxContextTokens: 200_000 }), /^pools\[0\]\.maxContextTokens: expected ≤ 131072 \(the model's maximum context\), got 200000/],
  ['maxContextTokens not an integer', withPool(0, { maxContextTokens: 1000.5 }), /^pools\[0\]\.maxContextTokens: expected an integer ≥ 1, got 1000\.5/],
  ['external maxContextTokens missing', withPool(1, { maxContextTokens: undefined }), /^pools\[1\]\.maxContextTokens: required for an external pool/],
  ['reliableContextTokens over max', withPool(0, { reliableContextTokens: 140_000 }), /^pools\[0\]\.reliableContextTokens: expected ≤ maxContextTokens \(131072\), got 140000/],
  ['reliableContextTokens over a lowered max', withPool(0, { maxContextTokens: 32768, reliableContextTokens: 65536 }), /^pools\[0\]\.reliableContextTokens: expected ≤ maxContextTokens \(32768\)/],
  ['reliableContextTokens 0', withPool(1, { reliableContextTokens: 0 }), /^pools\[1\]\.reliableContextTokens: expected an integer ≥ 1, got 0/],
  ['acceptBeyondReliable not a boolean', withPool(0, { acceptBeyondReliable: 'yes' }), /^pools\[0\]\.acceptBeyondReliable: expected true or false/],
  ['quality above 1', withPool(0, { quality: { reasoning: 1.2 } }), /^pools\[0\]\.quality\.reasoning: expected a number ≥ 0 and ≤ 1, got 1\.2/],
  ['quality negative (single number)', withPool(0, { quality: -0.1 }), /^pools\[0\]\.quality: expected a number ≥ 0 and ≤ 1, got -0\.1/],
  ['quality a string', withPool(0, { quality: 'high' }), /^pools\[0\]\.quality: expected a number ≥ 0 and ≤ 1, got "high"/],
  ['quality default out of range', withPool(0, { quality: { default: 2 } }), /^pools\[0\]\.quality\.default: expected a number ≥ 0 and ≤ 1/],
  ['quality unknown shape', withPool(0, { quality: { coding: 0.5 } }), /^pools\[0\]\.quality\.coding: unknown field; allowed: tool_call, reasoning, terminal, chat, default/],
  ['input price negative', withPool(0, { usdPerMInputTokens: -1 }), /^pools\[0\]\.usdPerMInputTokens: expected a number ≥ 0, got -1/],
  ['cached price negative', withPool(1, { usdPerMCachedInputTokens: -0.5 }), /^pools\[1\]\.usdPerMCachedInputTokens: expected a number ≥ 0/],
  ['output price not a number', withPool(1, { usdPerMOutputTokens: '8' }), /^pools\[1\]\.usdPerMOutputTokens: expected a number ≥ 0, got "8"/],
  ['external input price missing', withPool(1, { usdPerMInputTokens: undefined }), /^pools\[1\]\.usdPerMInputTokens: required for an external pool/],
  ['external output price missing', withPool(1, { usdPerMOutputTokens: undefined }), /^pools\[1\]\.usdPerMOutputTokens: required for an external pool/],
  ['tokenEfficiency 0', withPool(0, { tokenEfficiency: 0 }), /^pools\[0\]\.tokenEfficiency: expected a number > 0, got 0/],
  ['usdPerGpuHour negative', withPool(0, { usdPerGpuHour: -2 }), /^pools\[0\]\.usdPerGpuHour: expected a number ≥ 0, got -2/],
  ['usdPerGpuHour on an external pool', withPool(1, { usdPerGpuHour: 2 }), /^pools\[1\]\.usdPerGpuHour: only for self_hosted pools/],
  ['instances on an external pool', withPool(1, { instances: SELF.instances }), /^pools\[1\]\.instances: only for self_hosted pools/],
  ['external on a self-hosted pool', withPool(0, { external: EXT.external }), /^pools\[0\]\.external: only for external pools/],
  ['instances missing', withPool(0, { instances: undefined }), /^pools\[0\]\.instances: required for a self_hosted pool/],
  ['instances not a mapping', withPool(0, { instances: 4 }), /^pools\[0\]\.instances: expected a mapping, got 4/],
  ['instances unknown key', withPool(0, inst({ gpus: 4 })), /^pools\[0\]\.instances\.gpus: unknown field; allowed: gpu, tensorParallel/],
  ['gpu missing', withPool(0, inst({ gpu: undefined })), /^pools\[0\]\.instances\.gpu: required \(one of h100, h200, b200, gb200, gb300\)/],
  ['gpu unknown', withPool(0, inst({ gpu: 'a100' })), /^pools\[0\]\.instances\.gpu: expected one of h100, h200, b200, gb200, gb300, got "a100"/],
  ['count missing', withPool(0, inst({ count: undefined })), /^pools\[0\]\.instances\.count: required/],
  ['count 0', withPool(0, inst({ count: 0 })), /^pools\[0\]\.instances\.count: expected an integer ≥ 1, got 0/],
  ['tensorParallel past the NVLink domain (HGX: 8)', withPool(0, inst({ gpu: 'h200', tensorParallel: 16 })), /^pools\[0\]\.instances\.tensorParallel: expected an integer ≥ 1 and ≤ 8, got 16/],
  ['tensorParallel not dividing the heads', withPool(0, inst({ tensorParallel: 3 })), /^pools\[0\]\.instances\.tensorParallel: must divide llama-3\.1-70b's 64 attention heads, got 3/],
  ['expertParallel on a dense model', withPool(0, inst({ expertParallel: 2 })), /^pools\[0\]\.instances\.expertParallel: must be 1 for dense model llama-3\.1-70b, got 2/],
  ['expertParallel not dividing tensorParallel', withPool(0, { model: 'deepseek-r1', instances: { gpu: 'gb200', tensorParallel: 8, expertParallel: 16, count: 1, weightDtype: 'fp8' } }), /^pools\[0\]\.instances\.expertParallel: must divide tensorParallel \(8\), got 16/],
  ['expertParallel not dividing the experts', withPool(0, { model: 'qwen3-coder-480b', instances: { gpu: 'gb200', tensorParallel: 48, expertParallel: 3, count: 1, weightDtype: 'fp8' } }), /^pools\[0\]\.instances\.expertParallel: must divide qwen3-coder-480b's 160 experts, got 3/],
  ['weights do not fit', withPool(0, { model: 'llama-3.1-405b', instances: { gpu: 'h100', tensorParallel: 8, count: 1 } }), /^pools\[0\]\.instances\.tensorParallel: llama-3\.1-405b bf16 weights need 101\.\d GB per GPU at tensorParallel 8, over 90% of a h100's 80\.0 GB/],
  ['fp4 on Hopper', withPool(0, inst({ gpu: 'h200', tensorParallel: 4, weightDtype: 'fp4' })), /^pools\[0\]\.instances\.weightDtype: h200 has no FP4 tensor cores/],
  ['kvDtype bad', withPool(0, inst({ kvDtype: 'int8' })), /^pools\[0\]\.instances\.kvDtype: expected one of bf16, fp8, fp4, got "int8"/],
  ['external missing', withPool(1, { external: undefined }), /^pools\[1\]\.external: required for an external pool/],
  ['external baseUrl missing', withPool(1, ext({ baseUrl: undefined })), /^pools\[1\]\.external\.baseUrl: required for an external pool/],
  ['external baseUrl not a URL', withPool(1, ext({ baseUrl: 'api.example.com' })), /^pools\[1\]\.external\.baseUrl: expected an http\(s\) URL, got "api\.example\.com"/],
  ['external baseUrl not http', withPool(1, ext({ baseUrl: 'ftp://api.example.com' })), /^pools\[1\]\.external\.baseUrl: expected an http\(s\) URL, got "ftp:/],
  ['external ttftS 0', withPool(1, ext({ ttftS: 0 })), /^pools\[1\]\.external\.ttftS: expected a number > 0, got 0/],
  ['external tpotS negative', withPool(1, ext({ tpotS: -0.01 })), /^pools\[1\]\.external\.tpotS: expected a number > 0, got -0\.01/],
  ['external unknown key', withPool(1, ext({ apiKey: 'x' })), /^pools\[1\]\.external\.apiKey: unknown field; allowed: baseUrl, ttftS, tpotS/],
];

for (const [name, value, message] of ERRORS) {
  test(`pools config error: ${name}`, () => {
    assert.throws(() => parsePools(value), (e: unknown) => e instanceof ConfigError && e.code === 'E_BAD_CONFIG' && message.test(e.message) ? true : assert.fail(String(e)));
  });
}

test('pools config: defaults', () => {
  const [self, api] = parsePools([SELF, EXT]);
  assert.ok(self && api);
  assert.deepEqual(self, {
    name: 'llama',
    kind: 'self_hosted',
    model: 'llama-3.1-70b',
    quality: { tool_call: 1, reasoning: 1, terminal: 1, chat: 1 },
    reliableContextTokens: 131072,
    maxContextTokens: 131072,
    acceptBeyondReliable: false,
    usdPerMInputTokens: 0,
    usdPerMCachedInputTokens: 0,
    usdPerMOutputTokens: 0,
    tokenEfficiency: 1,
    instances: { gpu: 'gb200', tensorParallel: 4, expertParallel: 1, count: 2, weightDtype: 'bf16', kvDtype: 'bf16' },
  });
  assert.equal(api.usdPerMCachedInputTokens, 2, 'cached input price defaults to the input price');
  assert.equal(api.reliableContextTokens, 1_000_000);
  assert.deepEqual(api.external, EXT.external);
  assert.equal(api.instances, undefined);
  assert.equal(poolGpus(self), 8);
  assert.equal(poolGpus(api), 0);
});

test('pools config: quality as a number, a table with default, a partial table', () => {
  const [a, b, c] = parsePools([
    { ...SELF, name: 'a', quality: 0.7 },
    { ...SELF, name: 'b', quality: { default: 0.5, reasoning: 0.9 } },
    { ...SELF, name: 'c', quality: { tool_call: 0.2 } },
  ]);
  assert.deepEqual(a?.quality, { tool_call: 0.7, reasoning: 0.7, terminal: 0.7, chat: 0.7 });
  assert.deepEqual(b?.quality, { tool_call: 0.5, reasoning: 0.9, terminal: 0.5, chat: 0.5 });
  assert.deepEqual(c?.quality, { tool_call: 0.2, reasoning: 1, terminal: 1, chat: 1 });
});

test('pools config: the embedded default is one GB200 NVL72 rack plus an external pool', () => {
  const pools = defaultPools();
  assert.deepEqual(pools.map((p) => [p.name, p.kind, p.model]), [
    ['llama-70b', 'self_hosted', 'llama-3.1-70b'],
    ['deepseek-r1', 'self_hosted', 'deepseek-r1'],
    ['frontier-api', 'external', 'example-frontier-model'],
  ]);
  assert.equal(pools.reduce((n, p) => n + poolGpus(p), 0), 72);
  assert.ok(pools.every((p) => p.instances === undefined || p.instances.gpu === 'gb200'));
  assert.ok(pools.every((p) => p.reliableContextTokens < p.maxContextTokens), 'every default pool states a reliable context below its maximum');
  assert.equal(DEFAULT_POOLS_CONFIG.length, 3);
});

test('poolKvBytesPerBlock: whole-model KV bytes per block', () => {
  const [llama, r1, api] = defaultPools();
  // Llama 3.1 70B bf16: 80 layers × 2 (K, V) × 8 KV heads × 128 × 2 bytes = 327,680 B/token; × 16 tokens.
  assert.equal(poolKvBytesPerBlock(llama!, 16), 327_680 * 16);
  // DeepSeek-R1 fp8 MLA: 61 layers × (512 + 64) × 1 byte = 35,136 B/token.
  assert.equal(poolKvBytesPerBlock(r1!, 32), 35_136 * 32);
  assert.equal(poolKvBytesPerBlock(api!, 16), 0);
});
