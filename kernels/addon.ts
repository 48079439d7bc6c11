// Loads the native m2_kernels addon (built by `npm install` through node-gyp). Each native
// concern has its own typed binding module (cpu-features.ts, ...) that narrows this object to
// the interface it declares, so the rest of the code never sees an untyped native value.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const candidates = ['build/Release/m2_kernels.node', 'build/Debug/m2_kernels.node'];

function load(): object {
  for (const rel of candidates) {
    const path = join(packageRoot, rel);
    if (existsSync(path)) return createRequire(import.meta.url)(path) as object;
  }
  throw new Error(`native addon m2_kernels is not built (looked for ${candidates.join(', ')}); run \`npm install\``);
}

const addon = load();

/** The addon's exports, typed by the caller's declaration of the part it uses. */
export function nativeAddon<T extends object>(): T {
  return addon as T;
}
