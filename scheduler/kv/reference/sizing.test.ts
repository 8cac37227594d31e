// Config validation and pool sizing (scheduler/kv/sizing.ts, SPEC §1), through resolveKvConfig and the manager.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bytesPerToken, resolveKvConfig } from '../sizing.js';
import type { KvManagerConfig } from '../types.js';
import { ReferenceKvManager } from './manager.js';
import { expectCode, makeManager, TEST_LAYOUT, TEST_TOPOLOGY, testConfig } from './test-fixtures.js';

test('bytesPerToken: GQA splits heads over tensor parallel (at least one per GPU), MLA replicates', () => {
  assert.equal(bytesPerToken(TEST_LAYOUT), 16);
  const llama70b = { numLayers: 80, numKvHeads: 8, headDim: 128, mlaLatentDim: 0, bytesPerElement: 2, tensorParallel: 4 };
  assert.equal(bytesPerToken(llama70b), 2 * 80 * 2 * 128 * 2);
  assert.equal(bytesPerToken({ ...llama70b, tensorParallel: 16 }), 2 * 80 * 1 * 128 * 2);
  assert.equal(bytesPerToken({ ...llama70b, tensorParallel: 3 }), 2 * 80 * 3 * 128 * 2);
  const deepseek = { numLayers: 61, numKvHeads: 0, headDim: 0, mlaLatentDim: 576, bytesPerElement: 1, tensorParallel: 8 };
  assert.equal(bytesPerToken(deepseek), 61 * 576);
  assert.equal(bytesPerToken({ ...deepseek, numLayers: 1, mlaLatentDim: 3, bytesPerElement: 0.5 }), 2); // ceil(1.5)
});

test('explicit pool sizes and the manager shape', () => {
  const m = makeManager();
  assert.equal(m.numGpus, 8);
  assert.equal(m.numTrays, 4);
  assert.equal(m.tokensPerBlock, 4);
  assert.equal(m.bytesPerToken, 16);
  assert.equal(m.blockBytes, 64);
  const pools = m.stats().pools;
  assert.equal(pools.length, 8 + 4 + 4);
  assert.deepEqual(
    pools.map((p) => `${p.location.tier}${p.location.index}:${p.totalBlocks}`),
    [...[0, 1, 2, 3, 4, 5, 6, 7].map((g) => `device${g}:8`), ...[0, 1, 2, 3].map((t) => `host${t}:16`), ...[0, 1, 2, 3].map((t) => `disk${t}:32`)],
  );
  assert.equal(m.backendInfo().backend, 'reference');
  assert.equal(m.backendInfo().dataMode, 'metadata');
});

test('derived pool sizes follow SPEC §1 formulas', () => {
  const config: KvManagerConfig = {
    topology: { ...TEST_TOPOLOGY, hbmBytesPerGpu: 10_000, hostBytesPerTray: 6_400, diskBytesPerTray: 1_000 },
    layout: TEST_LAYOUT,
    tokensPerBlock: 4,
    weightsBytesPerGpu: 1_000,
    deviceReserveFraction: 0.2,
    hostFraction: 0.25,
  };
  const resolved = resolveKvConfig(config);
  assert.equal(resolved.deviceBlocksPerGpu, Math.floor((10_000 * 0.8 - 1_000) / 64)); // 109
  assert.equal(resolved.hostBlocksPerTray, 25);
  assert.equal(resolved.diskBlocksPerTray, 15);
  // Defaults: tokensPerBlock 16, reserve 0.1, hostFraction 0.5, no weights.
  const defaults = resolveKvConfig({ topology: TEST_TOPOLOGY, layout: TEST_LAYOUT });
  assert.equal(defaults.tokensPerBlock, 16);
  assert.equal(defaults.deviceBlocksPerGpu, Math.floor((2 ** 20 * 0.9) / 256));
  assert.equal(defaults.hostBlocksPerTray, 2 ** 19 / 256);
  assert.equal(defaults.eventLogCapacity, 1 << 20);
  assert.equal(defaults.dataMode, 'metadata');
});

test('numDomains multiplies the topology domain count', () => {
  const m = makeManager({ numDomains: 3 });
  assert.equal(m.numGpus, 24);
  assert.equal(m.numTrays, 12);
  assert.equal(m.topology().numDomains, 6);
  const copy = m.topology();
  copy.nvlink.latencyS = 99;
  assert.equal(m.topology().nvlink.latencyS, TEST_TOPOLOGY.nvlink.latencyS, 'topology() returns a copy');
});

test('preset names are refused: the reference needs the resolved topology', () => {
  expectCode(() => makeManager({ topology: 'gb200-nvl72' }), 'E_INVALID_ARGUMENT', /resolved topology/);
});

test('weights that leave no device block name weightsBytesPerGpu', () => {
  expectCode(
    () => new ReferenceKvManager({ topology: TEST_TOPOLOGY, layout: TEST_LAYOUT, weightsBytesPerGpu: 2 ** 20 }),
    'E_INVALID_ARGUMENT',
    /weightsBytesPerGpu/,
  );
});

