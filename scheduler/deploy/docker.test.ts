// The Dockerfiles cannot be built here (no Docker), so this checks what can be checked without building: every
// file they copy from the context exists and is not .dockerignored; what they copy out of the build stage is what
// the build produces; every file the code reads next to package.json at run time is in the runtime image; the
// scripts they run exist; and deploy/README.md's commands name real files, commands, subcommands and flags, and
// the image tags the renderer uses.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { packageRoot } from '../util/paths.js';
import { imageOf } from './objects.js';
import { defaultPlan } from './plan.js';

const root = packageRoot();
const read = (p: string): string => readFileSync(path.join(root, p), 'utf8');
const DOCKERFILES = ['deploy/docker/Dockerfile', 'deploy/docker/Dockerfile.cuda'];
/** What `npm run build:ts` (tsconfig outDir) and native/build.mjs create, and npm ci. */
const BUILD_OUTPUTS = ['dist', 'node_modules', 'build/Release/nvlsched_native.node'];

interface Copy { from?: string; sources: string[]; dest: string }

function instructions(text: string): string[] {
  return text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
}

function copies(text: string): Copy[] {
  return instructions(text).filter((l) => /^COPY\s/.test(l)).map((l) => {
    const words = l.split(/\s+/).slice(1);
    const from = words[0]?.startsWith('--from=') ? (words.shift() as string).slice('--from='.length) : undefined;
    const dest = words.pop() as string;
    return { ...(from ? { from } : {}), sources: words, dest };
  });
}

function ignored(p: string): boolean {
  const patterns = read('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  return patterns.some((pat) => (pat.startsWith('*') ? p.endsWith(pat.slice(1)) : p === pat || p.startsWith(`${pat}/`)));
}

for (const file of DOCKERFILES) {
  test(`${file}: context files exist and are not ignored; stages and build outputs line up`, () => {
    const text = read(file);
    const stages = [...text.matchAll(/^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/gm)].map((m) => ({ image: m[1] as string, name: m[2] }));
    const names = new Set(stages.map((s) => s.name).filter(Boolean));
    assert.ok(names.has('build') && names.has('runtime'), 'a build and a runtime stage');
    assert.equal(stages[stages.length - 1]?.name, 'runtime', 'the runtime stage is the last (the default target)');
    for (const c of copies(text)) {
      if (c.from === undefined) {
        for (const s of c.sources) {
          assert.ok(existsSync(path.join(root, s)), `COPY ${s}: not in the repository`);
          assert.ok(!ignored(s), `COPY ${s}: excluded by .dockerignore`);
        }
      } else {
        assert.ok(names.has(c.from), `COPY --from=${c.from}: no such stage`);
        if (c.from !== 'build') continue;
        for (const s of c.sources) {
          const rel = s.replace(/^\/src\//, '');
          assert.ok(BUILD_OUTPUTS.includes(rel) || existsSync(path.join(root, rel)), `COPY --from=build ${s}: neither a build output nor a repository file`);
        }
      }
    }
    for (const m of text.matchAll(/npm run ([a-z:]+)/g)) assert.ok(m[1] && (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts[m[1]], `npm run ${m[1]}: no such script`);
    assert.match(text, /node native\/build\.mjs/);
    assert.ok(existsSync(path.join(root, 'native/build.mjs')));
    const link = /ln -s (\S+) \/usr\/local\/bin\/nvlsched/.exec(text)?.[1];
    const bin = (JSON.parse(read('package.json')) as { bin: Record<string, string> }).bin.nvlsched;
    assert.equal(link, `/opt/nvlsched/${bin}`, 'the nvlsched command is the package\'s bin');
  });
}

test('the build outputs the Dockerfiles copy are where the build puts them', () => {
  assert.equal((JSON.parse(read('tsconfig.json')) as { compilerOptions: { outDir: string } }).compilerOptions.outDir, 'dist');
  assert.match(read('native/build.mjs'), /build\/Release\/nvlsched_native\.node/);
  assert.match(read('scheduler/kv/native.ts'), /'build', 'Release', 'nvlsched_native\.node'/);
});

/** Every `path.join(packageRoot(), 'a', 'b')` in the non-test sources of scheduler/ → 'a/b'. */
function runtimeFiles(): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const full = path.join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (name.endsWith('.ts') && !name.endsWith('.test.ts') && name !== 'testing.ts') {
        for (const m of readFileSync(full, 'utf8').matchAll(/path\.join\(packageRoot\(\),\s*([^)]*)\)/g)) {
          const parts = [...(m[1] as string).matchAll(/'([^']*)'/g)].map((x) => x[1] as string);
          if (parts.length > 0) out.push(parts.join('/'));
        }
      }
    }
  };
  walk(path.join(root, 'scheduler'));
  return [...new Set(out)];
}

