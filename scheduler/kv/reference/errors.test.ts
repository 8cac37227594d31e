// Bad input (SPEC §10): every case fails with its code, names the argument, and changes nothing. Check order
// (validate.ts): closed; each argument converted in order (type and representable range); then the sequence lookup
// and the call's own rules.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AllocateRequest, KvManager, Location } from '../types.js';
import { ReferenceKvManager } from './manager.js';
import { chain, expectCode, expectNoChange, expectNoChangeAsync, expectReject, makeManager, testConfig } from './test-fixtures.js';

/** Calls through an untyped view, as JavaScript callers can. */
function loose(m: ReferenceKvManager): Record<keyof KvManager, (...args: unknown[]) => unknown> {
  return m as unknown as Record<keyof KvManager, (...args: unknown[]) => unknown>;
}

const BAD_COUNTS = [-1, 1.5, NaN, Infinity, '4', 4n, null, {}];

async function fixture() {
  const m = makeManager();
  const h = chain(2);
  const onGpu = m.allocate({ gpu: 0, numTokens: 8, blockHashes: h }).seqId;
  const onHost = m.allocate({ gpu: 1, numTokens: 5 }).seqId;
  await m.demote(onHost);
  return { m, h, onGpu, onHost, maxId: 2 };
}

test('allocate: every bad field is E_INVALID_ARGUMENT naming it', async () => {
  const { m, maxId } = await fixture();
  const req = (patch: object) => ({ gpu: 0, numTokens: 4, ...patch }) as AllocateRequest;
  const cases: Array<[unknown, RegExp]> = [
    [undefined, /req must be an object/],
    [null, /req must be an object/],
    ['gpu0', /req must be an object/],
    [[0, 4], /req must be an object/],
    ...[-1, 8, 1.5, NaN, '0', undefined, 0n].map((gpu): [unknown, RegExp] => [req({ gpu }), /gpu must be an integer in \[0, 7\]/]),
    ...[0, ...BAD_COUNTS, undefined, 2 ** 31].map((numTokens): [unknown, RegExp] => [req({ numTokens }), /numTokens/]),
    ...[[1n], 'x', new Uint32Array(1), new BigInt64Array(1), 0].map((blockHashes): [unknown, RegExp] => [
      req({ blockHashes }),
      /blockHashes must be a BigUint64Array/,
    ]),
    [req({ numTokens: 7, blockHashes: chain(2) }), /blockHashes has 2 hashes/],
    ...BAD_COUNTS.map((reserveTokens): [unknown, RegExp] => [req({ reserveTokens }), /reserveTokens/]),
    [req({ reserveTokens: 2 ** 32 }), /reserveTokens/],
    [req({ numTokens: 2 ** 30, reserveTokens: 2 ** 30 }), /numTokens \+ reserveTokens/],
  ];
  for (const [arg, message] of cases) {
    expectNoChange(m, maxId, () => loose(m).allocate(arg), 'E_INVALID_ARGUMENT');
    expectCode(() => loose(m).allocate(arg), 'E_INVALID_ARGUMENT', message);
  }
  assert.equal(m.allocate({ gpu: 0, numTokens: 4, blockHashes: null as unknown as BigUint64Array }).cachedBlocks, 0);
});

test('sequence ids: non-numbers are invalid, unissued numbers unknown, freed ones freed', async () => {
  const { m, maxId } = await fixture();
  const calls: Array<(id: unknown) => unknown> = [
    (id) => loose(m).free(id),
    (id) => loose(m).sequenceInfo(id),
    (id) => loose(m).blockTable(id),
    (id) => loose(m).append(id, 1),
  ];
  for (const call of calls) {
    for (const id of ['1', null, undefined, {}, 1n]) expectNoChange(m, maxId, () => call(id), 'E_INVALID_ARGUMENT');
    for (const id of [0, -1, 1.5, NaN, Infinity, 3, 2 ** 40]) expectNoChange(m, maxId, () => call(id), 'E_UNKNOWN_SEQUENCE');
  }
  const extra = m.allocate({ gpu: 2, numTokens: 4 }).seqId;
  m.free(extra);
  for (const call of calls) expectNoChange(m, extra, () => call(extra), 'E_SEQUENCE_FREED');
  for (const call of [(id: unknown) => loose(m).transfer(id, { tier: 'device', index: 3 }), (id: unknown) => loose(m).demote(id)]) {
    await expectReject(call('1') as Promise<unknown>, 'E_INVALID_ARGUMENT');
    await expectReject(call(99) as Promise<unknown>, 'E_UNKNOWN_SEQUENCE');
    await expectReject(call(extra) as Promise<unknown>, 'E_SEQUENCE_FREED');
  }
});

