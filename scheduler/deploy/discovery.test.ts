// NVLink-domain discovery: parsing `nvidia-smi -q` Fabric blocks, the attachment rules (Completed + Success +
// non-zero ClusterUUID), mixed or missing fabrics, and the fallback order nvml → nvidia-smi → node label → config
// (with an NVML read that times out).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { discoverDomain, NODE_CLIQUE_ENV } from './discovery.js';
import { domainOfGpus, parseNvidiaSmiFabric, splitCliqueLabel } from './fabric.js';
import { GB200_TRAY, H100_NO_FABRIC, nvidiaSmiQuery } from './fabric_samples.js';

const DOMAIN = '50000000-0000-0000-0000-000000000005.4000000004';
const smi = (text: string) => () => Promise.resolve(text);
const noSmi = () => Promise.reject(new Error('nvidia-smi is not installed'));
// Tests pass an NVML reader so a machine with a real libnvidia-ml does not change their answers (nvml.test.ts
// runs the addon's reader on a stub library).
const NO_NVML = 'libnvidia-ml.so.1: cannot open shared object file: No such file or directory';
const noNvml = () => Promise.reject(new Error(NO_NVML));

test('parses one Fabric block per GPU, with its bus id, ignoring the nested Health block', () => {
  const gpus = parseNvidiaSmiFabric(nvidiaSmiQuery(GB200_TRAY));
  assert.equal(gpus.length, 4);
  assert.deepEqual(gpus[0], { gpu: '00000008:01:00.0', state: 'Completed', status: 'Success', cliqueId: '4000000004', clusterUuid: '50000000-0000-0000-0000-000000000005' });
  assert.deepEqual(gpus.map((g) => g.gpu), GB200_TRAY.map((g) => g.busId));
});

test('the grep form NCCL\'s guide uses (nvidia-smi -q | grep -A4 Fabric) parses too', () => {
  const text = ['    Fabric', '        State                             : Completed', '        Status                            : Success',
    '        CliqueId                          : 7', '        ClusterUUID                       : 0a1b2c3d-0000-4000-8000-00000000beef', '--',
    '    Fabric', '        State                             : Completed', '        Status                            : Success',
    '        CliqueId                          : 7', '        ClusterUUID                       : 0a1b2c3d-0000-4000-8000-00000000beef'].join('\n');
  const d = domainOfGpus(parseNvidiaSmiFabric(text));
  assert.deepEqual(d.kind === 'domain' && [d.domainId, d.gpus], ['0a1b2c3d-0000-4000-8000-00000000beef.7', 2]);
});

test('a tray whose GPUs agree gives "<ClusterUUID>.<CliqueId>", the GFD label format', () => {
  const d = domainOfGpus(parseNvidiaSmiFabric(nvidiaSmiQuery(GB200_TRAY)));
  assert.equal(d.kind, 'domain');
  assert.equal(d.kind === 'domain' && d.domainId, DOMAIN);
  assert.deepEqual(d.kind === 'domain' && d.warnings, []);
});

test('GPUs not attached (N/A, in progress, failed, zero UUID) do not count; none attached gives no domain', () => {
  const none = domainOfGpus(parseNvidiaSmiFabric(nvidiaSmiQuery(H100_NO_FABRIC)));
  assert.equal(none.kind, 'none');
  assert.match(none.kind === 'none' ? none.reason : '', /no GPU is attached.*State N\/A/);
  const mixed = [
    { busId: '00000008:01:00.0' },
    { busId: '00000009:01:00.0', state: 'In Progress', status: 'N/A' },
    { busId: '00000018:01:00.0', status: 'Failure' },
    { busId: '00000019:01:00.0', clusterUuid: '00000000-0000-0000-0000-000000000000' },
  ];
  const d = domainOfGpus(parseNvidiaSmiFabric(nvidiaSmiQuery(mixed)));
  assert.equal(d.kind === 'domain' && d.gpus, 1);
  assert.match(d.kind === 'domain' ? d.warnings.join() : '', /3 of 4 GPUs are not attached/);
});

test('GPUs of one node in two domains give no domain (as GFD emits no label)', () => {
  const split = [{ busId: '00000008:01:00.0' }, { busId: '00000009:01:00.0', cliqueId: '4000000005' }];
  const d = domainOfGpus(parseNvidiaSmiFabric(nvidiaSmiQuery(split)));
  assert.equal(d.kind, 'none');
  assert.match(d.kind === 'none' ? d.reason : '', /different NVLink domains/);
});

test('a driver without Fabric blocks, or empty output, yields no GPUs', () => {
  assert.deepEqual(parseNvidiaSmiFabric(nvidiaSmiQuery(GB200_TRAY.map((g) => ({ ...g, fabric: false })))), []);
  assert.deepEqual(parseNvidiaSmiFabric(''), []);
});

