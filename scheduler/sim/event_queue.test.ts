import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Rng } from '../util/random.js';
import { EventQueue } from './event_queue.js';

test('events pop in time order, ties in insertion order', () => {
  const q = new EventQueue();
  const pushes: Array<[number, number]> = [[5, 0], [1, 1], [5, 2], [0, 3], [1, 4], [5, 5]];
  for (const [t, p] of pushes) q.push(t, p);
  const out: number[] = [];
  while (q.size > 0) out.push(q.pop());
  assert.deepEqual(out, [3, 1, 4, 0, 2, 5]);
  assert.equal(q.pop(), -1, 'empty queue pops -1');
  assert.equal(q.peekTime(), Infinity);
});

test('matches a sorted reference under random interleaved pushes and pops (and grows past its first capacity)', () => {
  const rng = new Rng(7);
  const q = new EventQueue();
  const ref: Array<{ t: number; order: number; p: number }> = [];
  let order = 0;
  for (let i = 0; i < 20_000; i++) {
    if (rng.next() < 0.6 || ref.length === 0) {
      const t = rng.int(500) / 4; // many exact ties
      q.push(t, i);
      ref.push({ t, order: order++, p: i });
    } else {
      ref.sort((a, b) => a.t - b.t || a.order - b.order);
      const want = ref.shift() as { t: number; p: number };
      assert.equal(q.peekTime(), want.t);
      assert.equal(q.peekPayload(), want.p);
      assert.equal(q.pop(), want.p);
    }
  }
  assert.equal(q.size, ref.length);
});

test('refuses times that are not finite and ≥ 0', () => {
  const q = new EventQueue();
  for (const bad of [-1, Number.NaN, Infinity]) assert.throws(() => q.push(bad, 0), /event time must be a finite number ≥ 0/);
  assert.equal(q.size, 0);
});
