// The pure pieces of the load generator: workload request → Generate request, the Health label → report labels,
// the address check, the progress line.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { formatProgress } from './progress.js';
import { maxTokensFor, shapeOfProto, syntheticTokenIds, toGenerateRequest } from './request.js';
import { checkAddress, describeTarget } from './target.js';
import { workloadRequest } from './testing.js';

test('toGenerateRequest: prompt length, the workload\'s hashes as decimal u64, true output length, shape signals', () => {
  const w = workloadRequest('s1#2', { promptTokens: 100, outputTokens: 37, blockTokens: 16, req: { sessionId: 's1', turnIndex: 2, hasTools: true, hasToolResults: true, reasoningEffort: 'high', hintShape: 'terminal', tenant: 'acme' } });
  const g = toGenerateRequest(w.req, w.outputTokens, { idPrefix: 'run7/' });
  assert.equal(g.requestId, 'run7/s1#2');
  assert.equal(g.promptTokenIds?.length, 100);
  assert.deepEqual(g.blockHashes, w.req.blockHashes.map((h) => h.toString()));
  assert.equal(g.blockHashes?.length, 6);
  assert.ok(g.blockHashes?.every((h) => typeof h === 'string' && /^[0-9]+$/.test(h) && BigInt(h) < 2n ** 64n));
  assert.equal(g.maxTokens, 37);
  assert.equal(g.sessionId, 's1');
  assert.equal(g.turnIndex, 2);
  assert.equal(g.numTools, 1);
  assert.equal(g.hasToolResults, true);
  assert.equal(g.reasoningEffort, 'high');
  assert.equal(g.shapeHint, 'SHAPE_TERMINAL');
  assert.equal(g.tenant, 'acme');
  const plain = toGenerateRequest(workloadRequest('c', { promptTokens: 10, outputTokens: 1, blockTokens: 16, req: { reasoningEffort: 'none' } }).req, 1, { idPrefix: '' });
  assert.equal(plain.reasoningEffort, undefined, '"none" is no field: the API knows low|medium|high');
  assert.equal(plain.sessionId, undefined);
  assert.equal(plain.shapeHint, undefined);
  assert.equal(plain.numTools, 0);
  assert.deepEqual(plain.blockHashes, []);
});

test('max_tokens: at least 1, clamped to the context the prompt leaves when the context is known', () => {
  const req = workloadRequest('x', { promptTokens: 1000, outputTokens: 5000, blockTokens: 16 }).req;
  assert.equal(maxTokensFor(req, 5000, undefined), 5000);
  assert.equal(maxTokensFor(req, 5000, 4000), 2999);
  assert.equal(maxTokensFor(req, 0, 4000), 1);
  // A prompt that fills the context is sent as is: the gateway refuses it with its own reason.
  assert.equal(maxTokensFor(req, 10, 1000), 10);
});

test('synthetic ids: the right count, below 32K, deterministic, different between requests', () => {
  const a = syntheticTokenIds('a', 50_000);
  assert.equal(a.length, 50_000);
  assert.ok(a.every((x) => Number.isInteger(x) && x >= 0 && x < 32_000));
  assert.deepEqual(syntheticTokenIds('a', 20), a.slice(0, 20));
  assert.notDeepEqual(syntheticTokenIds('b', 20), a.slice(0, 20));
});

test('shapes from the response enum', () => {
  assert.equal(shapeOfProto('SHAPE_TOOL_CALL'), 'tool_call');
  assert.equal(shapeOfProto('SHAPE_REASONING'), 'reasoning');
  assert.equal(shapeOfProto('SHAPE_UNSPECIFIED'), undefined);
  assert.equal(shapeOfProto(3), undefined);
});

test('describeTarget reads the gateway\'s Health label; anything else gives unknown labels and 0 GPUs', () => {
  const d = describeTarget('8 instances of llama-3.1-70b tp1 on 2 tray(s) of gb200-nvl72, policy shape-aware; 3 live requests');
  assert.deepEqual(d.info, { policy: 'shape-aware', cluster: 'gb200-nvl72', model: 'llama-3.1-70b', gpus: 8 });
  assert.equal(d.maxContextTokens, 131_072);
  const tp4 = describeTarget('2 instances of mystery-model tp4 on 2 tray(s) of gb300-nvl72, policy round-robin; 0 live requests');
  assert.equal(tp4.info.gpus, 8);
  assert.equal(tp4.maxContextTokens, undefined, 'a model outside the catalog: no clamp');
  assert.deepEqual(describeTarget('some other server').info, { policy: 'unknown', cluster: 'unknown', model: 'unknown', gpus: 0 });
});

test('checkAddress: host:port only', () => {
  assert.equal(checkAddress('127.0.0.1:50051'), '127.0.0.1:50051');
  assert.equal(checkAddress('localhost:1'), 'localhost:1');
  assert.equal(checkAddress('[::1]:8080'), '[::1]:8080');
  for (const bad of ['127.0.0.1', '127.0.0.1:0', '127.0.0.1:70000', ':50051', 'http://127.0.0.1:50051']) {
    const r = checkAddress(bad);
    assert.ok(typeof r !== 'string', bad);
    assert.match(r.error, /^--target: expected host:port/);
  }
});

test('progress line: requests done / total when known, else time against the window', () => {
  const open = formatProgress({ elapsedS: 12.34, durationS: 60, ended: 30, total: 120, live: 5, completed: 28, rejected: 1, failed: 1 });
  assert.match(open, /^\[######\.{18}\] 30\/120 requests done \(28 ok, 1 rejected, 1 failed\), 5 live, 12\.3 s \/ 60 s$/);
  const closed = formatProgress({ elapsedS: 30, durationS: 60, ended: 7, live: 2, completed: 7, rejected: 0, failed: 0 });
  assert.match(closed, /^\[#{12}\.{12}\] 7 requests done/);
});
