import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PlacementContext, PlacementPicker, PlacementScorer, PrefixHit } from '../types.js';
import { composePlacement, makePlacementPipeline } from './pipeline.js';
import { makePlacementPolicy } from './profiles.js';
import { context, instance } from './testing.js';

const fixed = (name: string, values: number[]): PlacementScorer => ({
  name,
  score: (_ctx, candidates, out) => candidates.forEach((_, i) => (out[i] = values[i] as number)),
});
const argmax: PlacementPicker = {
  name: 'argmax',
  pick: (_ctx, candidates, s) => candidates.reduce((best, _, i) => ((s.total[i] as number) > (s.total[best] as number) ? i : best), 0),
};
const three = [instance('a'), instance('b'), instance('c'), instance('d')];

test('pipeline: scores are clamped to [0, 1] and NaN counts as 0, before weighting', () => {
  const policy = composePlacement('t', { scorers: [{ scorer: fixed('wild', [-1, 0.5, 7, Number.NaN]), weight: 2 }], picker: argmax });
  const d = policy.place(context(), three);
  assert.deepEqual(d, { ok: true, instanceId: 'c', score: 2, prefix: { deviceBlocks: 0, hostBlocks: 0, neighbourBlocks: 0 } });
  assert.deepEqual([...(policy.lastScores().byScorer.get('wild') as Float64Array)], [0, 0.5, 1, 0]);
  assert.deepEqual([...policy.lastScores().total], [0, 1, 2, 0]);
});

test('pipeline: weights per shape; the same scorer twice is kept apart as name#2', () => {
  const policy = makePlacementPipeline({
    scorers: [
      { name: 'session-affinity', weight: { tool_call: 0, default: 2 } },
      { name: 'session-affinity', weight: 0.5 },
    ],
    picker: { name: 'max-score' },
  });
  policy.place(context({ shape: 'terminal', sessionHome: 'b' }), three);
  assert.deepEqual([...policy.lastScores().total], [0, 2.5, 0, 0]);
  assert.deepEqual([...policy.lastScores().byScorer.keys()], ['session-affinity', 'session-affinity#2']);
  policy.place(context({ shape: 'tool_call', sessionHome: 'b' }), three);
  assert.deepEqual([...policy.lastScores().total], [0, 0.5, 0, 0]);
});

test('pipeline: no candidates, or a filter removing all, is E_NO_CANDIDATE naming the filter and why', () => {
  const policy = makePlacementPolicy('shape-aware');
  assert.deepEqual(policy.place(context(), []), { ok: false, code: 'E_NO_CANDIDATE', message: 'no candidate instances: the pool has none' });
  const sick = [instance('a', { healthy: false }), instance('b', { draining: true })];
  assert.deepEqual(policy.place(context(), sick), { ok: false, code: 'E_NO_CANDIDATE', message: 'filter "healthy" removed all 2 remaining candidates: 1 unhealthy, 1 draining' });
  const short = [instance('a', { maxContextTokens: 1000 })];
  const d = policy.place(context({ req: { promptTokens: 1600 } }), short);
  assert.equal(d.ok, false);
  assert.match((d as { message: string }).message, /^filter "context-fits" removed all 1 remaining candidates: prompt 1600 \+ output 200 tokens exceeds every context window \(largest 1000\)$/);
  const full = [instance('a', { kvBlocksTotal: 100, kvBlocksUsed: 90 }), instance('b', { kvBlocksTotal: 100, kvBlocksUsed: 50 })];
  assert.match((policy.place(context(), full) as { message: string }).message, /^filter "kv-capacity" removed all 2 remaining candidates: no instance has the free KV blocks the request needs \(needs at least 100, most free 50\)$/);
});

test('pipeline: a picker answering outside [0, n) is a bug and throws naming it', () => {
  const bad: PlacementPicker = { name: 'off-by-one', pick: (_c, candidates) => candidates.length };
  assert.throws(() => composePlacement('t', { picker: bad }).place(context(), three), /placement picker "off-by-one" returned 4 for 4 candidates \(expected an integer in \[0, 3\]\)/);
  assert.throws(() => composePlacement('t', { scorers: [{ scorer: fixed('x', []), weight: -1 }], picker: argmax }), /scorers\[0\]\.weight for tool_call must be a number ≥ 0, got -1/);
});

test('pipeline: the decision copies the prefix hit (ctx.prefix may reuse its objects)', () => {
  const shared: PrefixHit = { deviceBlocks: 7, hostBlocks: 2, neighbourBlocks: 1, neighbourInstanceId: 'z' };
  const ctx: PlacementContext = { ...context(), prefix: () => shared };
  const d = makePlacementPolicy('round-robin').place(ctx, three);
  shared.deviceBlocks = 0;
  assert.deepEqual(d, { ok: true, instanceId: 'a', score: 0, prefix: { deviceBlocks: 7, hostBlocks: 2, neighbourBlocks: 1, neighbourInstanceId: 'z' } });
});

