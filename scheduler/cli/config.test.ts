// `nvlsched config check` / `config default` through a real child process.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { packageRoot } from '../util/paths.js';

const runConfig = (args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', 'scheduler/cli/main.ts', 'config', ...args], { cwd: packageRoot(), encoding: 'utf8' });

test('config default round-trips through config check; a bad field exits 2 with one line naming it', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'nvl-config-'));
  try {
    const def = runConfig(['default']);
    assert.equal(def.status, 0, def.stderr);
    const good = path.join(dir, 'good.yaml');
    writeFileSync(good, def.stdout);
    const ok = runConfig(['check', good]);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /^ok: policy shape-aware; pools: llama-70b/);
    const bad = path.join(dir, 'bad.yaml');
    writeFileSync(bad, 'policy:\n  base: dynamo-kv\n  batch: {name: lifo}\n');
    const res = runConfig(['check', bad]);
    assert.equal(res.status, 2);
    assert.equal(res.stderr.trim().split('\n').length, 1);
    assert.match(res.stderr, /config\.policy\.batch\.name: unknown batch policy "lifo"; known: fcfs, priority, shape-aware/);
    assert.notEqual(runConfig(['check', path.join(dir, 'missing.yaml')]).status, 0);
    assert.notEqual(runConfig(['check']).status, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
