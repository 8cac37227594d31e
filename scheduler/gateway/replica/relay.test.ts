// The Generate request a replica sends to the peer that serves a forward: the client's prompt ids as they came (so
// the peer's worker would see the same prompt if plans ever carry prompts), the block hashes as computed at the
// origin, and the fields classification reads; zeros of the right length for a request parsed without ids.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { parseGenerate } from '../request.js';
import { peerRequest } from './relay.js';

const LIMITS = { maxContextTokens: 8192, blockTokens: 16 };

test('a forward carries the client\'s prompt ids, its block hashes and its hints; ids parsed away become zeros', () => {
  const ids = Array.from({ length: 40 }, (_, i) => 1000 + i);
  const parsed = parseGenerate({ requestId: 'r1', prompt: '', promptTokenIds: ids, blockHashes: [], maxTokens: 7, shapeHint: 'SHAPE_TOOL_CALL', sessionId: 's', turnIndex: 2, priority: 3, tenant: 'acme', numTools: 2, hasToolResults: true, reasoningEffort: '', model: '' } as never, LIMITS, 'gw-1', 0);
  assert.ok(parsed.ok);
  const out = peerRequest(parsed.value, 'remote-1', LIMITS.maxContextTokens);
  assert.deepEqual(out.promptTokenIds, ids);
  assert.deepEqual(out.blockHashes, parsed.value.req.blockHashes.map(String));
  assert.equal(out.blockHashes?.length, 2);
  assert.equal(out.requestId, 'remote-1');
  assert.equal(out.maxTokens, 7);
  assert.equal(out.shapeHint, 'SHAPE_TOOL_CALL');
  assert.equal(out.tenant, 'acme');
  const { promptTokenIds: _dropped, ...withoutIds } = parsed.value;
  assert.deepEqual(peerRequest(withoutIds, 'remote-2', LIMITS.maxContextTokens).promptTokenIds, new Array(40).fill(0));
});
