// CPU instruction-set extensions as the native kernels see them (CPUID, read at run time).
import { nativeAddon } from './addon.ts';

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

/** Synchronous; the result is computed once per process. */
export const cpuFeatures: () => CpuFeatures = nativeAddon<{ cpuFeatures(): CpuFeatures }>().cpuFeatures;
