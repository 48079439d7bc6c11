// One rank's weights in device memory: matrices in their checkpoint dtype (uploaded once, read
// by every step), norms and biases widened to f32. Names and expected shapes are the shard
// geometry's, as ModelWeights checks them on the CPU.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "../src/model_weights.h"
#include "device_buffer.cuh"
#include "gpu_kernels.cuh"

namespace m2::cuda {

struct DeviceLayer {
  DeviceMatrix q, k, v, o, gate, up, down;
  const float *input_norm = nullptr, *post_attention_norm = nullptr;
  const float *q_bias = nullptr, *k_bias = nullptr, *v_bias = nullptr;
};

class DeviceWeights {
 public:
  explicit DeviceWeights(const ModelShape& shape);

  /// Validates like ModelWeights::set (std::invalid_argument) and copies the tensor to the device.
  void set(const std::string& name, const void* data, size_t bytes, DType dtype, const std::vector<int64_t>& dims);
  std::vector<std::string> missing() const;
  size_t bytes_per_token() const;
  size_t device_bytes() const { return device_bytes_; }

  const DeviceLayer& layer(int i) const { return layers_[i]; }
  const DeviceMatrix& embedding() const { return embed_; }
  const DeviceMatrix& lm_head() const { return tie_ ? embed_ : lm_head_; }
  const float* final_norm() const { return final_norm_; }

 private:
  struct Slot {
    DeviceMatrix* matrix = nullptr;
    const float** vector = nullptr;
    std::vector<int64_t> dims;
  };
  void expect_matrix(const std::string& name, DeviceMatrix* m, int rows, int cols);
  void expect_vector(const std::string& name, const float** v, int n);

  bool tie_;
  std::vector<DeviceLayer> layers_;
  DeviceMatrix embed_, lm_head_;
  const float* final_norm_ = nullptr;
  std::map<std::string, Slot> slots_;
  std::map<std::string, std::unique_ptr<DeviceBuffer<uint8_t>>> storage_;
  size_t device_bytes_ = 0;
};

}  // namespace m2::cuda
