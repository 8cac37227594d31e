import assert from 'node:assert/strict';
import { test } from 'node:test';
import { packEvents } from '../../kv/event_batch.js';
import type { KvSnapshot } from '../../kv/types.js';
import type { InstanceView, PrefixHit } from '../types.js';
import { KvIndex } from './kv_index.js';
import { PrefixLookup } from './prefix_lookup.js';
import { chain, WorkerEventLog } from './testing.js';

// Two NVLink domains: d0 has trays w0 and w1, d1 has tray w2. Instances: a = w0 GPU 0, b = w0 GPU 1,
// c = w1 GPUs 0-1 (TP2), span = w0 GPU 3 + w1 GPU 3 (across trays), x = w2 GPU 0 (other domain).
function setup(): { index: KvIndex; logs: Record<string, WorkerEventLog> } {
  const index = new KvIndex();
  index.registerInstance('a', 'd0', [{ workerId: 'w0', gpus: [0] }]);
  index.registerInstance('b', 'd0', [{ workerId: 'w0', gpus: [1] }]);
  index.registerInstance('c', 'd0', [{ workerId: 'w1', gpus: [0, 1] }]);
  index.registerInstance('span', 'd0', [{ workerId: 'w0', gpus: [3] }, { workerId: 'w1', gpus: [3] }]);
  index.registerInstance('x', 'd1', [{ workerId: 'w2', gpus: [0] }]);
  return { index, logs: { w0: new WorkerEventLog('w0'), w1: new WorkerEventLog('w1'), w2: new WorkerEventLog('w2') } };
}

const H = chain(1, 10);
type Hit = [device: number, host: number, neighbour: number, neighbourId?: string];

function hitOf(index: KvIndex, id: string, hashes: readonly bigint[] = H): Hit {
  const h = index.prefixHit(hashes, id);
  return h.neighbourInstanceId === undefined ? [h.deviceBlocks, h.hostBlocks, h.neighbourBlocks] : [h.deviceBlocks, h.hostBlocks, h.neighbourBlocks, h.neighbourInstanceId];
}

type Step = [worker: 'w0' | 'w1' | 'w2', op: 'stored' | 'removed', tier: 'device' | 'host', index: number, from: number, to: number];

const TIER_CASES: Array<{ name: string; steps: Step[]; want: Record<string, Hit> }> = [
  { name: 'nothing cached', steps: [], want: { a: [0, 0, 0], c: [0, 0, 0], x: [0, 0, 0] } },
  {
    name: 'device prefix on a; others see it as a neighbour only inside d0',
    steps: [['w0', 'stored', 'device', 0, 0, 4]],
    want: { a: [4, 0, 0], b: [0, 0, 4, 'a'], c: [0, 0, 4, 'a'], x: [0, 0, 0] },
  },
  {
    name: 'device then host (Grace of the same tray) then neighbour',
    steps: [['w0', 'stored', 'device', 0, 0, 4], ['w0', 'stored', 'host', 0, 0, 7], ['w1', 'stored', 'device', 0, 0, 10]],
    want: { a: [4, 3, 3, 'c'], b: [0, 7, 3, 'c'], c: [10, 0, 0], span: [0, 7, 3, 'c'], x: [0, 0, 0] },
  },
  {
    name: 'host of another tray does not count; its device does (as neighbour)',
    steps: [['w1', 'stored', 'host', 0, 0, 6]],
    want: { a: [0, 0, 0], c: [0, 6, 0], span: [0, 6, 0] },
  },
  {
    name: 'an instance across two trays uses the union of both Grace tiers',
    steps: [['w0', 'stored', 'host', 0, 0, 3], ['w1', 'stored', 'host', 0, 2, 8]],
    want: { span: [0, 8, 0], a: [0, 3, 0], c: [0, 0, 0] },
  },
  {
    name: 'TP2: a block on either GPU of c counts; removing it from one GPU keeps it',
    steps: [['w1', 'stored', 'device', 0, 0, 5], ['w1', 'stored', 'device', 1, 0, 5], ['w1', 'removed', 'device', 0, 0, 5]],
    want: { c: [5, 0, 0], a: [0, 0, 5, 'c'] },
  },
  {
    name: 'removed blocks stop the run where they were removed',
    steps: [['w0', 'stored', 'device', 0, 0, 8], ['w0', 'removed', 'device', 0, 5, 6]],
    want: { a: [5, 0, 0], b: [0, 0, 5, 'a'] },
  },
  {
    name: 'contiguity: blocks without their parent do not count',
    steps: [['w0', 'stored', 'device', 0, 2, 8]],
    want: { a: [0, 0, 0], b: [0, 0, 0] },
  },
  {
    name: 'best neighbour is the one reaching furthest; the instance itself is never its own neighbour',
    steps: [['w0', 'stored', 'device', 0, 0, 3], ['w0', 'stored', 'device', 1, 0, 6], ['w1', 'stored', 'device', 0, 0, 9]],
    want: { a: [3, 0, 6, 'c'], b: [6, 0, 3, 'c'], c: [9, 0, 0], span: [0, 0, 9, 'c'] },
  },
  {
    name: 'neighbour from another domain never counts',
    steps: [['w2', 'stored', 'device', 0, 0, 10]],
    want: { a: [0, 0, 0], x: [10, 0, 0] },
  },
  {
    name: 'disk tier and unowned GPUs are ignored',
    steps: [['w0', 'stored', 'device', 2, 0, 10]],
    want: { a: [0, 0, 0], b: [0, 0, 0] },
  },
];

