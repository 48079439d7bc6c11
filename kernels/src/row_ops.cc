#include "row_ops.h"

#include <cmath>

#include "vec_math.h"

namespace m2 {

void rms_norm_row(const float* x, const float* weight, float eps, int n, float* out) {
  double sum = 0.0;
  for (int i = 0; i < n; ++i) sum += static_cast<double>(x[i]) * x[i];
  const float inv = static_cast<float>(1.0 / std::sqrt(sum / n + eps));
  for (int i = 0; i < n; ++i) out[i] = weight[i] * (x[i] * inv);
}

void rope_angles(const float* inv_freq, int half, float attention_scaling, int position, float* cos_out,
                 float* sin_out) {
  const float p = static_cast<float>(position);
  for (int i = 0; i < half; ++i) {
    const float angle = p * inv_freq[i];
    cos_out[i] = static_cast<float>(std::cos(static_cast<double>(angle))) * attention_scaling;
    sin_out[i] = static_cast<float>(std::sin(static_cast<double>(angle))) * attention_scaling;
  }
}

void rope_rotate(float* v, int heads, int half, const float* cos, const float* sin) {
  for (int h = 0; h < heads; ++h) {
    float* a = v + static_cast<size_t>(h) * 2 * half;
    float* b = a + half;
    for (int i = 0; i < half; ++i) {
      const float x1 = a[i], x2 = b[i];
      a[i] = x1 * cos[i] - x2 * sin[i];
      b[i] = x2 * cos[i] + x1 * sin[i];
    }
  }
}

M2_AVX2 inline __m256 swiglu8(__m256 g, __m256 u) {
  const __m256 silu = _mm256_div_ps(g, _mm256_add_ps(_mm256_set1_ps(1.0f), exp8(_mm256_sub_ps(_mm256_setzero_ps(), g))));
  return _mm256_mul_ps(silu, u);
}

// Eight lanes at a time, the last partial group masked (masked stores are slow on AMD cores, so
// only the tail uses them): every element takes the same exp8 path, whatever n is.
M2_AVX2 void swiglu_row(const float* gate, const float* up, int n, float* out) {
  int i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, swiglu8(_mm256_loadu_ps(gate + i), _mm256_loadu_ps(up + i)));
  if (i < n) {
    const __m256i keep = _mm256_cmpgt_epi32(_mm256_set1_epi32(n - i), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    _mm256_maskstore_ps(out + i, keep, swiglu8(_mm256_maskload_ps(gate + i, keep), _mm256_maskload_ps(up + i, keep)));
  }
}

}  // namespace m2
