// Linear layers on the GPU. Decode (M <= kGemvMaxRows) is bound by reading the weights once:
// one warp streams one weight row with 16-byte loads (four in flight per lane) and applies it
// to every token row, f32 accumulation and a fixed shuffle reduction, so a row's result is the
// same for any M up to kGemvMaxRows. Prefill goes to cuBLAS (bf16/f16 tensor cores, f32
// accumulate and output), after converting the f32 activations to the weight's type.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <type_traits>

#include "cuda_check.cuh"
#include "gpu_kernels.cuh"
#include "weight_types.cuh"

namespace m2::cuda {
namespace {

constexpr int kGemvWarps = 8;
constexpr int kGemvUnroll = 4;

__device__ __forceinline__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// Weight loads bypass L1: each weight byte is read once per step.
__device__ __forceinline__ uint4 stream_load(const uint4* p) {
  uint4 v;
  asm volatile("ld.global.nc.L1::no_allocate.v4.u32 {%0, %1, %2, %3}, [%4];"
               : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
               : "l"(p));
  return v;
}

// kVec: K * sizeof(W) and ldx are multiples of 16 bytes, so rows load as uint4 / float4.
template <typename W, bool kVec>
__global__ void __launch_bounds__(kGemvWarps * 32)
    gemv_kernel(const float* __restrict__ x, int ldx, int M, const W* __restrict__ w, int N, int K,
                const float* __restrict__ bias, float* __restrict__ y, int ldy) {
  const int lane = threadIdx.x % 32;
  const int n = blockIdx.x * kGemvWarps + threadIdx.x / 32;
  if (n >= N) return;
  const W* row = w + static_cast<size_t>(n) * K;
  float acc[kGemvMaxRows];
#pragma unroll
  for (int m = 0; m < kGemvMaxRows; ++m) acc[m] = 0.0f;
  if constexpr (kVec) {
    constexpr int E = 16 / sizeof(W);  // weights per 16-byte load
    const int chunks = K / E;
    const uint4* rv = reinterpret_cast<const uint4*>(row);
    for (int c0 = lane; c0 < chunks; c0 += 32 * kGemvUnroll) {
      uint4 raw[kGemvUnroll];
#pragma unroll
      for (int u = 0; u < kGemvUnroll; ++u) {
        const int c = c0 + u * 32;
        raw[u] = c < chunks ? stream_load(rv + c) : make_uint4(0, 0, 0, 0);
      }
#pragma unroll
      for (int u = 0; u < kGemvUnroll; ++u) {
        const int c = c0 + u * 32;
        if (c >= chunks) break;
        const W* e = reinterpret_cast<const W*>(&raw[u]);
        float wf[E];
#pragma unroll
        for (int j = 0; j < E; ++j) wf[j] = to_f32(e[j]);
#pragma unroll
        for (int m = 0; m < kGemvMaxRows; ++m) {
          if (m >= M) break;
          const float4* xr = reinterpret_cast<const float4*>(x + static_cast<size_t>(m) * ldx + c * E);
          float s = 0.0f;
#pragma unroll
          for (int j = 0; j < E / 4; ++j) {
            const float4 xv = xr[j];
            s = fmaf(wf[4 * j], xv.x, s);
            s = fmaf(wf[4 * j + 1], xv.y, s);
            s = fmaf(wf[4 * j + 2], xv.z, s);
            s = fmaf(wf[4 * j + 3], xv.w, s);
          }
          acc[m] += s;
        }
      }
    }
  } else {
    for (int k = lane; k < K; k += 32) {
      const float wk = to_f32(row[k]);
#pragma unroll
      for (int m = 0; m < kGemvMaxRows; ++m)
        if (m < M) acc[m] = fmaf(wk, x[static_cast<size_t>(m) * ldx + k], acc[m]);
    }
  }
  const float b = bias ? bias[n] : 0.0f;
#pragma unroll
  for (int m = 0; m < kGemvMaxRows; ++m) {
    if (m >= M) break;
    const float total = warp_sum(acc[m]);
    if (lane == 0) y[static_cast<size_t>(m) * ldy + n] = total + b;
  }
}

template <typename W>
void launch_gemv(cudaStream_t stream, const float* x, int ldx, int M, const DeviceMatrix& w, const float* bias,
                 float* y, int ldy) {
  const int blocks = (w.rows + kGemvWarps - 1) / kGemvWarps;
  const bool vec = (static_cast<size_t>(w.cols) * sizeof(W)) % 16 == 0 && ldx % 4 == 0 &&
                   reinterpret_cast<uintptr_t>(w.data) % 16 == 0 && reinterpret_cast<uintptr_t>(x) % 16 == 0;
  const W* data = static_cast<const W*>(w.data);
  if (vec)
    gemv_kernel<W, true><<<blocks, kGemvWarps * 32, 0, stream>>>(x, ldx, M, data, w.rows, w.cols, bias, y, ldy);
  else
    gemv_kernel<W, false><<<blocks, kGemvWarps * 32, 0, stream>>>(x, ldx, M, data, w.rows, w.cols, bias, y, ldy);
  M2_CUDA_LAUNCHED();
}

template <typename W>
__global__ void convert_kernel(const float* __restrict__ x, int ldx, int M, int K, W* __restrict__ out) {
  const size_t n = static_cast<size_t>(M) * K;
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    const float v = x[(i / K) * ldx + i % K];
    if constexpr (std::is_same_v<W, __half>) out[i] = __float2half_rn(v);
    else out[i] = __float2bfloat16_rn(v);
  }
}

__global__ void bias_kernel(float* __restrict__ y, int ldy, int M, int N, const float* __restrict__ bias) {
  const size_t n = static_cast<size_t>(M) * N;
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<size_t>(gridDim.x) * blockDim.x)
    y[(i / N) * ldy + i % N] += bias[i % N];
}

