// Range checks for SamplingParams, shared by sample_row and by callers that want to reject a
// request at admission instead of failing its first step.
#include <cmath>
#include <string>

#include "sampling.h"

namespace m2 {

namespace {

[[noreturn]] void reject(const std::string& what) { throw SamplingError("sampling: " + what); }

void check_ids(const char* field, const int32_t* ids, int32_t count, int32_t vocab_size) {
  if (count < 0) reject(std::string(field) + " count must be >= 0");
  if (count > 0 && ids == nullptr) reject(std::string(field) + " is null");
  for (int32_t j = 0; j < count; ++j) {
    if (ids[j] < 0 || ids[j] >= vocab_size) {
      reject(std::string(field) + " id " + std::to_string(ids[j]) + " is outside [0, " + std::to_string(vocab_size) + ")");
    }
  }
}

}  // namespace

void validate_sampling_params(const SamplingParams& p, int32_t vocab_size) {
  if (vocab_size <= 0) reject("vocab_size must be > 0, got " + std::to_string(vocab_size));
  if (!(p.temperature >= 0.0f) || std::isinf(p.temperature)) {
    reject("temperature must be finite and >= 0, got " + std::to_string(p.temperature));
  }
  if (!(p.top_p > 0.0f && p.top_p <= 1.0f)) reject("top_p must be in (0, 1], got " + std::to_string(p.top_p));
  if (!(p.min_p >= 0.0f && p.min_p <= 1.0f)) reject("min_p must be in [0, 1], got " + std::to_string(p.min_p));
  if (!(p.repetition_penalty > 0.0f) || std::isinf(p.repetition_penalty)) {
    reject("repetition_penalty must be finite and > 0, got " + std::to_string(p.repetition_penalty));
  }
  if (!std::isfinite(p.presence_penalty)) reject("presence_penalty must be finite");
  if (!std::isfinite(p.frequency_penalty)) reject("frequency_penalty must be finite");
  if (p.logprobs < -1 || p.logprobs > kMaxLogprobs) {
    reject("logprobs must be in [-1, " + std::to_string(kMaxLogprobs) + "], got " + std::to_string(p.logprobs));
  }
  check_ids("logit_bias", p.logit_bias_ids, p.n_logit_bias, vocab_size);
  if (p.n_logit_bias > 0 && p.logit_bias_values == nullptr) reject("logit_bias values are null");
  for (int32_t j = 0; j < p.n_logit_bias; ++j) {
    if (!std::isfinite(p.logit_bias_values[j])) reject("logit_bias values must be finite");
  }
  check_ids("banned", p.banned_ids, p.n_banned, vocab_size);
}

}  // namespace m2
