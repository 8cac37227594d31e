import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../util/random.js';
import { HolderTable } from './holder_table.js';
import { U64Map } from './u64_map.js';

test('U64Map agrees with Map<bigint, number> under random inserts, overwrites and deletes', () => {
  const rng = new Rng(7);
  const map = new U64Map(4);
  const oracle = new Map<bigint, number>();
  // A small key space forces collisions, overwrites and deletes of present keys; edge keys included.
  const keys = [0n, 1n, (1n << 64n) - 1n, 1n << 32n, (1n << 32n) - 1n];
  for (let i = 0; i < 300; i++) keys.push(rng.u64());
  for (let step = 0; step < 20_000; step++) {
    const key = keys[rng.int(keys.length)] as bigint;
    const op = rng.int(3);
    if (op === 0) {
      map.set(key, step);
      oracle.set(key, step);
    } else if (op === 1) {
      assert.equal(map.delete(key), oracle.delete(key));
    } else {
      assert.equal(map.get(key, -7), oracle.get(key) ?? -7);
    }
    assert.equal(map.size, oracle.size);
  }
  const seen = new Map<bigint, number>();
  map.forEachSlot((slot) => seen.set(map.keyAt(slot), map.valueAt(slot)));
  assert.deepEqual([...seen.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)), [...oracle.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)));
});

test('U64Map: clear empties, keys distinct in high and low halves do not collide', () => {
  const map = new U64Map();
  map.set(1n, 10);
  map.set(1n << 32n, 20);
  assert.equal(map.get(1n), 10);
  assert.equal(map.get(1n << 32n), 20);
  assert.equal(map.get((1n << 32n) | 1n), -1);
  map.clear();
  assert.equal(map.size, 0);
  assert.equal(map.has(1n), false);
});

test('HolderTable: counts per (hash, holder); a pair disappears at zero, a hash with its last holder', () => {
  const table = new HolderTable();
  assert.equal(table.add(5n, 1, 1), 1);
  assert.equal(table.add(5n, 1, 1), 2);
  assert.equal(table.add(5n, -3, 1), 1);
  assert.equal(table.size, 1);
  assert.equal(table.add(5n, 1, -2), 0);
  assert.equal(table.get(5n, 1), undefined);
  assert.equal(table.get(5n, -3), 1);
  assert.equal(table.add(9n, 2, -1), 0, 'removing an absent pair creates nothing');
  assert.equal(table.size, 1);
  assert.equal(table.remove(5n, -3), true);
  assert.equal(table.remove(5n, -3), false);
  assert.equal(table.size, 0);
  assert.equal(table.list(5n), -1);
  assert.equal(table.set(6n, 4, 2), true);
  assert.equal(table.set(6n, 4, 3), false);
  const rows: Array<[bigint, number, number]> = [];
  table.forEach((h, holder, v) => rows.push([h, holder, v]));
  assert.deepEqual(rows, [[6n, 4, 3]]);
});

test('HolderTable: lists grow and shrink through size classes and agree with a Map of Maps', () => {
  const rng = new Rng(3);
  const table = new HolderTable();
  const oracle = new Map<bigint, Map<number, number>>();
  const hashes = Array.from({ length: 40 }, (_, i) => BigInt(i * 7919 + 1));
  for (let step = 0; step < 20_000; step++) {
    const hash = hashes[rng.int(hashes.length)] as bigint;
    const holder = rng.int(100) - 20; // negative holders too (hosts in the index)
    const delta = rng.int(3) === 0 ? -1 : 1;
    const m = oracle.get(hash) ?? new Map<number, number>();
    const next = (m.get(holder) ?? 0) + delta;
    if (next <= 0) m.delete(holder);
    else m.set(holder, next);
    if (m.size === 0) oracle.delete(hash);
    else oracle.set(hash, m);
    assert.equal(table.add(hash, holder, delta), Math.max(next, 0));
  }
  assert.equal(table.size, oracle.size);
  for (const hash of hashes) {
    const list = table.list(hash);
    const got = new Map<number, number>();
    for (let i = 0; list >= 0 && i < table.countOf(list); i++) got.set(table.holderAt(list, i), table.valueAt(list, i));
    assert.deepEqual([...got].sort((a, b) => a[0] - b[0]), [...(oracle.get(hash) ?? new Map())].sort((a, b) => a[0] - b[0]));
  }
  const out = new Int32Array(hashes.length);
  table.lists(hashes, 0, hashes.length, out);
  hashes.forEach((h, i) => assert.equal(out[i], table.list(h)));
});