test('append: converted arguments first, then the sequence, its tier, and the rules that need it', async () => {
  const { m, h, onGpu, onHost, maxId } = await fixture();
  for (const n of [0, ...BAD_COUNTS]) {
    expectNoChange(m, maxId, () => loose(m).append(onGpu, n), 'E_INVALID_ARGUMENT');
  }
  expectNoChange(m, maxId, () => loose(m).append(onGpu, 4, [h[0]]), 'E_INVALID_ARGUMENT');
  expectNoChange(m, maxId, () => loose(m).append(onGpu, 2 ** 31), 'E_INVALID_ARGUMENT');
  // A junk id is unknown before later arguments are looked at; a bad type in a later argument beats a lookup.
  expectNoChange(m, maxId, () => loose(m).append(1.5, 'x'), 'E_UNKNOWN_SEQUENCE');
  expectNoChange(m, maxId, () => loose(m).append(99, 'x'), 'E_INVALID_ARGUMENT');
  expectNoChange(m, maxId, () => loose(m).append(99, -1), 'E_INVALID_ARGUMENT');
  // numTokens ≥ 1 is the call's own rule: it comes after the lookup and the tier.
  expectNoChange(m, maxId, () => m.append(99, 0), 'E_UNKNOWN_SEQUENCE');
  expectNoChange(m, maxId, () => m.append(onHost, 0), 'E_WRONG_TIER');
  expectNoChange(m, maxId, () => m.append(onHost, 4), 'E_WRONG_TIER');
  expectCode(() => m.append(onHost, 4), 'E_WRONG_TIER', /promote/);
  expectNoChange(m, maxId, () => m.append(onGpu, 3, chain(1, 9)), 'E_INVALID_ARGUMENT');
  m.free(onGpu);
  expectNoChange(m, maxId, () => m.append(onGpu, 0), 'E_SEQUENCE_FREED');
});

test('prefix calls and pins check gpu and hashes', async () => {
  const { m, h, maxId } = await fixture();
  for (const bad of [[1n], 'x', 5, new BigInt64Array(1)]) {
    expectNoChange(m, maxId, () => loose(m).matchPrefix(bad), 'E_INVALID_ARGUMENT');
    for (const name of ['matchPrefixOnGpu', 'pin', 'unpin'] as const) {
      expectNoChange(m, maxId, () => loose(m)[name](0, bad), 'E_INVALID_ARGUMENT');
    }
  }
  for (const gpu of [-1, 8, 0.5, '0', undefined]) {
    for (const name of ['matchPrefixOnGpu', 'pin', 'unpin'] as const) {
      expectNoChange(m, maxId, () => loose(m)[name](gpu, h), 'E_INVALID_ARGUMENT');
      expectCode(() => loose(m)[name](gpu, h), 'E_INVALID_ARGUMENT', /gpu must be an integer in \[0, 7\]/);
    }
  }
  // A missing chain is an empty one.
  assert.deepEqual(loose(m).matchPrefix(undefined), []);
  assert.equal(loose(m).pin(0, null), 0);
});

