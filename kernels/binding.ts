// Typed surface of the native m2_kernels addon (built by `npm install` through node-gyp).
// Everything native is reached through this module so the rest of the code never sees `any`.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface CpuFeatures {
  avx2: boolean;
  fma: boolean;
  f16c: boolean;
  avx512f: boolean;
  avx512bw: boolean;
  avx512vl: boolean;
  avx512bf16: boolean;
  avx512vnni: boolean;
}

export interface NativeKernels {
  /** Synchronous. Instruction-set extensions detected at run time (CPUID). */
  cpuFeatures(): CpuFeatures;
}

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

function loadAddon(): NativeKernels {
  const candidates = ['build/Release/m2_kernels.node', 'build/Debug/m2_kernels.node'];
  for (const rel of candidates) {
    const path = join(packageRoot, rel);
    if (existsSync(path)) return createRequire(import.meta.url)(path) as NativeKernels;
  }
  throw new Error(`native addon m2_kernels not built (looked for ${candidates.join(', ')}); run \`npm install\``);
}

export const native: NativeKernels = loadAddon();