test('pipeline: score buffers follow the candidate count between calls', () => {
  const policy = makePlacementPolicy('least-loaded');
  const many = Array.from({ length: 100 }, (_, i) => instance(`i${i}`, { inFlightRequests: 100 - i }));
  assert.equal((policy.place(context(), many) as { instanceId: string }).instanceId, 'i99');
  assert.equal(policy.lastScores().total.length, 100);
  assert.equal((policy.place(context(), many.slice(0, 3)) as { instanceId: string }).instanceId, 'i2');
  assert.equal(policy.lastScores().total.length, 3);
});

const BAD_CONFIGS: Array<[string, unknown, RegExp]> = [
  ['not a mapping', [1], /^placement: expected a mapping, got \[1\]$/],
  ['misspelt key', { filter: [], picker: { name: 'max-score' } }, /^placement\.filter: unknown field; allowed: filters, scorers, picker$/],
  ['filters not a list', { filters: { name: 'healthy' }, picker: { name: 'max-score' } }, /^placement\.filters: expected a list of \{name, params\} entries$/],
  ['unknown filter', { filters: [{ name: 'healty' }], picker: { name: 'max-score' } }, /^placement\.filters\[0\]\.name: unknown filter "healty"; known: healthy, context-fits, kv-capacity, llm-d-saturation, shortlist$/],
  ['scorer without name', { scorers: [{ weight: 1 }], picker: { name: 'max-score' } }, /^placement\.scorers\[0\]\.name: missing; expected one of prefix-tiered, /],
  ['negative weight', { scorers: [{ name: 'load' }, { name: 'load', weight: -1 }], picker: { name: 'max-score' } }, /^placement\.scorers\[1\]\.weight: expected a number ≥ 0, got -1$/],
  ['weight as text', { scorers: [{ name: 'load', weight: 'high' }], picker: { name: 'max-score' } }, /^placement\.scorers\[0\]\.weight: expected a number ≥ 0, got "high"$/],
  ['weight table key', { scorers: [{ name: 'load', weight: { tools: 1 } }], picker: { name: 'max-score' } }, /^placement\.scorers\[0\]\.weight\.tools: unknown field; allowed: tool_call, reasoning, terminal, chat, default$/],
  ['weight table value', { scorers: [{ name: 'load', weight: { chat: -2 } }], picker: { name: 'max-score' } }, /^placement\.scorers\[0\]\.weight\.chat: expected a number ≥ 0, got -2$/],
  ['plugin param', { scorers: [{ name: 'prefix-tiered', params: { useHost: 'no' } }], picker: { name: 'max-score' } }, /^placement\.scorers\[0\]\.params\.useHost: expected true or false, got "no"$/],
  ['no picker', { scorers: [] }, /^placement\.picker: exactly one picker is required; known: max-score, round-robin, dynamo-softmax, sglang-cache-aware$/],
  ['two pickers', { picker: [{ name: 'max-score' }, { name: 'round-robin' }] }, /^placement\.picker: exactly one picker: a mapping \{name, params\}, not a list$/],
  ['unknown picker', { picker: { name: 'best' } }, /^placement\.picker\.name: unknown picker "best"; known: /],
  ['picker param', { picker: { name: 'dynamo-softmax', params: { temperature: 'hot' } } }, /^placement\.picker\.params\.temperature: expected a number ≥ 0, got "hot"$/],
];

for (const [name, config, message] of BAD_CONFIGS) {
  test(`pipeline config: ${name} → an error naming the field`, () => {
    assert.throws(() => makePlacementPipeline(config), (e: Error & { code?: string }) => e.code === 'E_BAD_CONFIG' && message.test(e.message));
  });
}

test('makePlacementPolicy: an unknown name lists the known ones', () => {
  assert.throws(() => makePlacementPolicy('fastest', 'policy'), /^ConfigError: policy: unknown placement policy "fastest"; known: round-robin, least-loaded, sglang-cache-aware, dynamo-kv, llm-d-weighted, shape-affinity, shape-aware$/m);
});

test('pipeline: a minimal config (picker only) works and scores nothing', () => {
  const policy = makePlacementPipeline({ picker: { name: 'max-score' } });
  const d = policy.place(context(), three);
  assert.equal(d.ok, true);
  assert.equal(policy.lastScores().byScorer.size, 0);
  assert.deepEqual([...policy.lastScores().total], [0, 0, 0, 0]);
});
