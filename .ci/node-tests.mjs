// Runs the node:test suites (TypeScript through tsx). Node 20 has no test-file globbing for .ts, so the files
// are listed here: every *.test.ts under scheduler/ and bench/. `--cuda` runs only *.cuda.test.ts (GPU machine).
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cudaOnly = process.argv.includes('--cuda');
const filters = process.argv.slice(2).filter((a) => !a.startsWith('--'));

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'gen') continue;
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) walk(full, out);
    else if (name.endsWith('.test.ts')) out.push(full);
  }
  return out;
}

let files = ['scheduler', 'bench'].flatMap((d) => walk(path.join(root, d), [])).sort();
files = files.filter((f) => (cudaOnly ? f.endsWith('.cuda.test.ts') : true));
if (filters.length) files = files.filter((f) => filters.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error('node-tests: no test files matched');
  process.exit(1);
}
const args = ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-reporter=spec', ...files.map((f) => path.relative(root, f))];
const result = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
process.exit(result.status ?? 1);