test('transfer, demote, promote: bad destinations, modes and tiers reject with nothing changed', async () => {
  const { m, onGpu, maxId } = await fixture();
  const badDestinations: unknown[] = [
    null,
    'host',
    { tier: 'host' },
    { tier: 'host', index: 4 },
    { tier: 'device', index: 8 },
    { tier: 'device', index: 1.5 },
    { tier: 'device', index: '1' },
    { tier: 'gpu', index: 0 },
    { index: 0 },
  ];
  for (const destination of badDestinations) {
    await expectNoChangeAsync(m, maxId, () => loose(m).transfer(onGpu, destination) as Promise<unknown>, 'E_INVALID_ARGUMENT');
  }
  // Shape and type are converted before the lookup; whether the index exists is checked after it.
  await expectReject(loose(m).transfer(99, 'host') as Promise<unknown>, 'E_INVALID_ARGUMENT', /destination/);
  await expectReject(loose(m).transfer(99, { tier: 'device', index: 1.5 }) as Promise<unknown>, 'E_INVALID_ARGUMENT');
  await expectReject(loose(m).transfer(99, { tier: 'device', index: 8 }) as Promise<unknown>, 'E_UNKNOWN_SEQUENCE');
  await expectReject(loose(m).transfer(0.5, 'host') as Promise<unknown>, 'E_UNKNOWN_SEQUENCE');
  for (const mode of ['moved', '', null, 1]) {
    await expectNoChangeAsync(
      m,
      maxId,
      () => loose(m).transfer(onGpu, { tier: 'device', index: 1 }, mode) as Promise<unknown>,
      'E_INVALID_ARGUMENT',
    );
  }
  await expectReject(loose(m).demote(onGpu, 'device') as Promise<unknown>, 'E_INVALID_ARGUMENT', /tier must be one of 'host', 'disk'/);
  await expectReject(loose(m).promote(onGpu, 8) as Promise<unknown>, 'E_INVALID_ARGUMENT', /gpu/);
  await expectReject(loose(m).promote(onGpu, '1') as Promise<unknown>, 'E_INVALID_ARGUMENT', /gpu/);
  await expectReject(loose(m).promote(99, 8) as Promise<unknown>, 'E_UNKNOWN_SEQUENCE');
  await expectReject(loose(m).promote(99, -1) as Promise<unknown>, 'E_INVALID_ARGUMENT', /gpu/);
  const location: Location = { tier: 'device', index: 0 };
  expectCode(() => loose(m).estimateTransfer(location, location, 1), 'E_INVALID_ARGUMENT', /differ/);
  expectCode(() => loose(m).estimateTransfer(location, { tier: 'host', index: 0 }, '1'), 'E_INVALID_ARGUMENT', /bytes/);
});

test('drainEvents checks maxEvents', async () => {
  const { m, maxId } = await fixture();
  for (const bad of [-1, 1.5, '2', NaN, Infinity, null]) {
    expectNoChange(m, maxId, () => loose(m).drainEvents(bad), 'E_INVALID_ARGUMENT');
  }
  assert.ok(m.drainEvents(1).length === 1);
});

test('after close() every call is E_CLOSED; close() itself is idempotent', async () => {
  const m = new ReferenceKvManager(testConfig({ dataMode: 'bytes' }));
  const { seqId } = m.allocate({ gpu: 0, numTokens: 4 });
  m.close();
  const h = chain(1);
  const sync: Array<() => unknown> = [
    () => m.topology(),
    () => m.backendInfo(),
    () => m.allocate({ gpu: 0, numTokens: 4 }),
    () => m.allocate(null as unknown as AllocateRequest),
    () => m.append(seqId, 1),
    () => m.free(seqId),
    () => m.sequenceInfo(seqId),
    () => m.blockTable(seqId),
    () => m.matchPrefix(h),
    () => m.matchPrefixOnGpu(0, h),
    () => m.pin(0, h),
    () => m.unpin(0, h),
    () => m.estimateTransfer({ tier: 'device', index: 0 }, { tier: 'device', index: 1 }, 1),
    () => m.write(seqId, 0, new Uint8Array(16)),
    () => m.read(seqId, 0, 1),
    () => m.drainEvents(),
    () => m.snapshot(),
    () => m.stats(),
  ];
  for (const call of sync) expectCode(call, 'E_CLOSED');
  await expectReject(m.transfer(seqId, { tier: 'device', index: 1 }), 'E_CLOSED');
  await expectReject(m.demote(seqId), 'E_CLOSED');
  await expectReject(m.promote(seqId), 'E_CLOSED');
  assert.equal(m.numGpus, 8, 'the shape stays readable');
  m.close();
});
