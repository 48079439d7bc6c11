// The per-token element-wise pieces of a Qwen2 layer (RMSNorm, rotary embedding, SwiGLU). Each
// works on one token's row, so a token's result is the same in any batch; the forward pass runs
// them over rows in parallel.
#pragma once

#include "dtype.h"

namespace m2 {

/// out = x * rsqrt(mean(x^2) + eps) * weight, f32 throughout like HF's Qwen2RMSNorm.
void rms_norm_row(const float* x, const float* weight, float eps, int n, float* out);

/// cos/sin of position * inv_freq[i] (f32 product, as HF computes it) times attention_scaling
/// (YaRN's mscale; 1 otherwise), for i in [0, half).
void rope_angles(const float* inv_freq, int half, float attention_scaling, int position, float* cos_out,
                 float* sin_out);

/// Rotates `heads` consecutive heads of head_dim = 2 * half in place, rotate-half layout (HF
/// Qwen2: the pair is (i, i + half), not interleaved).
void rope_rotate(float* v, int heads, int half, const float* cos, const float* sin);

/// out = silu(gate) * up.
void swiglu_row(const float* gate, const float* up, int n, float* out);

}  // namespace m2
