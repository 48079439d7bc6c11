// A Qwen2 decoder shard that runs a whole step (all layers, logits, sampling on rank 0) in one
// native call. Scratch, KV cache and thread pool are sized at creation for the largest step
// (max_tokens rows), so a step allocates nothing but the penalty history of new sequences.
// With a collective (TP > 1) the shard is column-parallel for QKV/gate/up, row-parallel for
// o_proj/down_proj (followed by all_reduce_sum) and vocab-parallel for embedding and lm_head.
#pragma once

#include <atomic>
#include <cstdlib>
#include <memory>
#include <unordered_map>
#include <vector>

#include "collective.h"
#include "model_weights.h"
#include "paged_attention.h"
#include "step.h"
#include "thread_pool.h"

namespace m2 {

/// Returned rows finished per pass (final norm, lm_head, gather, sampling).
constexpr int kLogitRows = 16;

struct ModelLimits {
  int threads = 1;
  int max_tokens = 2048;  // rows per step
  int num_blocks = 0;
  int block_size = 16;
  int max_model_len = 0;  // positions at or past it are refused
  DType kv_dtype = DType::F32;
};

/// The checks of Model::validate for any backend with this shape and these limits (the CUDA
/// model shares them): throws std::invalid_argument naming the offending field.
void validate_step_request(const ModelShape& shape, const ModelLimits& limits, const StepRequest& req);

class Model {
 public:
  /// collective may be null for TP = 1; it must outlive the model.
  Model(const ModelShape& shape, const ModelLimits& limits, Collective* collective);

  ModelWeights& weights() { return weights_; }
  const ModelShape& shape() const { return shape_; }
  const ModelLimits& limits() const { return limits_; }

  /// Throws std::invalid_argument (with the offending field) when the request does not fit
  /// this model: call on the JS thread before step() runs off it.
  void validate(const StepRequest& req) const;
  /// Runs the step; outputs are written on rank 0 only.
  StepTimings step(const StepRequest& req, const StepOutputs& out);
  /// Forgets the penalty history of finished sequences.
  void release_sequence(int64_t id) { histories_.erase(id); }

  /// One step at a time: the binding claims the model before queueing a step.
  bool try_claim() { return !busy_.exchange(true); }
  void release() { busy_.store(false); }

 private:
  void embed(const StepRequest& req);
  void layer(int l, const StepRequest& req);
  void capture(int l, const StepRequest& req);
  void outputs(const StepRequest& req, const StepOutputs& out);
  void prepare_histories(const StepRequest& req);
  void sample_chunk(const StepRequest& req, const StepOutputs& out, int first_row, int rows);
  void all_reduce(float* data, size_t count);
  KvLayer kv_layer(int l);

  ModelShape shape_;
  ModelLimits limits_;
  Collective* collective_;
  ModelWeights weights_;
  ThreadPool pool_;
  KvGeometry kv_;
  HugeBuffer kv_cache_{nullptr, std::free};
  // Scratch sized for max_tokens rows.
  std::vector<float> x_, h_, q_, k_, v_, attn_, gate_, up_, cos_, sin_;
  std::vector<AttentionSequence> attn_seqs_;
  // Output rows are finished kLogitRows at a time: bounds the logits scratch at any batch.
  std::vector<float> out_rows_, logits_, gathered_;
  std::vector<std::pair<int, int>> row_refs_;  // (sequence, row within sequence) per returned row
  std::vector<int> groups_;                    // chunk rows where a new sequence starts
  std::vector<PenaltyState*> seq_history_;     // per sequence of the step; null without penalties
  std::vector<SamplingScratch> sampling_scratch_;
  std::unordered_map<int64_t, PenaltyState> histories_;
  std::atomic<bool> busy_{false};
};

}  // namespace m2