for (const tc of TIER_CASES) {
  test(`KvIndex tiers: ${tc.name}`, () => {
    const { index, logs } = setup();
    for (const [worker, op, tier, idx, from, to] of tc.steps) {
      const log = logs[worker] as WorkerEventLog;
      const events = op === 'stored' ? log.stored(tier, idx, H.slice(0, to), from) : log.removed(tier, idx, H.slice(from, to));
      const r = index.applyEvents(worker, events);
      assert.equal(r.resyncNeeded, false);
      assert.equal(r.applied, events.length);
    }
    for (const [id, want] of Object.entries(tc.want)) assert.deepEqual(hitOf(index, id), want, id);
  });
}

test('KvIndex: prefixHits answers all candidates in one call, same as one by one; unknown ids get zeros', () => {
  const { index, logs } = setup();
  index.applyEvents('w0', [...(logs.w0 as WorkerEventLog).stored('device', 0, H.slice(0, 4)), ...(logs.w0 as WorkerEventLog).stored('host', 0, H.slice(0, 6))]);
  index.applyEvents('w1', (logs.w1 as WorkerEventLog).stored('device', 1, H.slice(0, 9)));
  const ids = ['x', 'a', 'nope', 'c', 'b', 'span'];
  const out = { deviceBlocks: new Int32Array(8), hostBlocks: new Int32Array(8), neighbourBlocks: new Int32Array(8), neighbourSlot: new Int32Array(8) };
  index.prefixHits(H, ids, out);
  ids.forEach((id, c) => {
    const one = index.prefixHit(H, id);
    assert.deepEqual([out.deviceBlocks[c], out.hostBlocks[c], out.neighbourBlocks[c], index.instanceIdAt(out.neighbourSlot[c] as number)],
      [one.deviceBlocks, one.hostBlocks, one.neighbourBlocks, one.neighbourInstanceId], id);
  });
  assert.deepEqual(hitOf(index, 'nope'), [0, 0, 0]);
  assert.deepEqual(hitOf(index, 'a', []), [0, 0, 0], 'empty prompt');
});