test('bytes mode beyond maxRealBytes is E_TOO_LARGE', () => {
  // (8 * 8 + 4 * (16 + 32)) blocks * 64 bytes = 16384 bytes.
  expectCode(() => makeManager({ dataMode: 'bytes', maxRealBytes: 16383 }), 'E_TOO_LARGE', /maxRealBytes/);
  assert.equal(makeManager({ dataMode: 'bytes', maxRealBytes: 16384 }).backendInfo().dataMode, 'bytes');
});

test('invalid configs name the field', () => {
  const topo = (patch: object) => ({ topology: { ...TEST_TOPOLOGY, ...patch } as typeof TEST_TOPOLOGY });
  const layout = (patch: object) => ({ layout: { ...TEST_LAYOUT, ...patch } });
  const cases: Array<[Partial<KvManagerConfig>, RegExp]> = [
    [topo({ numDomains: 0 }), /topology\.numDomains/],
    [topo({ traysPerDomain: 1.5 }), /topology\.traysPerDomain/],
    [topo({ gpusPerTray: '2' }), /topology\.gpusPerTray/],
    [topo({ cpusPerTray: -1 }), /topology\.cpusPerTray/],
    [topo({ gpusPerTray: 65536 }), /65536 GPUs/],
    [topo({ hbmBytesPerGpu: -1 }), /topology\.hbmBytesPerGpu/],
    [topo({ hostBytesPerTray: 2 ** 53 + 2 }), /topology\.hostBytesPerTray/],
    [topo({ diskBytesPerTray: Infinity }), /topology\.diskBytesPerTray/],
    [topo({ nvlink: { bandwidthBytesPerS: 0, latencyS: 0 } }), /topology\.nvlink\.bandwidthBytesPerS/],
    [topo({ disk: { bandwidthBytesPerS: 1, latencyS: -1 } }), /topology\.disk\.latencyS/],
    [topo({ scaleOut: { bandwidthBytesPerS: NaN, latencyS: 0 } }), /topology\.scaleOut\.bandwidthBytesPerS/],
    [topo({ hostLink: undefined }), /topology\.hostLink must be an object/],
    [topo({ hostLinkKind: 'nvlink' }), /topology\.hostLinkKind/],
    [topo({ name: 5 }), /topology\.name/],
    [{ topology: undefined as unknown as typeof TEST_TOPOLOGY }, /topology must be an object/],
    [{ numDomains: 0 }, /numDomains/],
    [{ numDomains: 2 ** 14 }, /65536/],
    [layout({ numLayers: 0 }), /layout\.numLayers/],
    [layout({ numKvHeads: 0 }), /layout\.numKvHeads/],
    [layout({ headDim: 0 }), /layout\.headDim/],
    [layout({ bytesPerElement: 3 }), /layout\.bytesPerElement/],
    [layout({ tensorParallel: 0 }), /layout\.tensorParallel/],
    [layout({ mlaLatentDim: -1 }), /layout\.mlaLatentDim/],
    [{ layout: undefined as unknown as typeof TEST_LAYOUT }, /layout must be an object/],
    [{ tokensPerBlock: 0 }, /tokensPerBlock/],
    [{ tokensPerBlock: 65537 }, /tokensPerBlock/],
    [{ deviceBlocksPerGpu: 0 }, /deviceBlocksPerGpu/],
    [{ deviceBlocksPerGpu: 2 ** 31 }, /deviceBlocksPerGpu/],
    [{ hostBlocksPerTray: -1 }, /hostBlocksPerTray/],
    [{ diskBlocksPerTray: 0.5 }, /diskBlocksPerTray/],
    [{ weightsBytesPerGpu: -1 }, /weightsBytesPerGpu/],
    [{ deviceReserveFraction: 1.5 }, /deviceReserveFraction/],
    [{ hostFraction: -0.1 }, /hostFraction/],
    [{ dataMode: 'real' as 'bytes' }, /dataMode/],
    [{ maxRealBytes: -1 }, /maxRealBytes/],
    [{ eventLogCapacity: 0 }, /eventLogCapacity/],
    [{ backend: 'gpu' as 'cuda' }, /backend/],
  ];
  for (const [patch, message] of cases) {
    expectCode(() => new ReferenceKvManager(testConfig(patch)), 'E_INVALID_ARGUMENT', message);
  }
  expectCode(() => new ReferenceKvManager(null as unknown as KvManagerConfig), 'E_INVALID_ARGUMENT', /config/);
});

test('a derived pool beyond 2^31 - 1 blocks is refused', () => {
  expectCode(
    () => makeManager({ hostBlocksPerTray: undefined, topology: { ...TEST_TOPOLOGY, hostBytesPerTray: 2 ** 40 } }),
    'E_INVALID_ARGUMENT',
    /hostBlocksPerTray/,
  );
});
