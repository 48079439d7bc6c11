// AVX-512 instantiation of the linear kernel (selected at run time when the CPU has AVX-512F/BW).
#include "linear.h"

#pragma GCC target("avx512f,avx512bw,avx512vl,avx2,fma,f16c")
#include <immintrin.h>

#include <cmath>

namespace m2 {
namespace {

struct Isa {
  using Vec = __m512;
  static constexpr int kWidth = 16;
  static constexpr int kMR = 4;
  static constexpr int kPackedMR = 4;
  static constexpr int kNR = 4;
  static Vec zero() { return _mm512_setzero_ps(); }
  static Vec load_f32(const float* p) { return _mm512_loadu_ps(p); }
  static Vec load_bf16(const uint16_t* p) {
    __m512i wide = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    return _mm512_castsi512_ps(_mm512_slli_epi32(wide, 16));
  }
  static Vec load_f16(const uint16_t* p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  }
  static Vec fma(Vec a, Vec b, Vec c) { return _mm512_fmadd_ps(a, b, c); }
  static float hsum(Vec v) { return _mm512_reduce_add_ps(v); }
};

#include "linear_block.inc"

}  // namespace

void linear_block_avx512(const LinearBlock& b) { dispatch_dtype(b); }

}  // namespace m2
