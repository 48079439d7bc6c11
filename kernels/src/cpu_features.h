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

}  // namespace m2
