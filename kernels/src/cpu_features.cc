#include "cpu_features.h"

#include <cstdlib>
#include <string>

namespace m2 {

static CpuFeatures detect() {
  CpuFeatures f;
  __builtin_cpu_init();
  f.avx2 = __builtin_cpu_supports("avx2");
  f.fma = __builtin_cpu_supports("fma");
  f.avx512f = __builtin_cpu_supports("avx512f");
  f.avx512bw = __builtin_cpu_supports("avx512bw");
  f.avx512vl = __builtin_cpu_supports("avx512vl");
  f.avx512vnni = __builtin_cpu_supports("avx512vnni");
  // gcc 12 has no __builtin_cpu_supports("avx512bf16"/"f16c"): read CPUID directly.
  unsigned a, b, c, d;
  __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
  f.f16c = (c >> 29) & 1;
  __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(7), "c"(1));
  f.avx512bf16 = f.avx512f && ((a >> 5) & 1);
  return f;
}

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = detect();
  return features;
}

bool avx512_kernels_allowed() {
  const CpuFeatures& f = cpu_features();
  const char* cap = std::getenv("M2_KERNELS_MAX_ISA");
  return !(cap && std::string(cap) == "avx2") && f.avx512f && f.avx512bw && f.avx512vl;
}

bool bf16_dot_kernels_enabled() {
  const char* flag = std::getenv("M2_KERNELS_BF16_DOT");
  return avx512_kernels_allowed() && cpu_features().avx512bf16 && !(flag && std::string(flag) == "0");
}

}  // namespace m2
