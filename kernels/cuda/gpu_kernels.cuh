// Launchers of the CUDA kernels of one Qwen2 step. Every kernel computes a token's row (or a
// (token, head) pair) alone with a fixed reduction order, like the CPU kernels, so a row's result
// does not depend on the rest of the batch (the GEMV path; cuBLAS's prefill GEMM picks its own
// reduction order per shape, see linear()). All work is enqueued on `stream`; nothing syncs.
#pragma once

#include "cublas_abi.h"
#include <cuda_runtime.h>

#include <cstdint>

#include "../src/dtype.h"

namespace m2::cuda {

/// A device weight matrix [rows = outputs, cols = inputs], row-major, in its checkpoint dtype.
struct DeviceMatrix {
  const void* data = nullptr;
  DType dtype = DType::F32;
  int rows = 0;
  int cols = 0;
};

/// Rows at or below this use the bandwidth-bound GEMV kernel; above it, cuBLAS.
constexpr int kGemvMaxRows = 8;
/// Query/key head_dim limit of the attention kernel (8 values per lane of a warp).
constexpr int kMaxHeadDim = 256;

/// y[m, 0:w.rows] (row stride ldy) = x[m, :] w^T + bias for m < M; x has row stride ldx.
/// `lowp` is scratch of >= M * w.cols elements of w's dtype (the GEMM's converted input).
void linear(cublasHandle_t blas, cudaStream_t stream, const float* x, int ldx, int M, const DeviceMatrix& w,
            const float* bias, float* y, int ldy, void* lowp);

/// x[t] = embedding row tokens[t] - vocab_start when inside [vocab_start, vocab_end), else 0.
void embed(cudaStream_t stream, const int32_t* tokens, int T, const DeviceMatrix& table, int vocab_start, float* x);

/// out[r] = rms_norm(x[rows ? rows[r] : r]) * weight, r < R (f64 sum of squares, like the CPU).
void rms_norm(cudaStream_t stream, const float* x, const int32_t* rows, int R, int n, const float* weight, float eps,
              float* out);

/// x += h, element-wise over n floats.
void add_in_place(cudaStream_t stream, float* x, const float* h, size_t n);

/// gate = silu(gate) * up over n floats.
void swiglu(cudaStream_t stream, float* gate, const float* up, size_t n);

/// Rotary embedding of q [T, q_heads * head_dim] and k [T, kv_heads * head_dim] in place at
/// positions[t] (rotate-half layout), then k and v rows stored to the paged cache at slots[t].
struct RopeStore {
  float* q;
  float* k;
  const float* v;
  int q_heads, kv_heads, head_dim;
  const int32_t* positions;
  const float* inv_freq;  // head_dim / 2
  float attention_scaling;
  const int32_t* slots;
  float* k_cache;  // [slots, kv_heads * head_dim]
  float* v_cache;
};
void rope_and_store(cudaStream_t stream, const RopeStore& r, int T);

/// Per-step attention metadata on the device (see paged_attention.h for the semantics).
struct AttentionBatch {
  const int32_t* token_seq;    // [T] sequence index of each row
  const int32_t* seq_start;    // [S] first row
  const int32_t* seq_count;    // [S] rows
  const int32_t* seq_context;  // [S] cached positions before the step
  const int32_t* seq_blocks;   // [S] offset into block_tables
  const int32_t* seq_mask;     // [S] offset into tree_masks, -1 = causal
  const int32_t* block_tables;
  const uint8_t* tree_masks;
  const int32_t* slots;        // [T]
  int block_size;
};

/// out[t, h] = softmax(q[t, h] . K^T / sqrt(d)) V over the sequence's context then its visible
/// step rows, one warp per (row, query head), keys in that fixed order (online softmax).
void paged_attention(cudaStream_t stream, const AttentionBatch& b, const float* q, const float* k_cache,
                     const float* v_cache, int T, int q_heads, int kv_heads, int head_dim, float* out);

}  // namespace m2::cuda
