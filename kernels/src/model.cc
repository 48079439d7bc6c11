#include "model.h"

#include <chrono>
#include <cstring>
#include <stdexcept>
#include <string>

#include "row_ops.h"

namespace m2 {

Model::Model(const ModelShape& shape, const ModelLimits& limits, Collective* collective)
    : shape_(shape), limits_(limits), collective_(collective), weights_(shape), pool_(limits.threads) {
  const ModelShape& s = shape_;
  if (s.hidden <= 0 || s.layers <= 0 || s.q_heads <= 0 || s.kv_heads <= 0 || s.head_dim <= 0 ||
      s.head_dim % 2 != 0 || s.intermediate <= 0 || s.vocab <= 0)
    throw std::invalid_argument("model shape: sizes must be positive and head_dim even");
  if (s.q_heads % s.kv_heads != 0) throw std::invalid_argument("model shape: q heads must be a multiple of kv heads");
  if (s.vocab_start < 0 || s.vocab_end > s.vocab || s.vocab_start >= s.vocab_end)
    throw std::invalid_argument("model shape: vocab shard range is outside [0, vocab)");
  if (static_cast<int>(s.rope_inv_freq.size()) != s.head_dim / 2)
    throw std::invalid_argument("model shape: rope inv_freq needs head_dim / 2 entries");
  if (s.world_size > 1 && (!collective_ || collective_->world_size() != s.world_size || collective_->rank() != s.rank))
    throw std::invalid_argument("model shape: TP world_size > 1 needs a collective of the same rank and size");
  if (limits.threads < 1 || limits.max_tokens < 1 || limits.num_blocks < 1 || limits.block_size < 1 ||
      limits.max_model_len < 1)
    throw std::invalid_argument("model limits: threads, max_tokens, num_blocks, block_size, max_model_len must be >= 1");
  kv_ = KvGeometry{limits.num_blocks, limits.block_size, s.kv_heads, s.head_dim, limits.kv_dtype};
  const size_t kv_bytes = kv_.layer_bytes() * 2 * s.layers;
  kv_cache_ = allocate_huge(kv_bytes, "the KV cache");
  std::memset(kv_cache_.get(), 0, kv_bytes);
  const size_t T = limits.max_tokens;
  x_.resize(T * s.hidden);
  h_.resize(T * s.hidden);
  q_.resize(T * s.q_heads * s.head_dim);
  attn_.resize(q_.size());
  k_.resize(T * kv_.token_stride());
  v_.resize(k_.size());
  gate_.resize(T * s.intermediate);
  up_.resize(gate_.size());
  cos_.resize(T * s.head_dim / 2);
  sin_.resize(cos_.size());
  attn_seqs_.reserve(T);
  row_refs_.reserve(T);
  groups_.reserve(kLogitRows + 1);
  seq_history_.reserve(T);
  out_rows_.resize(static_cast<size_t>(kLogitRows) * s.hidden);
  logits_.resize(static_cast<size_t>(kLogitRows) * s.vocab);
  if (s.world_size > 1) gathered_.resize(static_cast<size_t>(kLogitRows) * s.vocab_shard() * s.world_size);
  sampling_scratch_.resize(pool_.size());
}

KvLayer Model::kv_layer(int l) {
  uint8_t* base = kv_cache_.get() + 2 * kv_.layer_bytes() * l;
  return KvLayer{base, base + kv_.layer_bytes()};
}

void Model::all_reduce(float* data, size_t count) {
  if (collective_ && shape_.world_size > 1) collective_->all_reduce_sum(data, count);
}

StepTimings Model::step(const StepRequest& req, const StepOutputs& out) {
  const auto t0 = std::chrono::steady_clock::now();
  if (collective_) collective_->take_wait_ns();
  attn_seqs_.clear();
  for (const StepSequence& s : req.seqs) {
    attn_seqs_.push_back({s.start, s.count, req.positions[s.start], s.block_table, s.n_blocks, req.slots + s.start,
                          s.tree_mask});
  }
  embed(req);
  for (int l = 0; l < shape_.layers; ++l) {
    capture(l, req);
    layer(l, req);
  }
  capture(shape_.layers, req);
  outputs(req, out);
  StepTimings t;
  t.forward_ns = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count());
  if (collective_) t.collective_ns = collective_->take_wait_ns();
  return t;
}