int grid_for(size_t n) {
  const size_t blocks = (n + 255) / 256;
  return static_cast<int>(blocks < 65535 ? blocks : 65535);
}

cudaDataType cuda_type(DType t) {
  switch (t) {
    case DType::F16: return CUDA_R_16F;
    case DType::BF16: return CUDA_R_16BF;
    case DType::F32: return CUDA_R_32F;
  }
  return CUDA_R_32F;
}

// Row-major y[M, N] = x[M, K] W[N, K]^T is column-major y^T = W^T(op T on the [K, N] view) x^T.
void gemm(cublasHandle_t blas, cudaStream_t stream, const float* x, int ldx, int M, const DeviceMatrix& w,
          const float* bias, float* y, int ldy, void* lowp) {
  const void* input = x;
  int ld_input = ldx;
  if (w.dtype != DType::F32) {
    const size_t n = static_cast<size_t>(M) * w.cols;
    if (w.dtype == DType::F16)
      convert_kernel<<<grid_for(n), 256, 0, stream>>>(x, ldx, M, w.cols, static_cast<__half*>(lowp));
    else
      convert_kernel<<<grid_for(n), 256, 0, stream>>>(x, ldx, M, w.cols, static_cast<__nv_bfloat16*>(lowp));
    M2_CUDA_LAUNCHED();
    input = lowp;
    ld_input = w.cols;
  }
  const float alpha = 1.0f, beta = 0.0f;
  M2_CUBLAS(cublasSetStream(blas, stream));
  M2_CUBLAS(cublasGemmEx(blas, CUBLAS_OP_T, CUBLAS_OP_N, w.rows, M, w.cols, &alpha, w.data, cuda_type(w.dtype),
                         w.cols, input, cuda_type(w.dtype), ld_input, &beta, y, CUDA_R_32F, ldy, CUBLAS_COMPUTE_32F,
                         CUBLAS_GEMM_DEFAULT));
  if (bias) {
    bias_kernel<<<grid_for(static_cast<size_t>(M) * w.rows), 256, 0, stream>>>(y, ldy, M, w.rows, bias);
    M2_CUDA_LAUNCHED();
  }
}

}  // namespace

void linear(cublasHandle_t blas, cudaStream_t stream, const float* x, int ldx, int M, const DeviceMatrix& w,
            const float* bias, float* y, int ldy, void* lowp) {
  if (M > kGemvMaxRows) return gemm(blas, stream, x, ldx, M, w, bias, y, ldy, lowp);
  switch (w.dtype) {
    case DType::F32: return launch_gemv<float>(stream, x, ldx, M, w, bias, y, ldy);
    case DType::F16: return launch_gemv<__half>(stream, x, ldx, M, w, bias, y, ldy);
    case DType::BF16: return launch_gemv<__nv_bfloat16>(stream, x, ldx, M, w, bias, y, ldy);
  }
}

}  // namespace m2::cuda
