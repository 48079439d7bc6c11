// Sampling on rank 0, per returned position, with every parameter of the Step request.
// Randomness is counter-based: the uniform draw for a row is a pure function of
// (seed, choice_index, output_position), so a seeded request samples the same tokens alone,
// in any batch and in any arrival order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace m2 {

constexpr int kMaxLogprobs = 20;

struct SamplingParams {
  float temperature = 0.0f;  // 0 = greedy (argmax, lowest id wins ties)
  int32_t top_k = 0;         // 0 or <0 = off
  float top_p = 1.0f;
  float min_p = 0.0f;
  float repetition_penalty = 1.0f;  // over prompt + output tokens (HF/vLLM semantics)
  float presence_penalty = 0.0f;    // over output tokens
  float frequency_penalty = 0.0f;   // over output tokens
  uint64_t seed = 0;
  uint32_t choice_index = 0;
  int32_t logprobs = -1;  // -1 = none; 0 = sampled token only; k (<= 20) = also top-k
  const int32_t* logit_bias_ids = nullptr;
  const float* logit_bias_values = nullptr;
  int32_t n_logit_bias = 0;
  const int32_t* banned_ids = nullptr;
  int32_t n_banned = 0;
  const uint32_t* allowed_bitmask = nullptr;  // nullable; bit i of word i/32 set = token i allowed
};

/// Token history of one sequence, kept on rank 0 for penalties (the step request never resends
/// history). Positions below prompt_len are prompt tokens.
struct PenaltyState;

struct SampleResult {
  int32_t token = -1;
  float logprob = 0.0f;  // log-softmax of the raw (pre-penalty, temperature 1) logits
  int32_t n_top = 0;
  int32_t top_ids[kMaxLogprobs];
  float top_logprobs[kMaxLogprobs];
};

}  // namespace m2
