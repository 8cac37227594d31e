// Builds the native addon with cmake-js (run by `npm install`). CUDA sources are compiled when nvcc is found
// (CMake decides; NVL_CUDA=OFF|ON|AUTO overrides), a plain CPU build otherwise. No download: package.json's
// "binary.napi_versions" makes cmake-js use the node-api-headers package instead of fetching Node's headers.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
const cudaMode = (process.env.NVL_CUDA ?? 'AUTO').toUpperCase();
if (!['AUTO', 'ON', 'OFF'].includes(cudaMode)) {
  console.error(`nvlsched: NVL_CUDA must be AUTO, ON or OFF, got ${process.env.NVL_CUDA}`);
  process.exit(2);
}
const args = [cmakeJs, 'compile', '--directory', root, '--out', path.join(root, 'build'), `--CDNVL_CUDA=${cudaMode}`];
if (process.env.NVL_SANITIZE === '1') args.push('--CDNVL_SANITIZE=ON');
if (process.env.NVL_BUILD_PARALLEL) args.push('--parallel', process.env.NVL_BUILD_PARALLEL);
console.log(`nvlsched: building the native addon (CUDA ${cudaMode}) ...`);
const started = Date.now();
const result = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
if (result.status !== 0) {
  console.error('nvlsched: native build failed (see above). Needs g++ and cmake >= 3.18; NVL_CUDA=OFF skips CUDA.');
  process.exit(result.status ?? 1);
}
console.log(`nvlsched: native addon built in ${((Date.now() - started) / 1000).toFixed(1)} s -> build/Release/nvlsched_native.node`);