test('KvIndex: a gap marks the worker stale, drops its hits, asks for a snapshot; the snapshot restores them', () => {
  const { index, logs } = setup();
  const w0 = logs.w0 as WorkerEventLog;
  index.applyEvents('w0', w0.stored('device', 0, H.slice(0, 6)));
  index.applyEvents('w1', (logs.w1 as WorkerEventLog).stored('device', 0, H.slice(0, 2)));
  assert.deepEqual(hitOf(index, 'a'), [6, 0, 0]);
  w0.skip(3); // events 7..9 lost
  const gap = index.applyEvents('w0', w0.stored('device', 0, H.slice(0, 8), 6)); // ids 10, 11
  assert.deepEqual(gap, { applied: 0, skipped: 0, resyncNeeded: true });
  assert.deepEqual(index.needsResync(), ['w0']);
  assert.equal(index.isStale('w0'), true);
  assert.deepEqual(hitOf(index, 'a'), [0, 0, 2, 'c'], 'stale worker contributes nothing; w1 still does');
  // Events keep arriving while the snapshot is on its way: buffered.
  const later = index.applyEvents('w0', w0.removed('device', 0, [H[7] as bigint])); // id 12
  assert.equal(later.resyncNeeded, true);
  // The snapshot was taken after event 10: it holds H[0..7) (event 10 stored H[6]); 11 and 12 apply on top.
  const snapshot: KvSnapshot = { lastEventId: 10, locations: [{ location: { tier: 'device', index: 0 }, hashes: new BigUint64Array(H.slice(0, 7)) }] };
  const replay = index.applySnapshot('w0', snapshot);
  assert.deepEqual(replay, { applied: 2, skipped: 1, resyncNeeded: false });
  assert.deepEqual(index.needsResync(), []);
  assert.equal(index.lastEventId('w0'), 12);
  assert.deepEqual(hitOf(index, 'a'), [7, 0, 0], 'H[7] stored by 11, removed by 12');
  // Old events (ids ≤ 12) arriving late are ignored.
  const stale = index.applyBatch('w0', packEvents([{ eventId: 9, kind: 'removed', location: { tier: 'device', index: 0 }, hash: H[0] as bigint }]));
  assert.deepEqual(stale, { applied: 0, skipped: 1, resyncNeeded: false });
  assert.deepEqual(hitOf(index, 'a'), [7, 0, 0]);
});

test('KvIndex: a worker first heard of mid-log is stale until its snapshot (first eventId must be 1)', () => {
  const index = new KvIndex();
  index.registerInstance('a', 'd0', [{ workerId: 'w0', gpus: [0] }]);
  const log = new WorkerEventLog('w0');
  log.skip(41);
  assert.equal(index.applyEvents('w0', log.stored('device', 0, H.slice(0, 3))).resyncNeeded, true);
  assert.deepEqual(hitOf(index, 'a'), [0, 0, 0]);
  index.applySnapshot('w0', { lastEventId: 44, locations: [{ location: { tier: 'device', index: 0 }, hashes: new BigUint64Array(H.slice(0, 3)) }] });
  assert.deepEqual(hitOf(index, 'a'), [3, 0, 0]);
  assert.equal(index.applyEvents('w0', log.stored('device', 0, H.slice(0, 4), 3)).applied, 1);
  assert.deepEqual(hitOf(index, 'a'), [4, 0, 0]);
});

test('KvIndex: a gap inside a batch applies the events before it, then goes stale', () => {
  const index = new KvIndex();
  index.registerInstance('a', 'd0', [{ workerId: 'w0', gpus: [0] }]);
  const events = new WorkerEventLog('w0').stored('device', 0, H.slice(0, 5));
  (events[3] as { eventId: number }).eventId = 9;
  (events[4] as { eventId: number }).eventId = 10;
  assert.deepEqual(index.applyEvents('w0', events), { applied: 3, skipped: 0, resyncNeeded: true });
  index.applySnapshot('w0', { lastEventId: 8, locations: [{ location: { tier: 'device', index: 0 }, hashes: new BigUint64Array(H.slice(0, 3)) }] });
  assert.deepEqual(hitOf(index, 'a'), [5, 0, 0], 'buffered events 9 and 10 replayed on top of the snapshot');
});