test('every file the code reads next to package.json at run time is in both runtime images', () => {
  // ../shared (traces, measured data) is optional and outside the package; the rest must ship.
  const files = runtimeFiles().filter((f) => !f.startsWith('..'));
  assert.ok(files.includes('proto') && files.includes('scheduler/perf/fitted.json'), `found ${files.join(', ')}`);
  for (const file of DOCKERFILES) {
    const shipped = copies(read(file)).filter((c) => c.from === 'build').map((c) => c.dest.replace(/^\.\//, ''));
    for (const f of files) assert.ok(shipped.some((d) => f === d || f.startsWith(`${d}/`)), `${file}: the runtime image lacks ${f}`);
  }
});

/** `--flag` names from `nvlsched <args> --help`. */
const helpCache = new Map<string, Set<string>>();
function helpFlags(args: string[]): Set<string> {
  const key = args.join(' ');
  const cached = helpCache.get(key);
  if (cached) return cached;
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'scheduler/cli/main.ts', ...args, '--help'], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, `${key} --help: ${r.stderr}`);
  const flags = new Set([...r.stdout.matchAll(/^ {2}--([a-z-]+)/gm)].map((m) => m[1] as string));
  helpCache.set(key, flags);
  return flags;
}

test('deploy/README.md: its commands name real files, commands, subcommands, flags and the rendered image tags', () => {
  const readme = read('deploy/README.md');
  const blocks = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => (m[1] as string).replace(/\\\n\s*/g, ' '));
  assert.ok(blocks.length >= 6, `${blocks.length} shell blocks`);
  const inline = [...readme.replace(/```[\s\S]*?```/g, '').matchAll(/`([^`\n]+)`/g)].map((m) => m[1] as string);
  const lines = [...blocks.flatMap((b) => b.split('\n')), ...inline].filter((l) => l.trim() !== '');
  for (const l of lines) for (const m of l.matchAll(/-f (deploy\/docker\/\S+)/g)) assert.ok(existsSync(path.join(root, m[1] as string)), m[1]);
  const p = defaultPlan();
  const tags = lines.flatMap((l) => [...l.matchAll(/-t (\S+)/g)].map((m) => m[1]));
  assert.deepEqual(tags, [imageOf(p, false), imageOf(p, true)], 'docker build tags = the images the default render uses');
  const top = spawnSync(process.execPath, ['--import', 'tsx', 'scheduler/cli/main.ts', '--help'], { cwd: root, encoding: 'utf8' });
  const known = new Set([...top.stdout.matchAll(/^ {2}([a-z-]+) /gm)].map((m) => m[1] as string));
  assert.ok(known.has('deploy') && known.has('bench'), `commands: ${[...known].join(', ')}`);
  let checked = 0;
  for (const l of lines) {
    // `nvlsched <command> [<deploy subcommand>] --flags...` up to a pipe, redirect or quote; `-- bench ...` (the
    // image's entrypoint is nvlsched) counts as a command too.
    for (const m of l.matchAll(/(?:(?<!-n )\bnvlsched|--image=\S+ --)\s+([a-z-]+)((?:\s+[^|>'&]*)?)/g)) {
      const command = m[1] as string;
      assert.ok(known.has(command), `README: unknown command nvlsched ${command}`);
      const rest = (m[2] ?? '').trim().split(/\s+/);
      const sub = command === 'deploy' ? rest.shift() : undefined;
      const flags = helpFlags(sub ? [command, sub] : [command]);
      for (const w of rest) if (/^--[a-z]/.test(w)) assert.ok(flags.has(w.slice(2).split('=')[0] as string), `README: nvlsched ${command}${sub ? ` ${sub}` : ''} has no ${w}`);
      checked++;
    }
  }
  assert.ok(checked >= 10, `checked ${checked} commands`);
  // The README's own listing of the folder matches what is here.
  for (const dir of ['grafana', 'docker', 'k8s']) assert.ok(existsSync(path.join(root, 'deploy', dir)), dir);
});
