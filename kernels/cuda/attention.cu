// Paged attention for prefill, decode, chunked prefill and tree verification in one kernel: a
// warp per (row, query head) walks the sequence's cached positions through its block table and
// then the step's own visible rows, with an online softmax in f32. Keys are visited in a fixed
// order whatever the batch, so a row's output does not depend on what else is in the step.
// GQA: query head h reads kv head h / (q_heads / kv_heads).
#include "cuda_check.cuh"
#include "gpu_kernels.cuh"

namespace m2::cuda {
namespace {

constexpr int kWarpsPerBlock = 4;
constexpr int kPerLane = kMaxHeadDim / 32;

struct OnlineSoftmax {
  float max = -INFINITY;
  float sum = 0.0f;
  float acc[kPerLane];
};

__device__ __forceinline__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// Folds key/value row `kv_off` (floats from the cache base) into the running softmax.
__device__ __forceinline__ void attend_key(OnlineSoftmax& st, const float (&q)[kPerLane], const float* k_cache,
                                           const float* v_cache, size_t kv_off, int d, int lane, float scale) {
  float partial = 0.0f;
#pragma unroll
  for (int j = 0; j < kPerLane; ++j) {
    const int e = lane + 32 * j;
    if (e < d) partial = fmaf(q[j], k_cache[kv_off + e], partial);
  }
  const float score = warp_sum(partial) * scale;
  const float next_max = fmaxf(st.max, score);
  const float correction = expf(st.max - next_max);
  const float p = expf(score - next_max);
  st.sum = st.sum * correction + p;
#pragma unroll
  for (int j = 0; j < kPerLane; ++j) {
    const int e = lane + 32 * j;
    if (e < d) st.acc[j] = fmaf(p, v_cache[kv_off + e], st.acc[j] * correction);
  }
  st.max = next_max;
}

__global__ void __launch_bounds__(kWarpsPerBlock * 32)
    attention_kernel(AttentionBatch b, const float* __restrict__ q, const float* __restrict__ k_cache,
                     const float* __restrict__ v_cache, int T, int q_heads, int kv_heads, int d,
                     float* __restrict__ out) {
  const int t = blockIdx.x;
  const int h = blockIdx.y * kWarpsPerBlock + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (h >= q_heads) return;
  const int s = b.token_seq[t];
  const int start = b.seq_start[s], count = b.seq_count[s], context = b.seq_context[s];
  const int i = t - start;
  const int32_t* blocks = b.block_tables + b.seq_blocks[s];
  const uint8_t* mask = b.seq_mask[s] >= 0 ? b.tree_masks + b.seq_mask[s] : nullptr;
  const size_t kvd = static_cast<size_t>(kv_heads) * d;
  const size_t head_off = static_cast<size_t>(h / (q_heads / kv_heads)) * d;
  const float scale = 1.0f / sqrtf(static_cast<float>(d));  // as the CPU computes it

  float qv[kPerLane];
  OnlineSoftmax st;
  const float* qrow = q + static_cast<size_t>(t) * q_heads * d + static_cast<size_t>(h) * d;
#pragma unroll
  for (int j = 0; j < kPerLane; ++j) {
    const int e = lane + 32 * j;
    qv[j] = e < d ? qrow[e] : 0.0f;
    st.acc[j] = 0.0f;
  }
  for (int p = 0; p < context; ++p) {
    const size_t slot = static_cast<size_t>(blocks[p / b.block_size]) * b.block_size + p % b.block_size;
    attend_key(st, qv, k_cache, v_cache, slot * kvd + head_off, d, lane, scale);
  }
  for (int j = 0; j < count; ++j) {
    const bool visible = mask ? mask[static_cast<size_t>(i) * count + j] != 0 : j <= i;
    if (!visible) continue;
    attend_key(st, qv, k_cache, v_cache, static_cast<size_t>(b.slots[start + j]) * kvd + head_off, d, lane, scale);
  }
  float* o = out + static_cast<size_t>(t) * q_heads * d + static_cast<size_t>(h) * d;
  const float inv = 1.0f / st.sum;
#pragma unroll
  for (int j = 0; j < kPerLane; ++j) {
    const int e = lane + 32 * j;
    if (e < d) o[e] = st.acc[j] * inv;
  }
}

}  // namespace

void paged_attention(cudaStream_t stream, const AttentionBatch& b, const float* q, const float* k_cache,
                     const float* v_cache, int T, int q_heads, int kv_heads, int head_dim, float* out) {
  const dim3 grid(T, (q_heads + kWarpsPerBlock - 1) / kWarpsPerBlock);
  attention_kernel<<<grid, kWarpsPerBlock * 32, 0, stream>>>(b, q, k_cache, v_cache, T, q_heads, kv_heads, head_dim,
                                                             out);
  M2_CUDA_LAUNCHED();
}

}  // namespace m2::cuda