test('KvIndex: replay after a snapshot that is too old finds the gap again', () => {
  const index = new KvIndex();
  index.registerInstance('a', 'd0', [{ workerId: 'w0', gpus: [0] }]);
  const log = new WorkerEventLog('w0');
  log.skip(5);
  index.applyEvents('w0', log.stored('device', 0, H.slice(0, 2))); // ids 6, 7 buffered
  const r = index.applySnapshot('w0', { lastEventId: 3, locations: [] });
  assert.equal(r.resyncNeeded, true);
  assert.deepEqual(index.needsResync(), ['w0']);
});

test('KvIndex: moved events change nothing but advance the log; markStale and resetWorker', () => {
  const { index, logs } = setup();
  const w0 = logs.w0 as WorkerEventLog;
  index.applyEvents('w0', w0.stored('device', 0, H.slice(0, 4)));
  // A demotion: stored events at the destination, then one moved event (native/SPEC.md §6).
  const r = index.applyEvents('w0', [...w0.stored('host', 0, H.slice(0, 4)), ...w0.moved({ tier: 'device', index: 0 }, { tier: 'host', index: 0 }, 4)]);
  assert.deepEqual(r, { applied: 5, skipped: 0, resyncNeeded: false });
  assert.equal(index.lastEventId('w0'), 9);
  assert.deepEqual(hitOf(index, 'a'), [4, 0, 0], 'source blocks stay cached until removed');
  assert.deepEqual(hitOf(index, 'b'), [0, 4, 0]);
  index.markStale('w0');
  assert.deepEqual(hitOf(index, 'b'), [0, 0, 0]);
  assert.deepEqual(index.needsResync(), ['w0']);
  index.resetWorker('w0');
  assert.deepEqual(index.needsResync(), []);
  assert.equal(index.applyEvents('w0', new WorkerEventLog('w0').stored('device', 1, H.slice(0, 2))).applied, 2);
  assert.deepEqual(hitOf(index, 'b'), [2, 0, 0]);
});

test('KvIndex: registering after events picks the blocks up; unregistering drops them; duplicates are no-ops', () => {
  const index = new KvIndex();
  const log = new WorkerEventLog('w0');
  index.applyEvents('w0', [...log.stored('device', 2, H.slice(0, 5)), ...log.stored('device', 2, H.slice(0, 5))]);
  assert.deepEqual(hitOf(index, 'late'), [0, 0, 0]);
  index.registerInstance('late', 'd0', [{ workerId: 'w0', gpus: [2] }]);
  assert.deepEqual(hitOf(index, 'late'), [5, 0, 0]);
  index.applyEvents('w0', log.removed('device', 2, H.slice(4, 5)));
  assert.deepEqual(hitOf(index, 'late'), [4, 0, 0], 'one removal undoes a store reported twice');
  assert.equal(index.unregisterInstance('late'), true);
  assert.equal(index.unregisterInstance('late'), false);
  assert.deepEqual(hitOf(index, 'late'), [0, 0, 0]);
  assert.equal(index.stats().indexedHashes, 0);
  index.registerInstance('again', 'd0', [{ workerId: 'w0', gpus: [2] }]);
  assert.deepEqual(hitOf(index, 'again'), [4, 0, 0]);
  assert.equal(index.stats().instances, 1);
});

