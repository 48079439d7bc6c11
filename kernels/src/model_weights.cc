#include "model_weights.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace m2 {
namespace {

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

}  // namespace

ModelWeights::ModelWeights(const ModelShape& s) : shape_(s), layers_(s.layers) {
  const int q = s.q_heads * s.head_dim, kv = s.kv_heads * s.head_dim;
  expect_matrix("model.embed_tokens.weight", &embed_, s.vocab_shard(), s.hidden);
  if (!s.tie_word_embeddings) expect_matrix("lm_head.weight", &lm_head_, s.vocab_shard(), s.hidden);
  expect_vector("model.norm.weight", &final_norm_, s.hidden);
  for (int i = 0; i < s.layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    LayerWeights& l = layers_[i];
    expect_vector(p + "input_layernorm.weight", &l.input_norm, s.hidden);
    expect_vector(p + "post_attention_layernorm.weight", &l.post_attention_norm, s.hidden);
    expect_matrix(p + "self_attn.q_proj.weight", &l.q, q, s.hidden);
    expect_matrix(p + "self_attn.k_proj.weight", &l.k, kv, s.hidden);
    expect_matrix(p + "self_attn.v_proj.weight", &l.v, kv, s.hidden);
    expect_vector(p + "self_attn.q_proj.bias", &l.q_bias, q);
    expect_vector(p + "self_attn.k_proj.bias", &l.k_bias, kv);
    expect_vector(p + "self_attn.v_proj.bias", &l.v_bias, kv);
    expect_matrix(p + "self_attn.o_proj.weight", &l.o, s.hidden, q);
    expect_matrix(p + "mlp.gate_proj.weight", &l.gate, s.intermediate, s.hidden);
    expect_matrix(p + "mlp.up_proj.weight", &l.up, s.intermediate, s.hidden);
    expect_matrix(p + "mlp.down_proj.weight", &l.down, s.hidden, s.intermediate);
  }
}

void ModelWeights::expect_matrix(const std::string& name, WeightMatrix* m, int rows, int cols) {
  m->rows = rows;
  m->cols = cols;
  slots_[name] = Slot{m, nullptr, {rows, cols}};
}

void ModelWeights::expect_vector(const std::string& name, std::vector<float>* v, int n) {
  slots_[name] = Slot{nullptr, v, {n}};
}

void ModelWeights::set(const std::string& name, const void* data, size_t bytes, DType dtype,
                       const std::vector<int64_t>& shape) {
  auto it = slots_.find(name);
  if (it == slots_.end()) throw std::invalid_argument("unexpected tensor '" + name + "' for this model shard");
  const Slot& slot = it->second;
  if (shape != slot.shape) {
    throw std::invalid_argument("tensor '" + name + "' has shape " + shape_text(shape) + ", this shard expects " +
                                shape_text(slot.shape));
  }
  size_t elements = 1;
  for (int64_t d : shape) elements *= static_cast<size_t>(d);
  if (bytes != elements * dtype_size(dtype)) {
    throw std::invalid_argument("tensor '" + name + "': " + std::to_string(bytes) + " bytes for " +
                                std::to_string(elements) + " elements of " + std::to_string(dtype_size(dtype)) +
                                " bytes");
  }
  if (slot.vector) {
    slot.vector->resize(elements);
    for (size_t i = 0; i < elements; ++i) (*slot.vector)[i] = load_as_f32(data, dtype, i);
  } else {
    // Every matrix is repacked for the linear kernel's sequential stream; the embedding table
    // too (lookups read single rows out of the packed form, and tied, it is the lm_head).
    const int rows = slot.matrix->rows, cols = slot.matrix->cols;
    HugeBuffer mem = allocate_huge(packed_bytes(dtype, rows, cols), "tensor '" + name + "'");
    pack_weights(data, dtype, rows, cols, mem.get());
    slot.matrix->layout = packed_layout(dtype);
    slot.matrix->data = mem.get();
    storage_.erase(name);
    storage_.emplace(name, std::move(mem));
    slot.matrix->dtype = dtype;
  }
  loaded_[name] = true;
}

std::vector<std::string> ModelWeights::missing() const {
  std::vector<std::string> out;
  for (const auto& [name, slot] : slots_)
    if (!loaded_.count(name)) out.push_back(name);
  std::sort(out.begin(), out.end());
  return out;
}

size_t ModelWeights::bytes_per_token() const {
  auto bytes = [](const WeightMatrix& m) { return static_cast<size_t>(m.rows) * m.cols * dtype_size(m.dtype); };
  size_t total = bytes(lm_head());
  for (const LayerWeights& l : layers_)
    total += bytes(l.q) + bytes(l.k) + bytes(l.v) + bytes(l.o) + bytes(l.gate) + bytes(l.up) + bytes(l.down);
  return total;
}

}  // namespace m2
