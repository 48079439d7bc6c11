// The tensors one rank holds for a Qwen2 decoder: the shard's slice of every matrix (the JS
// loader slices; this checks each shape against the shard geometry). Matrices keep their
// checkpoint dtype in 64-byte aligned native memory; vectors (norms, biases) become f32.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "huge_buffer.h"
#include "linear.h"

namespace m2 {

/// Geometry of this rank's shard. Head, intermediate and vocab counts are the shard's own.
struct ModelShape {
  int hidden = 0;
  int layers = 0;
  int q_heads = 0;
  int kv_heads = 0;
  int head_dim = 0;
  int intermediate = 0;
  int vocab = 0;        // full vocabulary (sampling sees all of it)
  int vocab_start = 0;  // this rank's rows of embed_tokens / lm_head
  int vocab_end = 0;
  float rms_norm_eps = 1e-6f;
  bool tie_word_embeddings = false;
  std::vector<float> rope_inv_freq;  // head_dim / 2 entries
  float rope_attention_scaling = 1.0f;
  int rank = 0;
  int world_size = 1;

  int vocab_shard() const { return vocab_end - vocab_start; }
};

struct LayerWeights {
  std::vector<float> input_norm, post_attention_norm;
  WeightMatrix q, k, v, o, gate, up, down;
  std::vector<float> q_bias, k_bias, v_bias;
};

class ModelWeights {
 public:
  explicit ModelWeights(const ModelShape& shape);

  /// Copies one tensor in. Throws std::invalid_argument for an unknown name, a shape that does
  /// not match the shard geometry, or a byte count that does not match shape and dtype.
  void set(const std::string& name, const void* data, size_t bytes, DType dtype, const std::vector<int64_t>& shape);
  /// Names still expected (empty once the model can run).
  std::vector<std::string> missing() const;
  /// Bytes of weight matrices one decoded token reads (all layers + lm_head of this shard).
  size_t bytes_per_token() const;

  const LayerWeights& layer(int i) const { return layers_[i]; }
  const WeightMatrix& embedding() const { return embed_; }
  const WeightMatrix& lm_head() const { return shape_.tie_word_embeddings ? embed_ : lm_head_; }
  const std::vector<float>& final_norm() const { return final_norm_; }

 private:
  struct Slot {
    WeightMatrix* matrix = nullptr;
    std::vector<float>* vector = nullptr;
    std::vector<int64_t> shape;
  };
  void expect_matrix(const std::string& name, WeightMatrix* m, int rows, int cols);
  void expect_vector(const std::string& name, std::vector<float>* v, int n);

  ModelShape shape_;
  std::vector<LayerWeights> layers_;
  WeightMatrix embed_, lm_head_;
  std::vector<float> final_norm_;
  std::unordered_map<std::string, Slot> slots_;
  std::unordered_map<std::string, HugeBuffer> storage_;
  std::unordered_map<std::string, bool> loaded_;
};

}  // namespace m2
