#include "row_ops.h"

#include <cmath>

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

void swiglu_row(const float* gate, const float* up, int n, float* out) {
  for (int i = 0; i < n; ++i) out[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

}  // namespace m2
