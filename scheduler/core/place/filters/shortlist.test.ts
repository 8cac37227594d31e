import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../config/params.js';
import type { PrefixHit } from '../../types.js';
import { context, instance } from '../testing.js';
import { makeShortlistFilter } from './shortlist.js';

const ids = (xs: readonly { instanceId: string }[]) => xs.map((x) => x.instanceId);

test('shortlist keeps the session home, the best-cached and the least-loaded, in candidate order', () => {
  const f = makeShortlistFilter({ byPrefix: 2, byLoad: 2 }, 'f');
  const cands = Array.from({ length: 10 }, (_, i) => instance(`i${i}`, { queuedRequests: i === 7 ? 0 : 5, runningRequests: 4, kvBlocksUsed: i === 8 ? 0 : 500, kvBlocksTotal: 1000 }));
  const hits: Record<string, PrefixHit> = { i2: { deviceBlocks: 30, hostBlocks: 0, neighbourBlocks: 0 }, i5: { deviceBlocks: 0, hostBlocks: 40, neighbourBlocks: 0 } };
  const ctx = context({ hits, sessionHome: 'i0' });
  assert.deepEqual(ids(f.filter(ctx, cands)), ['i0', 'i2', 'i5', 'i7', 'i8']);
});

test('shortlist removes nothing when the pool is small, and takes only load when nothing is cached', () => {
  const f = makeShortlistFilter({ byPrefix: 2, byLoad: 2 }, 'f');
  const few = Array.from({ length: 5 }, (_, i) => instance(`i${i}`));
  const ctx = context({});
  assert.equal(f.filter(ctx, few), few);
  const many = Array.from({ length: 12 }, (_, i) => instance(`i${i}`, { queuedRequests: 12 - i }));
  assert.deepEqual(ids(f.filter(ctx, many)), ['i10', 'i11']);
});

test('shortlist parameters are checked by name', () => {
  assert.throws(() => makeShortlistFilter({ byLoad: 0 }, 'placement.filters[3].params'), (e: unknown) => e instanceof ConfigError && e.field === 'placement.filters[3].params.byLoad');
  assert.throws(() => makeShortlistFilter({ top: 3 }, 'p'), /p\.top: unknown field/);
});
