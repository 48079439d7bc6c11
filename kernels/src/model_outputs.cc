// The end of a step: final norm and lm_head for the returned rows only, the vocab-parallel
// gather, and sampling on rank 0 with each sequence's penalty history.
#include <cstring>
#include <string>

#include "model.h"
#include "row_ops.h"

namespace m2 {
namespace {

bool uses_penalties(const SamplingParams& p) {
  return p.repetition_penalty != 1.0f || p.presence_penalty != 0.0f || p.frequency_penalty != 0.0f;
}

// Records the sequence's step tokens up to row `last` (a tree step records only its root: the
// other rows are alternatives, not a history).
void record_rows(PenaltyState& h, const StepRequest& req, const StepSequence& s, int last) {
  const int context = req.positions[s.start];
  if (s.tree_mask) last = 0;
  for (int j = h.length() - context; j <= last; ++j) h.append(req.tokens[s.start + j], context + j);
}

}  // namespace

void Model::prepare_histories(const StepRequest& req) {
  seq_history_.clear();
  for (const StepSequence& s : req.seqs) {
    PenaltyState* h = nullptr;
    if (req.sample && req.tokens && s.n_outputs > 0 && uses_penalties(s.sampling)) {
      h = &histories_.try_emplace(s.id, s.prompt_len).first->second;
      const int context = req.positions[s.start];
      if (h->length() < context)
        throw SamplingError("sequence " + std::to_string(s.id) + ": penalties need its whole history, but rank 0 has " +
                                std::to_string(h->length()) + " tokens and the step starts at position " +
                                std::to_string(context) + " (send the uncached prefix once)",
                            "ERR_PENALTY_HISTORY");
      h->truncate(context);
    }
    seq_history_.push_back(h);
  }
}

void Model::outputs(const StepRequest& req, const StepOutputs& out) {
  const bool root = shape_.rank == 0;
  row_refs_.clear();
  for (int si = 0; si < static_cast<int>(req.seqs.size()); ++si)
    for (int o = 0; o < req.seqs[si].n_outputs; ++o) row_refs_.push_back({si, req.seqs[si].outputs[o]});
  if (root) prepare_histories(req);
  const int H = shape_.hidden, vs = shape_.vocab_shard(), V = shape_.vocab;
  const int n_out = static_cast<int>(row_refs_.size());
  for (int first = 0; first < n_out; first += kLogitRows) {
    const int rows = n_out - first < kLogitRows ? n_out - first : kLogitRows;
    pool_.run(rows, [&](int r, int) {
      const auto [si, row] = row_refs_[first + r];
      const size_t token = static_cast<size_t>(req.seqs[si].start + row);
      rms_norm_row(x_.data() + token * H, weights_.final_norm().data(), shape_.rms_norm_eps, H,
                   out_rows_.data() + static_cast<size_t>(r) * H);
    });
    const LinearJob head{&weights_.lm_head(), nullptr, logits_.data(), vs};
    linear(pool_, out_rows_.data(), H, rows, &head, 1);
    if (shape_.world_size > 1) {
      collective_->all_gather(logits_.data(), gathered_.data(), static_cast<size_t>(kLogitRows) * vs);
      if (root) {
        for (int w = 0; w < shape_.world_size; ++w)
          for (int r = 0; r < rows; ++r)
            std::memcpy(logits_.data() + static_cast<size_t>(r) * V + static_cast<size_t>(w) * vs,
                        gathered_.data() + (static_cast<size_t>(w) * kLogitRows + r) * vs, sizeof(float) * vs);
      }
    }
    if (!root) continue;
    if (out.logits)
      std::memcpy(out.logits + static_cast<size_t>(first) * V, logits_.data(), sizeof(float) * rows * V);
    if (req.sample) sample_chunk(req, out, first, rows);
  }
  if (!root) return;
  for (size_t si = 0; si < req.seqs.size(); ++si)
    if (seq_history_[si]) record_rows(*seq_history_[si], req, req.seqs[si], req.seqs[si].count - 1);
}

void Model::sample_chunk(const StepRequest& req, const StepOutputs& out, int first, int rows) {
  groups_.clear();
  for (int r = 0; r < rows; ++r)
    if (r == 0 || row_refs_[first + r].first != row_refs_[first + r - 1].first) groups_.push_back(r);
  groups_.push_back(rows);
  const int V = shape_.vocab;
  // One task per sequence: its rows share a penalty history, appended in row order.
  pool_.run(static_cast<int>(groups_.size()) - 1, [&](int g, int thread) {
    for (int r = groups_[g]; r < groups_[g + 1]; ++r) {
      const auto [si, row] = row_refs_[first + r];
      const StepSequence& s = req.seqs[si];
      PenaltyState* history = seq_history_[si];
      if (history) record_rows(*history, req, s, row);
      const SampleResult res = sample_row(logits_.data() + static_cast<size_t>(r) * V, V, s.sampling, history,
                                          req.positions[s.start + row] + 1, sampling_scratch_[thread]);
      const int o = first + r;
      out.ids[o] = res.token;
      out.logprobs[o] = res.logprob;
      out.n_top[o] = res.n_top;
      std::memcpy(out.top_ids + static_cast<size_t>(o) * kMaxLogprobs, res.top_ids, sizeof(int32_t) * res.n_top);
      std::memcpy(out.top_logprobs + static_cast<size_t>(o) * kMaxLogprobs, res.top_logprobs, sizeof(float) * res.n_top);
    }
  });
}

}  // namespace m2