test('KvIndex: bad registrations name the field', () => {
  const index = new KvIndex();
  index.registerInstance('a', 'd0', [{ workerId: 'w0', gpus: [0] }]);
  const cases: Array<[() => void, RegExp]> = [
    [() => index.registerInstance('', 'd0', [{ workerId: 'w0', gpus: [1] }]), /instanceId must be a non-empty string/],
    [() => index.registerInstance('b', '', [{ workerId: 'w0', gpus: [1] }]), /domainId must be a non-empty string/],
    [() => index.registerInstance('b', 'd0', []), /members must be a non-empty array/],
    [() => index.registerInstance('b', 'd0', [{ workerId: 'w0', gpus: [-1] }]), /members\[0\]\.gpus\[0\] must be an integer ≥ 0, got -1/],
    [() => index.registerInstance('b', 'd0', [{ workerId: 'w0', gpus: [1] }, { workerId: 'w0', gpus: [1] }]), /members\[1\]\.gpus\[0\]: GPU 1 of worker w0 is listed twice/],
    [() => index.registerInstance('b', 'd0', [{ workerId: 'w0', gpus: [0] }]), /GPU 0 of worker w0 already belongs to instance a/],
    [() => index.registerInstance('b', 'd0', [{ workerId: '', gpus: [0] }]), /members\[0\]\.workerId must be a non-empty string/],
  ];
  for (const [fn, message] of cases) assert.throws(fn, message);
  index.registerInstance('a', 'd1', [{ workerId: 'w0', gpus: [0, 1] }]);
  assert.equal(index.stats().instances, 1, 're-registering the same instance replaces it');
});

test('KvIndex: a batch with an unknown event kind is refused with the column named', () => {
  const index = new KvIndex();
  const batch = packEvents(new WorkerEventLog('w0').stored('device', 0, H.slice(0, 1)));
  batch.kinds[0] = 7;
  assert.throws(() => index.applyBatch('w0', batch), /kinds\[0\] must be 0 \(stored\), 1 \(removed\) or 2 \(moved\), got 7/);
});

test('PrefixLookup: one walk, O(1) reads by identity (also over a filtered subsequence), fallback by id', () => {
  const { index, logs } = setup();
  index.applyEvents('w0', (logs.w0 as WorkerEventLog).stored('device', 0, H.slice(0, 4)));
  const view = (instanceId: string): InstanceView => ({ instanceId } as InstanceView);
  const cands = ['a', 'b', 'c', 'x'].map(view);
  const lookup = new PrefixLookup(index).prepare(H, cands);
  const pick = (h: PrefixHit): Hit => [h.deviceBlocks, h.hostBlocks, h.neighbourBlocks, ...(h.neighbourInstanceId ? [h.neighbourInstanceId] : [])] as Hit;
  for (let pass = 0; pass < 2; pass++) {
    assert.deepEqual(cands.map((c) => pick(lookup.prefix(c))), [[4, 0, 0], [0, 0, 4, 'a'], [0, 0, 4, 'a'], [0, 0, 0]]);
  }
  assert.deepEqual([cands[3], cands[1]].map((c) => pick(lookup.prefix(c as InstanceView))), [[0, 0, 0], [0, 0, 4, 'a']]);
  assert.deepEqual(pick(lookup.prefix(view('a'))), [4, 0, 0], 'a different object with a known id');
});

test('PrefixLookup: cached slots follow registration changes and growing candidate lists', () => {
  const { index, logs } = setup();
  index.applyEvents('w0', (logs.w0 as WorkerEventLog).stored('device', 0, H.slice(0, 4)));
  const views = ['a', 'b'].map((instanceId) => ({ instanceId } as InstanceView));
  const lookup = new PrefixLookup(index);
  assert.equal(lookup.prepare(H, views).prefix(views[0] as InstanceView).deviceBlocks, 4);
  index.unregisterInstance('a');
  assert.equal(lookup.prepare(H, views).prefix(views[0] as InstanceView).deviceBlocks, 0, 'a is gone');
  index.registerInstance('a', 'd0', [{ workerId: 'w0', gpus: [0] }]);
  const many = [...views, ...Array.from({ length: 200 }, (_, i) => ({ instanceId: `n${i}` } as InstanceView))];
  assert.equal(lookup.prepare(H, many).prefix(many[0] as InstanceView).deviceBlocks, 4, 'a is back; list grew past the buffer');
  assert.equal(lookup.prepare(H, many).prefix(many[1] as InstanceView).neighbourBlocks, 4);
});
