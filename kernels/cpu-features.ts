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

/** Which kernel families run here: the CPU's features under the M2_KERNELS_MAX_ISA=avx2 and
 * M2_KERNELS_BF16_DOT=0 caps. bf16Dot: bf16 weights and bf16 KV caches meet vdpbf16ps (their
 * f32 operands rounded to bf16); otherwise they are widened to exact f32. */
export interface KernelPaths {
  avx512: boolean;
  bf16Dot: boolean;
}

const addon = nativeAddon<{ cpuFeatures(): CpuFeatures; kernelPaths(): KernelPaths }>();

/** Synchronous; the result is computed once per process. */
export const cpuFeatures: () => CpuFeatures = addon.cpuFeatures;
export const kernelPaths: () => KernelPaths = addon.kernelPaths;
