// CPU capabilities detected once at run time: the addon is built without -march=native so one
// build serves AVX2-only and AVX-512 machines alike; kernels pick their path from these flags.
#pragma once

namespace m2 {

struct CpuFeatures {
  bool avx2 = false;
  bool fma = false;
  bool f16c = false;
  bool avx512f = false;
  bool avx512bw = false;
  bool avx512vl = false;
  bool avx512bf16 = false;
  bool avx512vnni = false;
};

const CpuFeatures& cpu_features();

/// AVX-512 kernels may run: the CPU has F/BW/VL and M2_KERNELS_MAX_ISA is not "avx2" (which keeps
/// AVX-512 machines on the AVX2 path, so tests cover both).
bool avx512_kernels_allowed();

/// bf16 data meets vdpbf16ps (linear's bf16 weights, attention's bf16 KV cache): AVX-512 allowed,
/// AVX512_BF16 present and M2_KERNELS_BF16_DOT is not "0" (which keeps bf16 on exact f32 paths).
bool bf16_dot_kernels_enabled();

}  // namespace m2
