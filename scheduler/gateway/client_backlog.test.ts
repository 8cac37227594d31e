// MessageBacklog: the bytes of the last `writableLength` messages written, as grpc-js flushes them in order.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Rng } from '../util/random.js';
import { MessageBacklog } from './client_backlog.js';

test('the bytes still queued are those of the newest queued messages', () => {
  const b = new MessageBacklog();
  assert.equal(b.wrote(10, 1), 10, 'one in flight');
  assert.equal(b.wrote(20, 2), 30);
  assert.equal(b.wrote(30, 3), 60);
  assert.equal(b.wrote(40, 2), 70, 'the 10 and the 20 were flushed');
  assert.equal(b.wrote(50, 1), 50, 'all before it flushed');
  assert.equal(b.wrote(60, 0), 0, 'even this one');
  assert.equal(b.wrote(5, 2), 5, 'after a reset only what was written since counts');
});

test('against a model of the queue: seeded writes and flushes, long enough to compact', () => {
  const rng = new Rng(7);
  const b = new MessageBacklog();
  const queue: number[] = [];
  for (let i = 0; i < 20_000; i++) {
    const size = 1 + rng.int(200);
    queue.push(size);
    // The transport flushes some of the oldest (more when the "client" reads, none when it stalls).
    const flushed = rng.int(10) < 3 ? rng.int(queue.length + 1) : 0;
    queue.splice(0, flushed);
    assert.equal(b.wrote(size, queue.length), queue.reduce((n, s) => n + s, 0), `write ${i}`);
  }
});
