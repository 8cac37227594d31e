import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { RequestRecord, Workload, WorkloadRequest } from '../workload/types.js';
import { buildCluster, readClusterConfig, type Cluster } from './cluster.js';
import { createSimulation, runSimulation, type SimRunResult } from './run.js';
import { chain, openMix, sessionMix } from './testing.js';

// One HGX node of 8 instances keeps each run small; the GB200 rack appears where the tray mapping matters.
const node = buildCluster(readClusterConfig('hgx-b200x8'));
let rack: Cluster | undefined;
const gb200 = (): Cluster => (rack ??= buildCluster(readClusterConfig('gb200-nvl72')));

function byId(records: readonly RequestRecord[]): Map<string, RequestRecord> {
  const out = new Map<string, RequestRecord>();
  for (const r of records) {
    assert.ok(!out.has(r.requestId), `request ${r.requestId} has two records`);
    out.set(r.requestId, r);
  }
  return out;
}

/** Every request submitted has exactly one record, ended as completed, rejected or cancelled. */
function checkConservation(r: SimRunResult, expectedIds: readonly string[]): void {
  const records = byId(r.records);
  assert.equal(records.size, expectedIds.length);
  for (const id of expectedIds) assert.ok(records.has(id), `request ${id} has no record`);
  const kinds = { completed: 0, rejected: 0, cancelled: 0 };
  for (const rec of r.records) kinds[rec.end.kind]++;
  assert.equal(kinds.completed, r.stats.completed);
  assert.equal(kinds.rejected, r.stats.rejected);
  assert.equal(kinds.cancelled, r.stats.cancelled);
  assert.equal(r.stats.submitted, expectedIds.length);
  assert.equal(r.stats.stalled, 0, 'nothing stalls');
  assert.equal(r.stats.kvFailures, 0, 'the native KV manager never refuses what the engine admitted');
  for (const rec of r.records) {
    assert.ok(rec.endS >= rec.arrivalS, `${rec.requestId} ends before it arrives`);
    if (rec.firstTokenS !== undefined) assert.ok(rec.firstTokenS >= rec.arrivalS && rec.firstTokenS <= rec.endS);
    if (rec.end.kind === 'rejected') assert.equal(rec.instanceId, '');
  }
}

const withoutWall = (r: SimRunResult) => ({ ...r, simWallS: 0 });

for (const kv of ['native', 'none'] as const) {
  test(`same seed, same records (open loop, kv ${kv})`, () => {
    const workload = openMix({ seed: 3, count: 300, ratePerS: 30 });
    const a = runSimulation({ workload, cluster: node, seed: 5, kv });
    const b = runSimulation({ workload, cluster: node, seed: 5, kv });
    assert.deepEqual(withoutWall(a), withoutWall(b));
    assert.ok(a.steps > 1000 && a.records.length === 300);
  });
}

test('same seed, same records (closed loop with reuse and sub-agents)', () => {
  const workload = sessionMix({ seed: 4, sessions: 6, turns: 4, thinkTimeS: 2, subAgentEvery: 3 });
  const a = runSimulation({ workload, cluster: node, seed: 9, sessions: 10 });
  const b = runSimulation({ workload, cluster: node, seed: 9, sessions: 10 });
  assert.deepEqual(withoutWall(a), withoutWall(b));
});

test('open loop: conservation with rejections, completions and drain-limit cancellations', () => {
  const base = openMix({ seed: 11, count: 400, ratePerS: 200, meanOutputTokens: 400 });
  const tooLong: WorkloadRequest = {
    req: { requestId: 'huge', tenant: 't0', arrivalS: 0.5, promptTokens: 200_000, maxOutputTokens: 16, blockHashes: [], hasTools: false, hasToolResults: false },
    outputTokens: 4,
  };
  const requests = [...base.requests, tooLong].sort((x, y) => x.req.arrivalS - y.req.arrivalS);
  const workload: Workload = { ...base, requests };
  // Arrivals stop at 1.5 s and the drain is cut 2 s later: the backlog of an overloaded node is cancelled, not lost.
  const r = runSimulation({ workload, cluster: node, seed: 1, durationS: 1.5, maxDrainS: 2 });
  const expected = requests.filter((w) => w.req.arrivalS <= 1.5).map((w) => w.req.requestId);
  checkConservation(r, expected);
  const records = byId(r.records);
  const huge = records.get('huge');
  assert.equal(huge?.end.kind, 'rejected');
  assert.equal(huge?.end.kind === 'rejected' && huge.end.code, 'E_CONTEXT_TOO_LONG');
  assert.ok(r.stats.completed > 0 && r.stats.drainCancelled > 0, JSON.stringify(r.stats));
  assert.equal(r.stats.cancelled, r.stats.drainCancelled);
  assert.ok(Math.abs(r.simulatedS - 3.5) < 1e-9, `the run stops at the drain limit, got ${r.simulatedS}`);
  // Completed requests produced exactly the trace's output length (EOS from the workload).
  const truth = new Map(requests.map((w) => [w.req.requestId, w.outputTokens]));
  for (const rec of r.records) {
    if (rec.end.kind === 'completed') assert.equal(rec.outputTokens, truth.get(rec.requestId), rec.requestId);
  }
});

