#include "device_weights.cuh"

#include <stdexcept>

namespace m2::cuda {
namespace {

std::string dims_text(const std::vector<int64_t>& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + "]";
}

size_t matrix_bytes(const DeviceMatrix& m) { return static_cast<size_t>(m.rows) * m.cols * dtype_size(m.dtype); }

}  // namespace

DeviceWeights::DeviceWeights(const ModelShape& s) : tie_(s.tie_word_embeddings), layers_(s.layers) {
  const int q = s.q_heads * s.head_dim, kv = s.kv_heads * s.head_dim;
  expect_matrix("model.embed_tokens.weight", &embed_, s.vocab_shard(), s.hidden);
  if (!tie_) expect_matrix("lm_head.weight", &lm_head_, s.vocab_shard(), s.hidden);
  expect_vector("model.norm.weight", &final_norm_, s.hidden);
  for (int i = 0; i < s.layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    DeviceLayer& l = layers_[i];
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

void DeviceWeights::expect_matrix(const std::string& name, DeviceMatrix* m, int rows, int cols) {
  m->rows = rows;
  m->cols = cols;
  slots_[name] = Slot{m, nullptr, {rows, cols}};
}

void DeviceWeights::expect_vector(const std::string& name, const float** v, int n) {
  slots_[name] = Slot{nullptr, v, {n}};
}

void DeviceWeights::set(const std::string& name, const void* data, size_t bytes, DType dtype,
                        const std::vector<int64_t>& dims) {
  auto it = slots_.find(name);
  if (it == slots_.end()) throw std::invalid_argument("unexpected tensor '" + name + "' for this model shard");
  const Slot& slot = it->second;
  if (dims != slot.dims)
    throw std::invalid_argument("tensor '" + name + "' has shape " + dims_text(dims) + ", this shard expects " +
                                dims_text(slot.dims));
  size_t elements = 1;
  for (int64_t d : dims) elements *= static_cast<size_t>(d);
  if (bytes != elements * dtype_size(dtype))
    throw std::invalid_argument("tensor '" + name + "': " + std::to_string(bytes) + " bytes for " +
                                std::to_string(elements) + " elements of " + std::to_string(dtype_size(dtype)) +
                                " bytes");
  auto buffer = std::make_unique<DeviceBuffer<uint8_t>>(slot.vector ? elements * sizeof(float) : bytes);
  if (slot.vector) {
    std::vector<float> widened(elements);
    for (size_t i = 0; i < elements; ++i) widened[i] = load_as_f32(data, dtype, i);
    M2_CUDA(cudaMemcpy(buffer->data(), widened.data(), elements * sizeof(float), cudaMemcpyHostToDevice));
    *slot.vector = reinterpret_cast<const float*>(buffer->data());
  } else {
    M2_CUDA(cudaMemcpy(buffer->data(), data, bytes, cudaMemcpyHostToDevice));
    slot.matrix->data = buffer->data();
    slot.matrix->dtype = dtype;
  }
  auto old = storage_.find(name);
  if (old != storage_.end()) device_bytes_ -= old->second->size();
  device_bytes_ += buffer->size();
  storage_[name] = std::move(buffer);
}

std::vector<std::string> DeviceWeights::missing() const {
  std::vector<std::string> out;
  for (const auto& [name, slot] : slots_)
    if (!storage_.count(name)) out.push_back(name);
  return out;
}

size_t DeviceWeights::bytes_per_token() const {
  size_t total = matrix_bytes(lm_head());
  for (const DeviceLayer& l : layers_)
    total += matrix_bytes(l.q) + matrix_bytes(l.k) + matrix_bytes(l.v) + matrix_bytes(l.o) + matrix_bytes(l.gate) +
             matrix_bytes(l.up) + matrix_bytes(l.down);
  return total;
}

}  // namespace m2::cuda
