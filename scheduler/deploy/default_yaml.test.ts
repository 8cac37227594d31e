// deploy/k8s/default.yaml is the rendered default (one GB200 NVL72 rack): it must equal a fresh render, so a change
// to the renderer, the default config or the package version cannot leave it stale.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { packageRoot } from '../util/paths.js';
import { defaultPlan } from './plan.js';
import { renderYaml } from './render.js';

const REGENERATE = 'npx nvlsched deploy render > deploy/k8s/default.yaml  (from a source checkout: node --import tsx scheduler/cli/main.ts deploy render > deploy/k8s/default.yaml)';

test('deploy/k8s/default.yaml equals a fresh `nvlsched deploy render`', () => {
  const file = path.join(packageRoot(), 'deploy', 'k8s', 'default.yaml');
  const committed = readFileSync(file, 'utf8');
  const fresh = renderYaml(defaultPlan());
  if (committed !== fresh) {
    const a = committed.split('\n');
    const b = fresh.split('\n');
    const line = a.findIndex((l, i) => l !== b[i]);
    assert.fail(`deploy/k8s/default.yaml is stale (first difference at line ${line + 1}: ${JSON.stringify(a[line])} vs ${JSON.stringify(b[line])}); regenerate it: ${REGENERATE}`);
  }
});