void Model::embed(const StepRequest& req) {
  const int H = shape_.hidden, half = shape_.head_dim / 2;
  const WeightMatrix& table = weights_.embedding();
  pool_.run(req.n_tokens, [&](int t, int) {
    float* row = x_.data() + static_cast<size_t>(t) * H;
    if (req.hidden_in) {
      std::memcpy(row, req.hidden_in + static_cast<size_t>(t) * H, sizeof(float) * H);
    } else {
      const int id = req.tokens[t];
      if (id >= shape_.vocab_start && id < shape_.vocab_end)
        weight_row(table, id - shape_.vocab_start, row);
      else
        std::memset(row, 0, sizeof(float) * H);
    }
    rope_angles(shape_.rope_inv_freq.data(), half, shape_.rope_attention_scaling, req.positions[t],
                cos_.data() + static_cast<size_t>(t) * half, sin_.data() + static_cast<size_t>(t) * half);
  });
  if (!req.hidden_in) all_reduce(x_.data(), static_cast<size_t>(req.n_tokens) * H);
}

void Model::capture(int l, const StepRequest& req) {
  const size_t H = shape_.hidden;
  for (const StepSequence& s : req.seqs) {
    for (int c = 0; c < s.n_capture; ++c) {
      if (s.capture_layers[c] != l) continue;
      std::memcpy(s.capture_out + c * s.count * H, x_.data() + s.start * H, sizeof(float) * s.count * H);
    }
  }
}

void Model::layer(int l, const StepRequest& req) {
  const LayerWeights& w = weights_.layer(l);
  const int T = req.n_tokens, H = shape_.hidden, half = shape_.head_dim / 2;
  const int qd = shape_.q_heads * shape_.head_dim, kvd = shape_.kv_heads * shape_.head_dim;
  const int I = shape_.intermediate;
  const float eps = shape_.rms_norm_eps;
  pool_.run(T, [&](int t, int) {
    rms_norm_row(x_.data() + static_cast<size_t>(t) * H, w.input_norm.data(), eps, H, h_.data() + static_cast<size_t>(t) * H);
  });
  const LinearJob qkv[3] = {{&w.q, w.q_bias.data(), q_.data(), qd},
                            {&w.k, w.k_bias.data(), k_.data(), kvd},
                            {&w.v, w.v_bias.data(), v_.data(), kvd}};
  linear(pool_, h_.data(), H, T, qkv, 3);
  pool_.run(T, [&](int t, int) {
    const float* c = cos_.data() + static_cast<size_t>(t) * half;
    const float* s = sin_.data() + static_cast<size_t>(t) * half;
    rope_rotate(q_.data() + static_cast<size_t>(t) * qd, shape_.q_heads, half, c, s);
    rope_rotate(k_.data() + static_cast<size_t>(t) * kvd, shape_.kv_heads, half, c, s);
  });
  const KvLayer kv = kv_layer(l);
  kv_store(kv_, kv, k_.data(), v_.data(), req.slots, T);
  paged_attention(pool_, kv_, kv, q_.data(), shape_.q_heads, attn_seqs_.data(), static_cast<int>(attn_seqs_.size()), T,
                  attn_.data());
  const LinearJob o{&w.o, nullptr, h_.data(), H};
  linear(pool_, attn_.data(), qd, T, &o, 1);
  all_reduce(h_.data(), static_cast<size_t>(T) * H);
  pool_.run(T, [&](int t, int) {
    float* x = x_.data() + static_cast<size_t>(t) * H;
    float* h = h_.data() + static_cast<size_t>(t) * H;
    for (int i = 0; i < H; ++i) x[i] += h[i];
    rms_norm_row(x, w.post_attention_norm.data(), eps, H, h);
  });
  const LinearJob gate_up[2] = {{&w.gate, nullptr, gate_.data(), I}, {&w.up, nullptr, up_.data(), I}};
  linear(pool_, h_.data(), H, T, gate_up, 2);
  pool_.run(T, [&](int t, int) {
    const size_t at = static_cast<size_t>(t) * I;
    swiglu_row(gate_.data() + at, up_.data() + at, I, gate_.data() + at);
  });
  const LinearJob down{&w.down, nullptr, h_.data(), H};
  linear(pool_, gate_.data(), I, T, &down, 1);
  all_reduce(h_.data(), static_cast<size_t>(T) * H);
  pool_.run(T, [&](int t, int) {
    float* x = x_.data() + static_cast<size_t>(t) * H;
    const float* h = h_.data() + static_cast<size_t>(t) * H;
    for (int i = 0; i < H; ++i) x[i] += h[i];
  });
}

}  // namespace m2