test('closed loop: conservation over reused scripts and sub-agents; reused ids and sessions get #k', () => {
  const workload = sessionMix({ seed: 5, sessions: 4, turns: 3, thinkTimeS: 1, subAgentEvery: 2 });
  const r = runSimulation({ workload, cluster: node, seed: 2, sessions: 10 });
  // 10 top-level sessions over 4 scripts: uses 0..9 → scripts s0..s3 reused up to twice; s0 and s2 spawn a sub-agent.
  const expected: string[] = [];
  for (let k = 0; k < 10; k++) {
    const script = `s${k % 4}`;
    const reuse = Math.floor(k / 4);
    const suffix = reuse === 0 ? '' : `#${reuse}`;
    for (let t = 0; t < 3; t++) expected.push(`${script}.t${t}${suffix}`);
    if (script === 's0' || script === 's2') for (let t = 0; t < 3; t++) expected.push(`${script}.sub.t${t}${suffix}`);
  }
  checkConservation(r, expected);
  assert.equal(byId(r.records).get('s1.t2#2')?.sessionId, 's1#2');
});

test('closed loop: each turn arrives exactly its think time after the previous turn ended; sub-agents after their parent turn', () => {
  const workload = sessionMix({ seed: 6, sessions: 5, turns: 4, thinkTimeS: 2.5, subAgentEvery: 2 });
  const r = runSimulation({ workload, cluster: node, seed: 3, sessions: 5 });
  const records = byId(r.records);
  const think = new Map<string, number>();
  for (const s of workload.sessions) s.turns.forEach((t) => think.set(t.request.req.requestId, t.thinkTimeS));
  let checked = 0;
  for (const s of workload.sessions) {
    for (let k = 1; k < s.turns.length; k++) {
      const prev = records.get(`${s.sessionId}.t${k - 1}`) as RequestRecord;
      const cur = records.get(`${s.sessionId}.t${k}`) as RequestRecord;
      assert.ok(Math.abs(cur.arrivalS - (prev.endS + 2.5)) < 1e-9, `${cur.requestId}: arrival ${cur.arrivalS}, previous end ${prev.endS}`);
      checked++;
    }
    if (s.parent) {
      const parentTurn = records.get(`${s.parent.sessionId}.t${s.parent.afterTurn}`) as RequestRecord;
      assert.ok(Math.abs((records.get(`${s.sessionId}.t0`) as RequestRecord).arrivalS - parentTurn.endS) < 1e-9);
    }
  }
  assert.equal(checked, workload.sessions.length * 3);
});

test('closed loop with a duration: no turn is sent after it, and what was sent ends', () => {
  const workload = sessionMix({ seed: 7, sessions: 3, turns: 50, thinkTimeS: 1 });
  const r = runSimulation({ workload, cluster: node, seed: 3, sessions: 6, durationS: 20 });
  assert.ok(r.records.length > 10);
  for (const rec of r.records) assert.ok(rec.arrivalS <= 20, `${rec.requestId} sent at ${rec.arrivalS}`);
  checkConservation(r, r.records.map((x) => x.requestId));
  assert.equal(r.stats.cancelled, 0);
});

