// Regenerates the TypeScript types of proto/ into scheduler/gen/proto (committed). `--out <dir>` writes elsewhere:
// the staleness test generates into a temporary folder and compares.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const outFlag = process.argv.indexOf('--out');
const outDir = outFlag >= 0 ? path.resolve(process.argv[outFlag + 1]) : path.join(root, 'scheduler', 'gen', 'proto');
const protoDir = path.join(here, 'nvlsched', 'v1');
const files = readdirSync(protoDir).filter((f) => f.endsWith('.proto')).sort().map((f) => path.join('nvlsched', 'v1', f));
const require = createRequire(import.meta.url);
const genBin = path.join(path.dirname(require.resolve('@grpc/proto-loader/package.json')), 'build', 'bin', 'proto-loader-gen-types.js');
const result = spawnSync(process.execPath, [genBin, '--grpcLib=@grpc/grpc-js', '--importFileExtension=.js',
  '--longs=String', '--enums=String', '--defaults', '--oneofs', '--keepCase=false', '-I', here, '-O', outDir, ...files],
  { cwd: root, stdio: 'inherit' });
if (result.status !== 0) process.exit(result.status ?? 1);

// The generator writes the absolute path of each .proto into a header comment; make it relative to the
// repository so that the output does not depend on where the checkout lives.
function relativize(dir) {
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) {
      relativize(full);
    } else if (name.endsWith('.ts')) {
      const text = readFileSync(full, 'utf8');
      const fixed = text.split(`// Original file: ${root}${path.sep}`).join('// Original file: ');
      if (fixed !== text) writeFileSync(full, fixed);
    }
  }
}
relativize(outDir);
