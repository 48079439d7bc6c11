// AVX2/FMA instantiation of the linear kernel: the baseline every supported CPU has.
#include "linear.h"

#pragma GCC target("avx2,fma,f16c")
#include <immintrin.h>

#include <cmath>

namespace m2 {
namespace {

struct Isa {
  using Vec = __m256;
  static constexpr int kWidth = 8;
  static constexpr int kMR = 4;
  static constexpr int kPackedMR = 2;
  static constexpr int kNR = 2;
  static Vec zero() { return _mm256_setzero_ps(); }
  static Vec load_f32(const float* p) { return _mm256_loadu_ps(p); }
  static Vec load_bf16(const uint16_t* p) {
    __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
  }
  static Vec load_f16(const uint16_t* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  static Vec fma(Vec a, Vec b, Vec c) { return _mm256_fmadd_ps(a, b, c); }
  static float hsum(Vec v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
};

#include "linear_block.inc"

}  // namespace

void linear_block_avx2(const LinearBlock& b) { dispatch_dtype(b); }

}  // namespace m2
