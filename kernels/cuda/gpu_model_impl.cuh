// GpuModel's state, shared by the forward pass (gpu_model.cu) and the output stage
// (gpu_outputs.cu). Device scratch is sized once for limits.max_tokens rows; per-step metadata
// buffers grow with the largest step seen.
#pragma once

#include "cublas_abi.h"

#include <atomic>
#include <memory>
#include <unordered_map>
#include <vector>

#include "../src/nccl_collective.h"
#include "device_buffer.cuh"
#include "device_weights.cuh"
#include "gpu_model.h"

namespace m2 {

struct GpuModel::Impl {
  Impl(const ModelShape& shape, const ModelLimits& limits, const GpuModelOptions& options, Collective* host);
  ~Impl();

  void upload_step(const StepRequest& req);
  void embed(const StepRequest& req);
  void layer(int l, const StepRequest& req);
  void capture(int l, const StepRequest& req);
  void outputs(const StepRequest& req, const StepOutputs& out);
  void sample_rows(const StepRequest& req, const StepOutputs& out, int first, int rows);
  void prepare_histories(const StepRequest& req);
  void all_reduce(float* data, size_t count);
  void all_gather(const float* in, float* out, size_t count);
  void finish_stream();

  ModelShape shape;
  ModelLimits limits;
  int device;
  cudaStream_t stream = nullptr;
  cublasHandle_t blas = nullptr;
  cuda::DeviceWeights weights;
  Collective* host_collective;
  cuda::DeviceBuffer<float> barrier_scratch;
  std::unique_ptr<NcclCollective> nccl;

  size_t kv_layer_floats = 0;
  cuda::DeviceBuffer<float> kv_cache;  // per layer: K then V, [num_blocks * block_size, kv_heads * head_dim]
  cuda::DeviceBuffer<float> x, h, q, k, v, attn, gate, up;
  cuda::DeviceBuffer<uint8_t> lowp;  // the GEMM's input in the weight dtype
  cuda::DeviceBuffer<float> inv_freq;

  // Step metadata: one pinned staging area, one device copy, laid out by upload_step.
  std::vector<int32_t> meta_host;
  cuda::PinnedBuffer<int32_t> meta_pinned;
  cuda::DeviceBuffer<int32_t> meta;
  std::vector<uint8_t> masks_host;
  cuda::DeviceBuffer<uint8_t> masks;
  const int32_t* tokens_dev = nullptr;
  const int32_t* positions_dev = nullptr;
  cuda::AttentionBatch batch{};

  // Host staging for host-staged collectives and for the output rows.
  cuda::PinnedBuffer<float> staging;
  std::vector<std::pair<int, int>> row_refs;  // (sequence, row within sequence) per returned row
  cuda::DeviceBuffer<int32_t> out_row_index;
  cuda::DeviceBuffer<float> out_rows, logits, gathered;
  cuda::PinnedBuffer<float> logits_host;
  std::vector<PenaltyState*> seq_history;
  std::unordered_map<int64_t, PenaltyState> histories;
  SamplingScratch sampling_scratch;
  std::atomic<bool> busy{false};
};

}  // namespace m2
