// Every flag the rendered container args pass is one that `nvlsched serve` / `nvlsched worker` accept (or, for the
// gateway, one proposed in PROPOSED_SERVE_FLAGS), read from the commands' own --help through real child processes.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';

import { packageRoot } from '../util/paths.js';
import { gatewayArgs } from './gateway_objects.js';
import { defaultPlan, planFromText } from './plan.js';
import { PROPOSED_SERVE_FLAGS, WORKER_FLAGS_USED } from './serve_flags.js';
import { workerArgs } from './worker_objects.js';

const cache = new Map<string, Map<string, string>>();

/** `--name <type>` per flag from `nvlsched <command> --help`. */
function helpFlags(command: string): Map<string, string> {
  const cached = cache.get(command);
  if (cached) return cached;
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'scheduler/cli/main.ts', command, '--help'], { cwd: packageRoot(), encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const out = new Map<string, string>();
  for (const m of r.stdout.matchAll(/^ {2}--([a-z-]+)(?: <(string|number)>)?  /gm)) out.set(m[1] as string, m[2] ?? 'boolean');
  assert.ok(out.size > 5, `parsed ${out.size} flags from ${command} --help`);
  cache.set(command, out);
  return out;
}

const flagsOf = (args: readonly string[]): string[] => args.filter((a) => a.startsWith('--')).map((a) => a.slice(2));

test('every flag the rendered gateway and workers pass exists (gateway: or is proposed)', () => {
  const serve = helpFlags('serve');
  const worker = helpFlags('worker');
  for (const p of [defaultPlan(), planFromText('serve: {kvBlocks: 512, blockTokens: 32, seed: 3}\ndeploy: {worker: {backend: sim}}\n', 't')]) {
    const g = flagsOf(gatewayArgs(p)).filter((f) => !serve.has(f));
    assert.deepEqual(g.filter((f) => !PROPOSED_SERVE_FLAGS.includes(f)), [], 'gateway flags serve lacks');
    const w = flagsOf(workerArgs(p));
    assert.deepEqual(w.filter((f) => !worker.has(f)), [], 'worker flags the worker lacks');
    assert.deepEqual(w.filter((f) => !WORKER_FLAGS_USED.includes(f)), []);
  }
  // Once serve has a proposed flag, it is no longer "proposed".
  assert.deepEqual(PROPOSED_SERVE_FLAGS.filter((f) => serve.has(f)), [], 'serve has it now: remove it from PROPOSED_SERVE_FLAGS and add it to SERVE_FLAGS');
});