test('discovery prefers NVML, then nvidia-smi', async () => {
  const nvml = await discoverDomain({
    configDomain: 'rack0', env: {}, execNvidiaSmi: noSmi,
    readNvmlFabric: () => Promise.resolve([{ gpu: '0', state: 'Completed', status: 'Success', cliqueId: '9', clusterUuid: 'aaaaaaaa-0000-0000-0000-000000000001' }]),
  });
  assert.deepEqual([nvml.source, nvml.domainId, nvml.cliqueId], ['nvml', 'aaaaaaaa-0000-0000-0000-000000000001.9', '9']);
  const viaSmi = await discoverDomain({ configDomain: 'rack0', env: {}, readNvmlFabric: noNvml, execNvidiaSmi: smi(nvidiaSmiQuery(GB200_TRAY)) });
  assert.deepEqual([viaSmi.source, viaSmi.domainId, viaSmi.clusterUuid], ['nvidia-smi', DOMAIN, '50000000-0000-0000-0000-000000000005']);
  assert.deepEqual(viaSmi.skipped, [`nvml: ${NO_NVML}`]);
  const noGpus = await discoverDomain({ configDomain: 'rack0', env: {}, readNvmlFabric: () => Promise.resolve(undefined), execNvidiaSmi: smi(nvidiaSmiQuery(GB200_TRAY)) });
  assert.deepEqual([noGpus.source, noGpus.skipped], ['nvidia-smi', ['nvml: not available']]);
});

test('no fabric: the node label from the environment, then the config; each skip says why', async () => {
  const label = await discoverDomain({ configDomain: 'rack0', env: { [NODE_CLIQUE_ENV]: DOMAIN }, readNvmlFabric: noNvml, execNvidiaSmi: smi(nvidiaSmiQuery(H100_NO_FABRIC)) });
  assert.deepEqual([label.source, label.domainId, label.cliqueId], ['label', DOMAIN, '4000000004']);
  assert.match(label.skipped.join('\n'), /nvidia-smi: no GPU is attached/);
  const config = await discoverDomain({ configDomain: 'rack3', env: { [NODE_CLIQUE_ENV]: '' }, readNvmlFabric: noNvml, execNvidiaSmi: noSmi });
  assert.deepEqual([config.source, config.domainId], ['config', 'rack3']);
  assert.deepEqual(config.skipped, [`nvml: ${NO_NVML}`, 'nvidia-smi: nvidia-smi is not installed', `label: ${NODE_CLIQUE_ENV} is not set`]);
});

test('a label that contradicts the fabric is a warning, and the fabric wins', async () => {
  const d = await discoverDomain({ configDomain: 'rack0', env: { [NODE_CLIQUE_ENV]: 'ffffffff-0000-0000-0000-000000000000.1' }, readNvmlFabric: noNvml, execNvidiaSmi: smi(nvidiaSmiQuery(GB200_TRAY)) });
  assert.equal(d.domainId, DOMAIN);
  assert.match(d.warnings.join(), /disagrees with the GPU fabric/);
});

test('a label in another shape is used as it is, with a warning; an empty config domain is refused', async () => {
  const d = await discoverDomain({ configDomain: 'rack0', env: { [NODE_CLIQUE_ENV]: 'rack-a' }, readNvmlFabric: noNvml, execNvidiaSmi: noSmi });
  assert.deepEqual([d.source, d.domainId, d.cliqueId], ['label', 'rack-a', undefined]);
  assert.match(d.warnings.join(), /not "<ClusterUUID>.<CliqueId>"/);
  assert.equal(splitCliqueLabel(DOMAIN)?.cliqueId, '4000000004');
  await assert.rejects(discoverDomain({ configDomain: '', env: {}, readNvmlFabric: noNvml, execNvidiaSmi: noSmi }), /configDomain/);
  await assert.rejects(discoverDomain({ configDomain: 'rack0', env: {}, readNvmlFabric: noNvml, execNvidiaSmi: noSmi, nvmlTimeoutMs: 0 }), /nvmlTimeoutMs/);
});

test('an NVML read that never answers (a wedged driver) times out and discovery goes on', async () => {
  const d = await discoverDomain({
    configDomain: 'rack0', env: {}, nvmlTimeoutMs: 20, readNvmlFabric: () => new Promise(() => {}), execNvidiaSmi: smi(nvidiaSmiQuery(GB200_TRAY)),
  });
  assert.deepEqual([d.source, d.domainId, d.skipped], ['nvidia-smi', DOMAIN, ['nvml: NVML did not answer within 20 ms']]);
});

test('a fabric NVML reports that the node label contradicts: NVML wins, with a warning', async () => {
  const nvml = () => Promise.resolve([{ gpu: '0', state: 'Completed', status: 'Success', cliqueId: '4000000004', clusterUuid: '50000000-0000-0000-0000-000000000005' }]);
  const d = await discoverDomain({ configDomain: 'rack0', env: { [NODE_CLIQUE_ENV]: 'ffffffff-0000-0000-0000-000000000000.1' }, readNvmlFabric: nvml, execNvidiaSmi: noSmi });
  assert.deepEqual([d.source, d.domainId], ['nvml', DOMAIN]);
  assert.match(d.warnings.join(), /disagrees with the GPU fabric/);
});
