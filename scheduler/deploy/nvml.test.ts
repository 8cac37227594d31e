// The addon's NVML fabric reader against the stub libnvidia-ml (native/core/tests/nvml_stub.c, built beside the
// addon as libnvml_stub.so): parsed values, the library override (argument and $NVLSCHED_NVML_LIBRARY), a missing
// library, NVML errors with their codes, and discovery choosing NVML first and falling back when it cannot.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { addonPath } from '../kv/native.js';
import { discoverDomain } from './discovery.js';
import { domainOfGpus, isFabricAttached } from './fabric.js';
import { GB200_TRAY, nvidiaSmiQuery } from './fabric_samples.js';
import { NVML_LIBRARY_ENV, nvmlFabricInfo, nvmlGpuToFabric, readNvmlFabric, type NvmlError } from './nvml.js';

const STUB = path.join(path.dirname(addonPath()), 'libnvml_stub.so');
const CLUSTER = '0a1b2c3d-4e5f-4061-8273-94a5b6c7d8e9';
const MODE_ENV = 'NVLSCHED_NVML_STUB_MODE';
const noSmi = () => Promise.reject(new Error('nvidia-smi is not installed'));

/** Runs `fn` with the stub in `mode` (the stub reads the variable on every call); restores the environment. */
async function withMode<T>(mode: string, fn: () => Promise<T>): Promise<T> {
  process.env[MODE_ENV] = mode;
  try {
    return await fn();
  } finally {
    delete process.env[MODE_ENV];
  }
}

test('the stub library is built beside the addon', () => {
  assert.ok(existsSync(STUB), `${STUB} is missing: run npm run build:native (CMake target nvml_stub)`);
});

test('reads each GPU: index, UUID, fabric state and status, ClusterUUID as a UUID string, CliqueId', async () => {
  const info = await nvmlFabricInfo({ library: STUB });
  assert.equal(info.available, true);
  if (!info.available) return;
  assert.equal(info.library, STUB);
  assert.equal(info.api, 'nvmlDeviceGetGpuFabricInfoV/v3');
  assert.equal(info.gpus.length, 4);
  assert.deepEqual(info.gpus[2], {
    index: 2, uuid: 'GPU-5a5a5a5a-0000-4000-8000-000000000002', fabricSupported: true, state: 3, stateName: 'Completed',
    status: 0, statusText: 'Success', clusterUuid: CLUSTER, cliqueId: 7, healthMask: 5,
  });
  assert.deepEqual(info.gpus.map((g) => g.index), [0, 1, 2, 3]);
  const rows = await readNvmlFabric({ library: STUB });
  assert.deepEqual(rows[0], { gpu: '0', state: 'Completed', status: 'Success', cliqueId: '7', clusterUuid: CLUSTER });
  const d = domainOfGpus(rows);
  assert.deepEqual(d.kind === 'domain' && [d.domainId, d.gpus], [`${CLUSTER}.7`, 4]);
});

test('older drivers: the v2 struct, then the unversioned call', async () => {
  const v2 = await withMode('v2-only', () => nvmlFabricInfo({ library: STUB }));
  assert.deepEqual(v2.available && [v2.api, v2.gpus[0]?.healthMask, v2.gpus[0]?.cliqueId], ['nvmlDeviceGetGpuFabricInfoV/v2', 2, 7]);
  const legacy = await withMode('legacy-only', () => nvmlFabricInfo({ library: STUB }));
  assert.deepEqual(legacy.available && [legacy.api, legacy.gpus[0]?.healthMask, legacy.gpus[0]?.clusterUuid], ['nvmlDeviceGetGpuFabricInfo', undefined, CLUSTER]);
});

test('a missing or foreign library is not available, with the reason; never a crash', async () => {
  const absent = await nvmlFabricInfo({ library: '/nonexistent/libnvidia-ml.so.1' });
  assert.equal(absent.available, false);
  assert.match(!absent.available ? absent.reason : '', /\/nonexistent\/libnvidia-ml\.so\.1/);
  const foreign = await nvmlFabricInfo({ library: 'libm.so.6' });
  assert.match(!foreign.available ? foreign.reason : '', /not an NVML.*missing nvmlInit_v2/);
  await assert.rejects(readNvmlFabric({ library: '/nonexistent/libnvidia-ml.so.1' }), /\/nonexistent\/libnvidia-ml\.so\.1/);
});

