// KV summaries: checkpoint depths, the wire form, lookups, and validation against a real KV index (evicted prefixes
// leave the summary once their grace has passed).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { KvIndex } from '../../core/kvindex/index.js';
import { promptBlockHashes } from '../hashing.js';
import { checkpointDepths, CHECKPOINTS, decodeSummary, encodeSummary, summaryDepth, SummaryTracker } from './summary.js';

const ids = (n: number, base: number): number[] => Array.from({ length: n }, (_, i) => base + i);

test('checkpoints are powers of two and 1.5× them; any depth has one within 2/3 of it', () => {
  assert.deepEqual(checkpointDepths(20), [1, 2, 3, 4, 6, 8, 12, 16]);
  for (let d = 1; d <= 5000; d++) {
    const below = CHECKPOINTS.filter((c) => c <= d).pop() as number;
    assert.ok(below >= (2 / 3) * d, `depth ${d}: best checkpoint ${below}`);
  }
});

test('a summary survives the wire and answers the deepest held checkpoint with its instance', () => {
  const hashes = promptBlockHashes(ids(16 * 40, 7), 16);
  const held = [hashes[0], hashes[1], hashes[2], hashes[3], hashes[5], hashes[7], hashes[11], hashes[15], hashes[23], hashes[31]] as bigint[];
  const wire = encodeSummary(held, held.map((_, i) => i % 3));
  const back = decodeSummary(wire);
  assert.ok(back);
  assert.equal(back.size, held.length);
  assert.deepEqual(summaryDepth(back, hashes), { blocks: 32, instance: 9 % 3 });
  // Another conversation with the same first 5 blocks: depth 4 is the deepest checkpoint it shares.
  const other = promptBlockHashes([...ids(16 * 5, 7), ...ids(16 * 20, 90_000)], 16);
  assert.equal(summaryDepth(back, other).blocks, 4);
  assert.equal(summaryDepth(back, promptBlockHashes(ids(64, 1), 16)).blocks, 0);
  assert.equal(decodeSummary(wire.subarray(0, wire.length - 1)), null, 'a truncated blob is refused');
});

test('the tracker publishes what the index holds and forgets what it lost after the grace', () => {
  let nowMs = 1_000;
  const index = new KvIndex();
  index.registerInstance('i0', 'rack0', [{ workerId: 'w0', gpus: [0] }]);
  index.registerInstance('i1', 'rack0', [{ workerId: 'w0', gpus: [1] }]);
  const tracker = new SummaryTracker({ kvIndex: index, instances: ['i0', 'i1'], maxHashes: 1000, pendingGraceMs: 500, checksPerRefresh: 100, nowMs: () => nowMs });
  const hashes = promptBlockHashes(ids(16 * 8, 3), 16);
  tracker.note(hashes, 'i0');
  assert.equal(tracker.size, 6, 'checkpoints 1, 2, 3, 4, 6, 8 of an 8-block prompt');
  tracker.refresh();
  assert.equal(tracker.build().hashes.length, 0, 'nothing published before the KV index holds it');
  // The worker reports the blocks on GPU 1 (instance i1): the summary names the instance that holds them.
  index.applyEvents('w0', hashes.map((h, i) => ({ eventId: i + 1, kind: 'stored' as const, location: { tier: 'device' as const, index: 1 }, hash: h, parentHash: i > 0 ? (hashes[i - 1] as bigint) : 0n })));
  assert.equal(tracker.refresh().changed, true);
  const some = tracker.build();
  assert.deepEqual(new Set(some.hashes), new Set([1, 2, 3, 4, 6, 8].map((d) => hashes[d - 1])));
  assert.ok(some.instances.every((i) => i === 1));
  assert.equal(tracker.refresh().changed, false, 'same set: nothing to publish');
  index.applyEvents('w0', [{ eventId: 9, kind: 'removed', location: { tier: 'device', index: 1 }, hash: hashes[7] as bigint }]);
  nowMs += 400;
  assert.equal(tracker.refresh().changed, true);
  assert.equal(tracker.build().hashes.length, 5, 'the evicted checkpoint leaves the summary');
  assert.equal(tracker.size, 6, 'but stays tracked during the grace');
  nowMs += 200;
  tracker.refresh();
  assert.equal(tracker.size, 5, 'and is forgotten after it');
});

test('checks per refresh are bounded: new checkpoints first, then a round over the rest', () => {
  const index = new KvIndex();
  index.registerInstance('i0', 'rack0', [{ workerId: 'w0', gpus: [0] }]);
  const tracker = new SummaryTracker({ kvIndex: index, instances: ['i0'], maxHashes: 100, pendingGraceMs: 60_000, checksPerRefresh: 4, nowMs: () => 0 });
  const prompts = [0, 1, 2].map((k) => promptBlockHashes(ids(16 * 8, k * 10_000), 16));
  let id = 0;
  for (const hs of prompts) {
    index.applyEvents('w0', hs.map((h, i) => ({ eventId: ++id, kind: 'stored' as const, location: { tier: 'device' as const, index: 0 }, hash: h, parentHash: i > 0 ? (hs[i - 1] as bigint) : 0n })));
    tracker.note(hs, 'i0');
  }
  assert.equal(tracker.size, 18);
  tracker.refresh();
  assert.equal(tracker.published, 4, 'four checks');
  for (let r = 0; r < 4; r++) tracker.refresh();
  assert.equal(tracker.published, 18, 'all held after enough refreshes');
  assert.equal(tracker.build().hashes.length, 18);
});
