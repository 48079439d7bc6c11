// The end of a GPU step: final norm and lm_head for the returned rows only (on the device),
// the vocab-parallel gather, then rank 0 copies the logits to pinned host memory and samples
// with the CPU's sample_row and penalty histories, so GPU and CPU draw the same tokens from the
// same logits (the RNG contract of sampling.h). A device-side sampler is a later optimisation:
// the copy is 4 * vocab bytes per returned row.
#include <cstring>
#include <string>

#include "gpu_model_impl.cuh"

namespace m2 {
namespace {

bool uses_penalties(const SamplingParams& p) {
  return p.repetition_penalty != 1.0f || p.presence_penalty != 0.0f || p.frequency_penalty != 0.0f;
}

// Records the sequence's step tokens up to row `last` (a tree step records only its root).
void record_rows(PenaltyState& h, const StepRequest& req, const StepSequence& s, int last) {
  const int context = req.positions[s.start];
  if (s.tree_mask) last = 0;
  for (int j = h.length() - context; j <= last; ++j) h.append(req.tokens[s.start + j], context + j);
}

}  // namespace

void GpuModel::Impl::prepare_histories(const StepRequest& req) {
  seq_history.clear();
  for (const StepSequence& s : req.seqs) {
    PenaltyState* hist = nullptr;
    if (req.sample && req.tokens && s.n_outputs > 0 && uses_penalties(s.sampling)) {
      hist = &histories.try_emplace(s.id, s.prompt_len).first->second;
      const int context = req.positions[s.start];
      if (hist->length() < context)
        throw SamplingError("sequence " + std::to_string(s.id) + ": penalties need its whole history, but rank 0 has " +
                                std::to_string(hist->length()) + " tokens and the step starts at position " +
                                std::to_string(context) + " (send the uncached prefix once)",
                            "ERR_PENALTY_HISTORY");
      hist->truncate(context);
    }
    seq_history.push_back(hist);
  }
}

void GpuModel::Impl::outputs(const StepRequest& req, const StepOutputs& out) {
  const bool root = shape.rank == 0;
  row_refs.clear();
  for (int si = 0; si < static_cast<int>(req.seqs.size()); ++si)
    for (int o = 0; o < req.seqs[si].n_outputs; ++o) row_refs.push_back({si, req.seqs[si].outputs[o]});
  if (root) prepare_histories(req);
  const int H = shape.hidden, vs = shape.vocab_shard(), V = shape.vocab;
  const int n_out = static_cast<int>(row_refs.size());
  int32_t index[kLogitRows];
  for (int first = 0; first < n_out; first += kLogitRows) {
    const int rows = n_out - first < kLogitRows ? n_out - first : kLogitRows;
    for (int r = 0; r < rows; ++r) index[r] = req.seqs[row_refs[first + r].first].start + row_refs[first + r].second;
    M2_CUDA(cudaMemcpyAsync(out_row_index.data(), index, sizeof(int32_t) * rows, cudaMemcpyHostToDevice, stream));
    cuda::rms_norm(stream, x.data(), out_row_index.data(), rows, H, weights.final_norm(), shape.rms_norm_eps,
                   out_rows.data());
    cuda::linear(blas, stream, out_rows.data(), H, rows, weights.lm_head(), nullptr, logits.data(), vs, lowp.data());
    if (shape.world_size > 1) {
      all_gather(logits.data(), gathered.data(), static_cast<size_t>(kLogitRows) * vs);
      // Rank w's rows sit at gathered[w][r]; the full row r is the ranks' slices side by side.
      if (root)
        for (int w = 0; w < shape.world_size; ++w)
          M2_CUDA(cudaMemcpy2DAsync(logits_host.data() + static_cast<size_t>(w) * vs, sizeof(float) * V,
                                    gathered.data() + static_cast<size_t>(w) * kLogitRows * vs, sizeof(float) * vs,
                                    sizeof(float) * vs, rows, cudaMemcpyDeviceToHost, stream));
    } else if (root) {
      M2_CUDA(cudaMemcpyAsync(logits_host.data(), logits.data(), sizeof(float) * rows * V, cudaMemcpyDeviceToHost,
                              stream));
    }
    if (!root) continue;
    finish_stream();
    if (out.logits)
      std::memcpy(out.logits + static_cast<size_t>(first) * V, logits_host.data(), sizeof(float) * rows * V);
    if (req.sample) sample_rows(req, out, first, rows);
  }
  if (!root) return;
  for (size_t si = 0; si < req.seqs.size(); ++si)
    if (seq_history[si]) record_rows(*seq_history[si], req, req.seqs[si], req.seqs[si].count - 1);
}

void GpuModel::Impl::sample_rows(const StepRequest& req, const StepOutputs& out, int first, int rows) {
  const int V = shape.vocab;
  for (int r = 0; r < rows; ++r) {
    const auto [si, row] = row_refs[first + r];
    const StepSequence& s = req.seqs[si];
    PenaltyState* history = seq_history[si];
    if (history) record_rows(*history, req, s, row);
    const SampleResult res = sample_row(logits_host.data() + static_cast<size_t>(r) * V, V, s.sampling, history,
                                        req.positions[s.start + row] + 1, sampling_scratch);
    const int o = first + r;
    out.ids[o] = res.token;
    out.logprobs[o] = res.logprob;
    out.n_top[o] = res.n_top;
    std::memcpy(out.top_ids + static_cast<size_t>(o) * kMaxLogprobs, res.top_ids, sizeof(int32_t) * res.n_top);
    std::memcpy(out.top_logprobs + static_cast<size_t>(o) * kMaxLogprobs, res.top_logprobs, sizeof(float) * res.n_top);
  }
}

}  // namespace m2
