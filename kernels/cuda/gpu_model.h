// The CUDA forward pass behind the same step API as the CPU Model (kernels/src/model.h): one
// rank's Qwen2 shard with its weights uploaded once to device memory, an f32 paged KV cache in
// device memory, and a whole step (all layers, logits of the returned rows, sampling on rank 0)
// per call. Plain C++ on purpose: the N-API glue (kernels/src/gpu_binding.cc) is compiled by the
// host compiler and only sees this header; everything CUDA lives in kernels/cuda/*.cu.
//
// Tensor parallelism: with an NCCL group the all-reduces and the logits gather run on the
// device through NCCL on the model's stream; with a host Collective instead (shm/TCP, e.g. two
// ranks sharing one GPU, which NCCL refuses) they are host-staged: device -> pinned host ->
// collective -> device, which costs two PCIe copies per all-reduce.
// Sampling copies the returned rows' logits to the host and runs the CPU's sample_row, so a
// seeded draw is the CPU's draw for the same (seed, choice, position) and logits.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "../src/collective.h"
#include "../src/model.h"
#include "../src/nccl_api.h"

namespace m2 {

struct GpuModelOptions {
  int device = 0;  // CUDA device ordinal (after CUDA_VISIBLE_DEVICES)
  /// Join an NCCL group (every rank passes the same id); else TP > 1 needs a host collective.
  bool use_nccl = false;
  NcclUniqueId nccl_id{};
  std::string nccl_library;  // "" = default search (see load_nccl)
  int collective_timeout_ms = 5000;
};

class GpuModel {
 public:
  /// Allocates the KV cache and scratch on `options.device` and joins the NCCL group when
  /// asked (blocking until every rank joined). `host_collective` (nullable, must outlive the
  /// model) serves TP > 1 without NCCL. Throws std::invalid_argument for a bad shape or limits,
  /// m2::cuda::CudaError (a std::runtime_error) for CUDA failures, CollectiveError for NCCL.
  GpuModel(const ModelShape& shape, const ModelLimits& limits, const GpuModelOptions& options,
           Collective* host_collective);
  ~GpuModel();
  GpuModel(const GpuModel&) = delete;
  GpuModel& operator=(const GpuModel&) = delete;

  const ModelShape& shape() const;
  const ModelLimits& limits() const;
  /// Uploads one tensor (same names, shapes and errors as ModelWeights::set).
  void set_tensor(const std::string& name, const void* data, size_t bytes, DType dtype, const std::vector<int64_t>& dims);
  std::vector<std::string> missing() const;
  size_t bytes_per_token() const;
  /// "single" (TP 1), "nccl" or "host-staged".
  const char* collective_mode() const;
  /// Runs a validated step (see Model::step); blocks until the device finished it.
  StepTimings step(const StepRequest& req, const StepOutputs& out);
  void release_sequence(int64_t id);

  bool try_claim();
  void release();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

/// CUDA devices visible to this process (names in ordinal order); `error` says why none are.
struct CudaDevices {
  std::vector<std::string> names;
  std::string error;
};
CudaDevices cuda_devices();

/// Bytes per second moved by a device-to-device copy of `bytes` (read + write), the median of
/// `iterations` timed copies on `device`.
double cuda_copy_bandwidth(int device, size_t bytes, int iterations);

}  // namespace m2
