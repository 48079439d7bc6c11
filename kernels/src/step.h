// One forward step of the flat-batch step API (DESIGN.md "WorkerService.Step"): prefill, decode,
// chunked prefill and speculative verification are all this one request. Pointers are borrowed
// from the caller (the JS typed arrays of the request and of the preallocated outputs) for the
// duration of the step.
#pragma once

#include <cstdint>
#include <vector>

#include "sampling.h"

namespace m2 {

struct StepSequence {
  int64_t id = 0;
  int start = 0;  // first row in the flat batch
  int count = 0;  // rows of this sequence (positions[start] is its context length)
  const int32_t* block_table = nullptr;
  int n_blocks = 0;
  const int32_t* outputs = nullptr;  // ascending row indices within the sequence that return a token
  int n_outputs = 0;
  const uint8_t* tree_mask = nullptr;  // nullable [count, count]; row i lists the step rows i sees
  int prompt_len = 0;                  // for penalty history: positions below it are prompt
  SamplingParams sampling;
  const int32_t* capture_layers = nullptr;  // hidden state entering layer L (L == layers: final, pre-norm)
  int n_capture = 0;
  float* capture_out = nullptr;  // [n_capture, count, hidden]
};

struct StepRequest {
  const int32_t* tokens = nullptr;     // [n_tokens], or null when hidden_in is given
  const float* hidden_in = nullptr;    // [n_tokens, hidden] (a later pipeline stage's input)
  int n_tokens = 0;
  const int32_t* positions = nullptr;  // [n_tokens]
  const int32_t* slots = nullptr;      // [n_tokens] KV slot of each row
  std::vector<StepSequence> seqs;      // in batch order, rows contiguous
  bool sample = true;                  // rank 0 samples; false only returns logits
};

/// Outputs for the n_out returned rows, in sequence order then output order.
struct StepOutputs {
  int32_t* ids = nullptr;            // [n_out]
  float* logprobs = nullptr;         // [n_out]
  int32_t* n_top = nullptr;          // [n_out]
  int32_t* top_ids = nullptr;        // [n_out, kMaxLogprobs]
  float* top_logprobs = nullptr;     // [n_out, kMaxLogprobs]
  float* logits = nullptr;           // nullable [n_out, vocab]: raw logits (tests, diagnostics)
};

struct StepTimings {
  uint64_t forward_ns = 0;
  uint64_t collective_ns = 0;
};

}  // namespace m2
