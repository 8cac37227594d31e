// Finds the package root from any module, whether it runs from source (tsx) or from dist/ (compiled).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let cachedRoot: string | undefined;

export function packageRoot(): string {
  if (cachedRoot) return cachedRoot;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 8; depth++) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).name === 'nvlsched') {
      cachedRoot = dir;
      return dir;
    }
    dir = path.dirname(dir);
  }
  throw new Error('nvlsched: cannot find the package root (package.json named "nvlsched") above ' + import.meta.url);
}

/** ../shared next to the checkout (measured data, traces); undefined when absent. */
export function sharedDir(): string | undefined {
  const dir = process.env.NVLSCHED_SHARED ?? path.resolve(packageRoot(), '..', 'shared');
  return existsSync(dir) ? dir : undefined;
}
