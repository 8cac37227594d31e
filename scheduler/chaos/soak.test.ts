// The shortened chaos soak (in `npm test`): a few seconds of mixed gRPC + HTTP load on a gateway with three worker
// processes and its own Redis, one of each fault (a worker SIGKILLed and restarted, another's connections severed,
// Redis SIGKILLed and restarted with a batch job draining), then every invariant of checks.ts. The schedule comes
// from the seed; counts depend on timing, so only the invariants and that each fault really happened are asserted.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';

import { runSoak } from './soak.js';

const hasRedis = spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;

test('chaos soak, shortened: every request accounted for exactly once, KV back to baseline, nothing left running', { skip: hasRedis ? false : 'no redis-server binary on PATH', timeout: 90_000 }, async () => {
  const lines: string[] = [];
  const r = await runSoak({ seed: 7, durationS: 5, workers: 3, ratePerS: 5, sessions: 2, batchLines: 8, settleS: 25, log: (l) => lines.push(l) });
  assert.deepEqual(r.violations, [], `violations:\n${r.violations.join('\n')}\nlog tail:\n${lines.slice(-40).join('\n')}`);
  assert.equal(r.ok, true);
  // Each fault happened (none FAILED), the batch went in before Redis went down.
  assert.equal(r.faults.events.length, 7, JSON.stringify(r.faults.events));
  assert.ok(r.faults.events.every((e) => !e.what.includes('FAILED')), JSON.stringify(r.faults.events));
  assert.ok(r.gateway.instance_failures >= 8, `two trays of 4 instances failed: ${r.gateway.instance_failures}`);
  assert.equal(r.gateway.rejoins, r.gateway.instance_failures);
  // The load really ran, over both APIs, and its ends add up.
  assert.ok(r.requests.sent >= 10, `sent ${r.requests.sent}`);
  assert.equal(r.requests.sent, r.requests.completed + r.requests.rejected + r.requests.failed + r.requests.cancelled + r.requests.open);
  assert.equal(r.requests.open, 0);
  assert.ok((r.requests.by_api.grpc?.sent ?? 0) > 0 && (r.requests.by_api.http?.sent ?? 0) + (r.requests.by_api['http-stream']?.sent ?? 0) > 0);
  assert.equal(r.batch?.results, 8);
  for (const k of r.kv) assert.equal(k.closed_used_blocks, 0, `tray ${k.tray}`);
  assert.equal(r.processes.left_running, 0);
  assert.equal(r.processes.started, 3 + 1 + 2, 'three workers and a restarted one, Redis and its restart');
});
