// The one-walk-for-all-candidates answer against the definition, applied literally per instance, on random
// topologies and random store/remove histories (holes included, so contiguity matters).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../util/random.js';
import { KvIndex } from './kv_index.js';
import { makePrefixColumns } from './prefix_walk.js';
import { chain, WorkerEventLog } from './testing.js';

interface Inst { id: string; domain: string; members: Array<{ workerId: string; gpus: number[] }> }

function oracle(hashes: bigint[], inst: Inst, all: Inst[], device: Map<string, Set<bigint>>, host: Map<string, Set<bigint>>) {
  const devOf = (i: Inst) => (h: bigint) => i.members.some((m) => m.gpus.some((g) => device.get(`${m.workerId}/${g}`)?.has(h)));
  const onDev = devOf(inst);
  const onHost = (h: bigint) => inst.members.some((m) => host.get(m.workerId)?.has(h));
  let pos = 0;
  while (pos < hashes.length && onDev(hashes[pos] as bigint)) pos++;
  const deviceBlocks = pos;
  while (pos < hashes.length && onHost(hashes[pos] as bigint)) pos++;
  const hostBlocks = pos - deviceBlocks;
  let best = 0;
  const bestIds: string[] = [];
  for (const other of all) {
    if (other === inst || other.domain !== inst.domain) continue;
    const has = devOf(other);
    let k = 0;
    while (pos + k < hashes.length && has(hashes[pos + k] as bigint)) k++;
    if (k > best) { best = k; bestIds.length = 0; }
    if (k === best && k > 0) bestIds.push(other.id);
  }
  return { deviceBlocks, hostBlocks, neighbourBlocks: best, bestIds };
}

test('prefix walk equals the per-instance definition on 40 random clusters', () => {
  for (let seed = 1; seed <= 40; seed++) {
    const rng = new Rng(seed);
    const index = new KvIndex();
    const numWorkers = 2 + rng.int(4);
    const gpusPerWorker = 4;
    const insts: Inst[] = [];
    const free: Array<[string, number]> = [];
    for (let w = 0; w < numWorkers; w++) for (let g = 0; g < gpusPerWorker; g++) free.push([`w${w}`, g]);
    while (free.length > 0) {
      const size = Math.min(free.length, 1 + rng.int(3));
      const members = new Map<string, number[]>();
      for (let k = 0; k < size; k++) {
        const [w, g] = free.splice(rng.int(free.length), 1)[0] as [string, number];
        members.set(w, [...(members.get(w) ?? []), g]);
      }
      const inst: Inst = { id: `i${insts.length}`, domain: `d${rng.int(2)}`, members: [...members].map(([workerId, gpus]) => ({ workerId, gpus })) };
      insts.push(inst);
      index.registerInstance(inst.id, inst.domain, inst.members);
    }
    const logs = Array.from({ length: numWorkers }, (_, w) => new WorkerEventLog(`w${w}`));
    const device = new Map<string, Set<bigint>>();
    const host = new Map<string, Set<bigint>>();
    const chains = Array.from({ length: 4 }, (_, k) => chain(k + 1, 24));
    for (let step = 0; step < 120; step++) {
      const w = rng.int(numWorkers);
      const c = chains[rng.int(chains.length)] as bigint[];
      const from = rng.int(8);
      const to = from + 1 + rng.int(16);
      const onHost = rng.int(4) === 0;
      const g = rng.int(gpusPerWorker);
      const key = onHost ? `w${w}` : `w${w}/${g}`;
      const sets = onHost ? host : device;
      const set = sets.get(key) ?? new Set<bigint>();
      sets.set(key, set);
      const slice = c.slice(from, to);
      const log = logs[w] as WorkerEventLog;
      if (rng.int(3) === 0) {
        index.applyEvents(`w${w}`, log.removed(onHost ? 'host' : 'device', onHost ? 0 : g, slice));
        for (const h of slice) set.delete(h);
      } else {
        index.applyEvents(`w${w}`, log.stored(onHost ? 'host' : 'device', onHost ? 0 : g, c.slice(0, to), from));
        for (const h of slice) set.add(h);
      }
    }
    const out = makePrefixColumns(insts.length);
    for (let q = 0; q < 20; q++) {
      const base = chains[rng.int(chains.length)] as bigint[];
      const hashes = base.slice(0, 1 + rng.int(base.length));
      index.prefixHits(hashes, insts.map((i) => i.id), out);
      insts.forEach((inst, c) => {
        const want = oracle(hashes, inst, insts, device, host);
        const got = { deviceBlocks: out.deviceBlocks[c], hostBlocks: out.hostBlocks[c], neighbourBlocks: out.neighbourBlocks[c] };
        assert.deepEqual(got, { deviceBlocks: want.deviceBlocks, hostBlocks: want.hostBlocks, neighbourBlocks: want.neighbourBlocks }, `seed ${seed} query ${q} ${inst.id}`);
        const neighbour = index.instanceIdAt(out.neighbourSlot[c] as number);
        if (want.neighbourBlocks === 0) assert.equal(neighbour, undefined);
        else assert.ok(want.bestIds.includes(neighbour as string), `seed ${seed}: neighbour ${neighbour} not among ${want.bestIds}`);
      });
    }
  }
});
