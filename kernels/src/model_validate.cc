// Checks a step request against the model before it runs off the JS thread, so a malformed
// request is a clear error and never an out-of-bounds read in the forward pass.
#include <stdexcept>
#include <string>

#include "model.h"

namespace m2 {
namespace {

[[noreturn]] void bad(const std::string& what) { throw std::invalid_argument("step: " + what); }

std::string seq_name(const StepSequence& s) { return "sequence " + std::to_string(s.id); }

void validate_sequence(const ModelShape& shape, const ModelLimits& limits, const StepRequest& req,
                       const StepSequence& s);

}  // namespace

void Model::validate(const StepRequest& req) const { validate_step_request(shape_, limits_, req); }

void validate_step_request(const ModelShape& shape, const ModelLimits& limits, const StepRequest& req) {
  if (req.n_tokens < 1 || req.n_tokens > limits.max_tokens)
    bad("needs 1.." + std::to_string(limits.max_tokens) + " tokens, got " + std::to_string(req.n_tokens));
  if (!req.tokens == !req.hidden_in) bad("give exactly one of tokens or hiddenStates");
  if (req.seqs.empty()) bad("no sequences");
  const size_t slots = static_cast<size_t>(limits.num_blocks) * limits.block_size;
  for (int t = 0; t < req.n_tokens; ++t) {
    if (req.tokens && (req.tokens[t] < 0 || req.tokens[t] >= shape.vocab))
      bad("token " + std::to_string(req.tokens[t]) + " at row " + std::to_string(t) + " is outside the vocabulary");
    if (req.positions[t] < 0 || req.positions[t] >= limits.max_model_len)
      bad("position " + std::to_string(req.positions[t]) + " at row " + std::to_string(t) + " is outside [0, " +
          std::to_string(limits.max_model_len) + ")");
    if (req.slots[t] < 0 || static_cast<size_t>(req.slots[t]) >= slots)
      bad("slot " + std::to_string(req.slots[t]) + " at row " + std::to_string(t) + " is outside the KV cache (" +
          std::to_string(slots) + " slots)");
  }
  int next = 0;
  for (const StepSequence& s : req.seqs) {
    if (s.start != next || s.count < 1) bad(seq_name(s) + ": rows must be contiguous and non-empty");
    next += s.count;
    if (next > req.n_tokens) bad(seq_name(s) + ": rows run past the token list");
    validate_sequence(shape, limits, req, s);
  }
  if (next != req.n_tokens) bad("sequences cover " + std::to_string(next) + " of " + std::to_string(req.n_tokens) + " rows");
}

namespace {

void validate_sequence(const ModelShape& shape, const ModelLimits& limits, const StepRequest& req,
                       const StepSequence& s) {
  const int context = req.positions[s.start];
  for (int j = 1; j < s.count; ++j) {
    const int p = req.positions[s.start + j];
    if (!s.tree_mask && p != context + j)
      bad(seq_name(s) + ": positions must be consecutive without a tree mask");
    if (s.tree_mask && p <= context) bad(seq_name(s) + ": tree rows after the root need positions past it");
  }
  const int needed_blocks = (context + limits.block_size - 1) / limits.block_size;
  if (s.n_blocks < needed_blocks)
    bad(seq_name(s) + ": block table has " + std::to_string(s.n_blocks) + " blocks, context " +
        std::to_string(context) + " needs " + std::to_string(needed_blocks));
  for (int b = 0; b < s.n_blocks; ++b)
    if (s.block_table[b] < 0 || s.block_table[b] >= limits.num_blocks)
      bad(seq_name(s) + ": block " + std::to_string(s.block_table[b]) + " is outside the KV cache");
  for (int o = 0; o < s.n_outputs; ++o) {
    if (s.outputs[o] < 0 || s.outputs[o] >= s.count) bad(seq_name(s) + ": output row outside the sequence");
    if (o > 0 && s.outputs[o] <= s.outputs[o - 1]) bad(seq_name(s) + ": output rows must ascend");
  }
  for (int c = 0; c < s.n_capture; ++c)
    if (s.capture_layers[c] < 0 || s.capture_layers[c] > shape.layers)
      bad(seq_name(s) + ": capture layer " + std::to_string(s.capture_layers[c]) + " is outside [0, " +
          std::to_string(shape.layers) + "]");
  if (s.prompt_len < 0) bad(seq_name(s) + ": promptLen must be >= 0");
  if (req.sample && s.n_outputs > 0 && shape.rank == 0) validate_sampling_params(s.sampling, shape.vocab);
}

}  // namespace

}  // namespace m2
