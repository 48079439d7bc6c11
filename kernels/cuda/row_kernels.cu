// Element-wise and per-row kernels of a Qwen2 layer (embedding, RMSNorm, residual add, SwiGLU,
// RoPE + KV store), matching the CPU's row_ops.cc formulas (f64 RMS sum, f64 cos/sin, expf).
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "cuda_check.cuh"
#include "gpu_kernels.cuh"
#include "weight_types.cuh"

namespace m2::cuda {
namespace {

constexpr int kRowThreads = 256;

template <typename W>
__global__ void embed_kernel(const int32_t* __restrict__ tokens, const W* __restrict__ table, int cols, int vocab_start,
                             int vocab_end, float* __restrict__ x) {
  const int t = blockIdx.x;
  const int id = tokens[t];
  float* row = x + static_cast<size_t>(t) * cols;
  const bool local = id >= vocab_start && id < vocab_end;
  const W* src = table + static_cast<size_t>(local ? id - vocab_start : 0) * cols;
  for (int i = threadIdx.x; i < cols; i += blockDim.x) row[i] = local ? to_f32(src[i]) : 0.0f;
}

// Sum over the block in f64; every thread gets the total.
__device__ double block_sum(double v) {
  __shared__ double partial[kRowThreads / 32];
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  double total = 0.0;
  for (int w = 0; w < kRowThreads / 32; ++w) total += partial[w];
  __syncthreads();
  return total;
}

__global__ void rms_norm_kernel(const float* __restrict__ x, const int32_t* __restrict__ rows, int n,
                                const float* __restrict__ weight, float eps, float* __restrict__ out) {
  const int r = blockIdx.x;
  const float* in = x + static_cast<size_t>(rows ? rows[r] : r) * n;
  double sum = 0.0;
  for (int i = threadIdx.x; i < n; i += blockDim.x) sum += static_cast<double>(in[i]) * in[i];
  sum = block_sum(sum);
  const float inv = static_cast<float>(1.0 / sqrt(sum / n + static_cast<double>(eps)));
  float* o = out + static_cast<size_t>(r) * n;
  for (int i = threadIdx.x; i < n; i += blockDim.x) o[i] = weight[i] * (in[i] * inv);
}

__global__ void add_kernel(float* __restrict__ x, const float* __restrict__ h, size_t n) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<size_t>(gridDim.x) * blockDim.x)
    x[i] += h[i];
}

__global__ void swiglu_kernel(float* __restrict__ gate, const float* __restrict__ up, size_t n) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    const float g = gate[i];
    gate[i] = g / (1.0f + expf(-g)) * up[i];
  }
}

__device__ void rotate_heads(float* v, int heads, int half, float p, const float* inv_freq, float scaling) {
  for (int e = threadIdx.x; e < heads * half; e += blockDim.x) {
    const int h = e / half, i = e % half;
    const float angle = p * inv_freq[i];
    const float c = static_cast<float>(cos(static_cast<double>(angle))) * scaling;
    const float s = static_cast<float>(sin(static_cast<double>(angle))) * scaling;
    float* a = v + static_cast<size_t>(h) * 2 * half;
    const float x1 = a[i], x2 = a[i + half];
    a[i] = x1 * c - x2 * s;
    a[i + half] = x2 * c + x1 * s;
  }
}

__global__ void rope_store_kernel(RopeStore r) {
  const int t = blockIdx.x, half = r.head_dim / 2;
  const int qd = r.q_heads * r.head_dim, kvd = r.kv_heads * r.head_dim;
  const float p = static_cast<float>(r.positions[t]);
  float* k = r.k + static_cast<size_t>(t) * kvd;
  rotate_heads(r.q + static_cast<size_t>(t) * qd, r.q_heads, half, p, r.inv_freq, r.attention_scaling);
  rotate_heads(k, r.kv_heads, half, p, r.inv_freq, r.attention_scaling);
  __syncthreads();
  const size_t at = static_cast<size_t>(r.slots[t]) * kvd;
  const float* v = r.v + static_cast<size_t>(t) * kvd;
  for (int e = threadIdx.x; e < kvd; e += blockDim.x) {
    r.k_cache[at + e] = k[e];
    r.v_cache[at + e] = v[e];
  }
}

int elementwise_blocks(size_t n) {
  const size_t blocks = (n + kRowThreads - 1) / kRowThreads;
  return static_cast<int>(blocks < 65535 ? blocks : 65535);
}

}  // namespace

void embed(cudaStream_t stream, const int32_t* tokens, int T, const DeviceMatrix& table, int vocab_start, float* x) {
  const int end = vocab_start + table.rows;
  switch (table.dtype) {
    case DType::F32:
      embed_kernel<<<T, kRowThreads, 0, stream>>>(tokens, static_cast<const float*>(table.data), table.cols,
                                                   vocab_start, end, x);
      break;
    case DType::F16:
      embed_kernel<<<T, kRowThreads, 0, stream>>>(tokens, static_cast<const __half*>(table.data), table.cols,
                                                   vocab_start, end, x);
      break;
    case DType::BF16:
      embed_kernel<<<T, kRowThreads, 0, stream>>>(tokens, static_cast<const __nv_bfloat16*>(table.data), table.cols,
                                                   vocab_start, end, x);
      break;
  }
  M2_CUDA_LAUNCHED();
}

void rms_norm(cudaStream_t stream, const float* x, const int32_t* rows, int R, int n, const float* weight, float eps,
              float* out) {
  rms_norm_kernel<<<R, kRowThreads, 0, stream>>>(x, rows, n, weight, eps, out);
  M2_CUDA_LAUNCHED();
}

void add_in_place(cudaStream_t stream, float* x, const float* h, size_t n) {
  add_kernel<<<elementwise_blocks(n), kRowThreads, 0, stream>>>(x, h, n);
  M2_CUDA_LAUNCHED();
}

void swiglu(cudaStream_t stream, float* gate, const float* up, size_t n) {
  swiglu_kernel<<<elementwise_blocks(n), kRowThreads, 0, stream>>>(gate, up, n);
  M2_CUDA_LAUNCHED();
}

void rope_and_store(cudaStream_t stream, const RopeStore& r, int T) {
  rope_store_kernel<<<T, kRowThreads / 2, 0, stream>>>(r);
  M2_CUDA_LAUNCHED();
}

}  // namespace m2::cuda
