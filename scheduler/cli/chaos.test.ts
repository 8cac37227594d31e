// `nvlsched chaos` flags: each mistake exits 2 with one line naming the flag, before anything starts; --help lists
// the flags. (The soak itself runs in scheduler/chaos/soak.test.ts.)
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ENTRY = path.join(path.dirname(fileURLToPath(import.meta.url)), 'chaos.ts');

function chaos(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', ENTRY, ...args], { encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('chaos: bad flags exit 2 naming the flag; --help lists the flags', () => {
  for (const [args, pattern] of [
    [['--workers', '1'], /--workers: expected an integer in \[2, 18\]/],
    [['--duration-s', '0.5'], /--duration-s: expected a number of seconds in \[2, 3600\]/],
    [['--rate', '-1'], /--rate: expected requests per second/],
    [['--pace', 'fast'], /--pace: expected real or none, got 'fast'/],
    [['--kv-blocks', '8'], /--kv-blocks: expected an integer in \[64, 1000000\]/],
    [['--durations', '5'], /unknown flag --durations/],
    [['extra'], /unexpected argument 'extra'/],
  ] as const) {
    const r = chaos(...args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, pattern);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
  const help = chaos('--help');
  assert.equal(help.status, 0);
  for (const flag of ['--duration-s', '--workers', '--seed', '--json', '--rate']) assert.ok(help.stdout.includes(flag), flag);
});