test('the KV index is fed by the native KV manager: a repeated prefix is served from cache on later requests', () => {
  const prefix = chain(Array.from({ length: 40 }, (_, i) => 0xbeefn + BigInt(i)));
  const requests: WorkloadRequest[] = Array.from({ length: 40 }, (_, i) => {
    const own = chain([0x1000n + BigInt(i)], prefix[prefix.length - 1]);
    return {
      req: { requestId: `p${i}`, tenant: 't0', arrivalS: i * 0.5, promptTokens: 41 * 64 + 10, maxOutputTokens: 64, blockHashes: [...prefix, ...own], hasTools: false, hasToolResults: false },
      outputTokens: 20,
    };
  });
  const workload: Workload = { kind: 'open', name: 'prefix', requests, durationS: 20 };
  const native = runSimulation({ workload, cluster: gb200(), policy: 'dynamo-kv', seed: 1 });
  const none = runSimulation({ workload, cluster: gb200(), policy: 'dynamo-kv', seed: 1, kv: 'none' });
  const later = (r: SimRunResult) => r.records.filter((x) => x.requestId !== 'p0');
  assert.ok(native.stats.kvEventsApplied > 40, `events applied: ${native.stats.kvEventsApplied}`);
  assert.equal(native.stats.kvFailures, 0);
  for (const rec of later(native)) assert.ok(rec.cachedTokens.device >= 40 * 64, `${rec.requestId}: ${rec.cachedTokens.device} cached`);
  // Without KV events the index knows nothing: the same workload gets no hits (so the hits above come from events).
  for (const rec of later(none)) assert.equal(rec.cachedTokens.device, 0);
  assert.equal(none.stats.kvEventsApplied, 0);
  // Served from cache, the later requests reach their first token sooner.
  const ttft = (r: SimRunResult) => later(r).reduce((s, x) => s + ((x.firstTokenS as number) - x.arrivalS), 0);
  assert.ok(ttft(native) < ttft(none));
});

test('sessions: the next turn finds the previous turn\'s context (prompt and output blocks) in cache', () => {
  const workload = sessionMix({ seed: 8, sessions: 3, turns: 4, thinkTimeS: 1, outputTokens: 200 });
  const r = runSimulation({ workload, cluster: gb200(), policy: 'sglang-cache-aware', seed: 4 });
  const records = byId(r.records);
  for (const s of workload.sessions) {
    for (let k = 1; k < s.turns.length; k++) {
      const prev = s.turns[k - 1]?.request.req as WorkloadRequest['req'];
      const cur = records.get(`${s.sessionId}.t${k}`) as RequestRecord;
      // Past the previous prompt's blocks: its output blocks were hashed with the next turn's hashes.
      assert.ok(cur.cachedTokens.device > prev.blockHashes.length * 64, `${cur.requestId}: ${cur.cachedTokens.device} ≤ ${prev.blockHashes.length * 64}`);
    }
  }
});

test('a request that would grow past the model context stops when prompt + output reach it (a length stop, as max_model_len)', () => {
  const max = node.model.maxContextTokens;
  const workload: Workload = {
    kind: 'open',
    name: 'long',
    durationS: 1,
    requests: [{
      req: { requestId: 'long', tenant: 't0', arrivalS: 0, promptTokens: max - 100, maxOutputTokens: 4000, blockHashes: [], hasTools: false, hasToolResults: false, hintOutputTokens: 10 },
      outputTokens: 5000,
    }],
  };
  const r = runSimulation({ workload, cluster: node, policy: 'round-robin', seed: 1, maxDrainS: 3600 });
  const rec = r.records[0] as RequestRecord;
  assert.equal(rec.end.kind, 'completed', JSON.stringify(rec.end));
  assert.equal(rec.outputTokens, 100);
});

const BAD_OPTIONS: Array<{ name: string; options: Record<string, unknown>; field: string }> = [
  { name: 'sessions on an open loop', options: { sessions: 4 }, field: 'sessions' },
  { name: 'kv mode', options: { kv: 'fake' }, field: 'kv' },
  { name: 'duration', options: { durationS: -1 }, field: 'durationS' },
  { name: 'seed', options: { seed: 1.5 }, field: 'seed' },
  { name: 'model', options: { model: 'gpt-9' }, field: 'model' },
  { name: 'cluster', options: { cluster: 'nvl1000' }, field: 'cluster' },
  { name: 'policy', options: { policy: 'fastest' }, field: 'policy' },
];

