// Per-sequence token counts for repetition / presence / frequency penalties, updated by
// position so that replayed positions (preemption) and rolled-back ones (speculative
// rejection) keep the counts exact.
#include <string>

#include "sampling.h"

namespace m2 {

PenaltyState::PenaltyState(int32_t prompt_len) : prompt_len_(prompt_len) {
  if (prompt_len < 0) {
    throw SamplingError("penalty history: prompt_len must be >= 0, got " + std::to_string(prompt_len),
                        "ERR_PENALTY_HISTORY");
  }
}

void PenaltyState::append(int32_t token, int32_t position) {
  if (token < 0) {
    throw SamplingError("penalty history: token id must be >= 0, got " + std::to_string(token),
                        "ERR_PENALTY_HISTORY");
  }
  if (position >= 0 && position < length()) {
    if (tokens_[position] == token) return;
    throw SamplingError("penalty history: position " + std::to_string(position) + " holds token " +
                            std::to_string(tokens_[position]) + ", not " + std::to_string(token) +
                            " (truncate before rewriting a position)",
                        "ERR_PENALTY_HISTORY");
  }
  if (position != length()) {
    throw SamplingError("penalty history: position " + std::to_string(position) +
                            " is not the next one (length " + std::to_string(length()) + ")",
                        "ERR_PENALTY_HISTORY");
  }
  auto [it, inserted] = slot_.try_emplace(token, static_cast<int32_t>(counts_.size()));
  if (inserted) counts_.push_back({token, 0, 0});
  TokenCount& c = counts_[it->second];
  (position < prompt_len_ ? c.prompt : c.output) += 1;
  tokens_.push_back(token);
}

void PenaltyState::truncate(int32_t length) {
  if (length < 0) {
    throw SamplingError("penalty history: truncate length must be >= 0, got " + std::to_string(length),
                        "ERR_PENALTY_HISTORY");
  }
  while (this->length() > length) {
    const int32_t position = this->length() - 1;
    TokenCount& c = counts_[slot_.at(tokens_.back())];
    (position < prompt_len_ ? c.prompt : c.output) -= 1;
    tokens_.pop_back();
  }
}

TokenCount PenaltyState::count_of(int32_t id) const {
  const auto it = slot_.find(id);
  return it == slot_.end() ? TokenCount{id, 0, 0} : counts_[it->second];
}

}  // namespace m2