test('$NVLSCHED_NVML_LIBRARY names the library when no option does', async () => {
  const saved = process.env[NVML_LIBRARY_ENV];
  process.env[NVML_LIBRARY_ENV] = STUB;
  try {
    const info = await nvmlFabricInfo();
    assert.deepEqual([info.library, info.available && info.gpus.length], [STUB, 4]);
  } finally {
    if (saved === undefined) delete process.env[NVML_LIBRARY_ENV];
    else process.env[NVML_LIBRARY_ENV] = saved;
  }
});

test('NVML errors reject with .code, the call and NVML\'s return value', async () => {
  const init = await withMode('init-fail', () => nvmlFabricInfo({ library: STUB }).then(() => undefined, (e: NvmlError) => e));
  assert.ok(init instanceof Error);
  assert.deepEqual([init.code, init.nvmlCall, init.nvmlReturn], ['E_NVML_INIT', 'nvmlInit_v2', 9]);
  assert.match(init.message, /nvmlInit_v2 failed: Driver Not Loaded/);
  const count = await withMode('count-fail', () => nvmlFabricInfo({ library: STUB }).then(() => undefined, (e: NvmlError) => e));
  assert.deepEqual([count?.code, count?.nvmlCall, count?.nvmlReturn], ['E_NVML_QUERY', 'nvmlDeviceGetCount_v2', 999]);
  await assert.rejects(nvmlFabricInfo({ library: 5 as unknown as string }), (e: NodeJS.ErrnoException) => e.code === 'E_INVALID_ARGUMENT' && /options\.library/.test(e.message));
  await assert.rejects(nvmlFabricInfo({ library: '' }), /options\.library must be a non-empty path/);
});

test('GPUs outside a fabric or still registering give rows that attach nothing', async () => {
  const none = await withMode('not-supported', () => readNvmlFabric({ library: STUB }));
  assert.deepEqual(none[0], { gpu: '0', state: 'N/A', status: 'N/A', cliqueId: 'N/A', clusterUuid: 'N/A' });
  assert.equal(domainOfGpus(none).kind, 'none');
  const busy = await withMode('in-progress', () => readNvmlFabric({ library: STUB }));
  assert.deepEqual([busy[1]?.state, busy[1]?.status], ['In Progress', 'N/A']);
  const d = domainOfGpus(busy);
  assert.match(d.kind === 'none' ? d.reason : '', /State In Progress/);
});

test('a completed registration that failed carries NVML\'s status text and does not attach', () => {
  const row = nvmlGpuToFabric({ index: 1, uuid: 'GPU-x', fabricSupported: true, state: 3, stateName: 'Completed', status: 999, statusText: 'Unknown Error', clusterUuid: CLUSTER, cliqueId: 7 });
  assert.deepEqual([row.state, row.status, isFabricAttached(row)], ['Completed', 'Unknown Error', false]);
});

test('discovery: NVML first (source nvml); when NVML fails or disagrees it says why and uses nvidia-smi', async () => {
  const env = { [NVML_LIBRARY_ENV]: STUB };
  const viaNvml = await discoverDomain({ configDomain: 'rack0', env, execNvidiaSmi: noSmi });
  assert.deepEqual([viaNvml.source, viaNvml.domainId, viaNvml.clusterUuid, viaNvml.cliqueId, viaNvml.skipped], ['nvml', `${CLUSTER}.7`, CLUSTER, '7', []]);
  const smi = () => Promise.resolve(nvidiaSmiQuery(GB200_TRAY));
  const initFail = await withMode('init-fail', () => discoverDomain({ configDomain: 'rack0', env, execNvidiaSmi: smi }));
  assert.equal(initFail.source, 'nvidia-smi');
  assert.match(initFail.skipped.join('\n'), /^nvml: .*libnvml_stub\.so: nvmlInit_v2 failed: Driver Not Loaded/);
  const split = await withMode('split', () => discoverDomain({ configDomain: 'rack0', env, execNvidiaSmi: noSmi }));
  assert.equal(split.source, 'config');
  assert.match(split.skipped[0] ?? '', /^nvml: the node's GPUs are in different NVLink domains \(.*\.7, .*\.8\)/);
});