for (const c of BAD_OPTIONS) {
  test(`bad option (${c.name}) names ${c.field}`, () => {
    const workload = openMix({ seed: 1, count: 3, ratePerS: 1 });
    assert.throws(() => runSimulation({ workload, ...c.options } as Parameters<typeof runSimulation>[0]), (e: Error & { field?: string }) => {
      assert.equal(e.field, c.field, e.message);
      return true;
    });
  });
}

test('progress is reported, ending with everything ended', () => {
  const seen: number[] = [];
  const workload = openMix({ seed: 2, count: 50, ratePerS: 20 });
  const r = runSimulation({ workload, cluster: node, seed: 1, onProgress: (p) => seen.push(p.ended) });
  assert.equal(seen[seen.length - 1], 50);
  assert.equal(r.gpus, 8);
  assert.equal(r.cluster, 'hgx-b200x8');
  assert.equal(r.model, 'llama-3.1-70b');
  assert.equal(r.policy, 'shape-aware');
});

test('idle session context follows the scheduler\'s retention: demoted to the Grace tier of its tray, seen there by the KV index', () => {
  // Two TP4 instances on one HGX node (one worker). Round-robin puts a long request on each, then the session's turn
  // next to the first: when the turn ends, that instance's HBM is over half full, so cost-aware retention demotes.
  const cluster = buildCluster(readClusterConfig({ preset: 'hgx-b200x8', tensorParallel: 4, engine: { kvBlocksTotal: 400 } }));
  const long = (id: string, t: number): WorkloadRequest => ({
    req: { requestId: id, tenant: 't0', arrivalS: t, promptTokens: 200 * 64, maxOutputTokens: 4000, blockHashes: chain([BigInt(t * 1000) + 7n]), hasTools: false, hasToolResults: false },
    outputTokens: 3000,
  });
  const hashes = chain(Array.from({ length: 60 }, (_, i) => 0x5e55n + BigInt(i)));
  const turn: WorkloadRequest = {
    req: { requestId: 'turn', tenant: 't0', arrivalS: 0.002, promptTokens: 60 * 64 + 5, maxOutputTokens: 500, blockHashes: hashes, hasTools: true, hasToolResults: false, sessionId: 'sess', turnIndex: 0 },
    outputTokens: 20,
  };
  const workload: Workload = { kind: 'open', name: 'retention', durationS: 1, requests: [long('a', 0), long('b', 0.001), turn] };
  const probe = (retention: string, kv: 'native' | 'none' = 'native') => {
    const { sim } = createSimulation({ workload, cluster, policy: { base: 'round-robin', retention: { name: retention } }, seed: 1, kv });
    const records = byId(sim.run());
    const home = records.get('turn')?.instanceId as string;
    assert.equal(records.get('a')?.instanceId, home, 'round-robin put the turn next to the first long request');
    const other = sim.sched.instanceIds().find((id) => id !== home) as string;
    assert.equal(sim.stats.kvFailures, 0);
    return { other: sim.sched.kvIndex.prefixHit(hashes, other), home: sim.sched.kvIndex.prefixHit(hashes, home) };
  };
  const demoted = probe('cost-aware');
  assert.equal(demoted.other.deviceBlocks, 0);
  assert.equal(demoted.other.hostBlocks, 60, 'the other instance of the tray sees the context in its Grace tier');
  const kept = probe('always-keep');
  assert.equal(kept.other.hostBlocks, 0, 'kept on HBM: nothing in Grace');
  assert.equal(kept.home.deviceBlocks, 60);
  assert.equal(probe('cost-aware', 'none').other.hostBlocks, 0, 'no KV events, no index');
});

for (const policy of ['round-robin', 'shape-aware']) {
  test(`preemptions under tight KV (${policy}: recompute${policy === 'shape-aware' ? ' and swap to Grace' : ''}) keep the native manager within the engine's ledger`, () => {
    const cluster = buildCluster(readClusterConfig({ preset: 'hgx-b200x8', engine: { kvBlocksTotal: 500, hostKvBlocksTotal: 400 } }));
    const workload = openMix({ seed: 5, count: 250, ratePerS: 60, meanOutputTokens: 600, maxOutputTokens: 2000, meanPromptTokens: 4000 });
    const r = runSimulation({ workload, cluster, seed: 1, policy });
    checkConservation(r, workload.requests.map((w) => w.req.requestId));
    assert.ok(r.records.some((x) => x.preemptions > 0), 'the load preempts');
  });
}
