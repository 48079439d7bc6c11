// Sampling on rank 0, per returned position, with every parameter of the Step request.
// Randomness is counter-based: the uniform draw for a row is a pure function of
// (seed, choice_index, output_position), so a seeded request samples the same tokens alone,
// in any batch and in any arrival order.
//
// Order of operations (vLLM's, written down so that every backend matches it):
//   raw logits -> logprobs (log-softmax of the RAW logits, vLLM's default "raw_logprobs")
//   -> logit_bias -> banned ids (-inf) -> allowed-token bitmask (others excluded)
//   -> repetition penalty over prompt+output tokens (HF rule: divide positive, multiply
//      negative logits) -> frequency and presence penalties over output tokens
//   -> temperature == 0: argmax (lowest id wins ties); else
//   -> softmax(logits / temperature) -> min_p (drop p < min_p * p_max, as vLLM v1 does
//      before top-k/top-p) -> top_k (largest k, ties to lower id) -> top_p (smallest prefix of
//      the survivors sorted by probability, renormalised, whose mass reaches top_p)
//   -> draw: one uniform u in [0,1) from Philox4x32-10 keyed by the seed with counter
//      (position, choice_index, lane 0, 0); inverse CDF over the survivors in ASCENDING TOKEN
//      ID order (not probability order: a tiny logit change then moves the draw only when u
//      lies next to a boundary).
// Weights below e^-87 of the largest one count as zero (float exp underflow, made explicit).
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

namespace m2 {

constexpr int kMaxLogprobs = 20;

/// Thrown by every sampling failure. `code()` is stable (surfaced to JS as `err.code`):
/// ERR_SAMPLING_PARAMS (a parameter is out of range), ERR_SAMPLING_NO_TOKEN (bans, bitmask
/// and penalties left no token with a finite logit), ERR_SAMPLING_LOGITS (NaN in the logits),
/// ERR_PENALTY_HISTORY (a history update that contradicts the recorded tokens).
class SamplingError : public std::runtime_error {
 public:
  explicit SamplingError(const std::string& what, const char* code = "ERR_SAMPLING_PARAMS")
      : std::runtime_error(what), code_(code) {}
  const char* code() const { return code_; }

 private:
  const char* code_;
};

struct SamplingParams {
  float temperature = 0.0f;  // 0 = greedy (argmax, lowest id wins ties)
  int32_t top_k = 0;         // 0 or <0 = off
  float top_p = 1.0f;        // (0, 1]
  float min_p = 0.0f;        // [0, 1]
  float repetition_penalty = 1.0f;  // > 0, over prompt + output tokens (HF/vLLM semantics)
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
  const uint32_t* allowed_bitmask = nullptr;  // nullable; bit i%32 of word i/32 set = token i allowed
};

/// Occurrences of one token id in a sequence's history.
struct TokenCount {
  int32_t id;
  int32_t prompt;  // positions < prompt_len
  int32_t output;  // positions >= prompt_len
};

/// Token history of one sequence, kept on rank 0 for penalties (the step request never resends
/// history). Positions below prompt_len are prompt tokens. Counts are kept per distinct id so a
/// step touches only the ids the sequence has seen, never the whole history or vocabulary.
/// Not thread-safe; one sequence is sampled by one thread at a time.
class PenaltyState {
 public:
  explicit PenaltyState(int32_t prompt_len);

  /// Records `token` at `position`. position == length() appends; re-feeding the same token
  /// at an already recorded position is a no-op (preemption replays positions); a different
  /// token there, or a gap, throws ERR_PENALTY_HISTORY (truncate first).
  void append(int32_t token, int32_t position);
  /// Forgets positions >= length (rejected speculative tokens); no-op when length >= length().
  void truncate(int32_t length);

  int32_t length() const { return static_cast<int32_t>(tokens_.size()); }
  int32_t prompt_len() const { return prompt_len_; }
  /// One entry per distinct id ever recorded; entries may hold zero counts after truncate.
  const std::vector<TokenCount>& counts() const { return counts_; }
  /// The counts of `id` ({id, 0, 0} when never seen).
  TokenCount count_of(int32_t id) const;

 private:
  int32_t prompt_len_;
  std::vector<int32_t> tokens_;
  std::unordered_map<int32_t, int32_t> slot_;  // id -> index into counts_
  std::vector<TokenCount> counts_;
};

struct SampleResult {
  int32_t token = -1;
  float logprob = 0.0f;  // log-softmax of the raw logits; valid when params.logprobs >= 0
  int32_t n_top = 0;     // = params.logprobs when > 0; descending logprob, ties to lower id
  int32_t top_ids[kMaxLogprobs];
  float top_logprobs[kMaxLogprobs];
};

/// Buffers reused across calls so sample_row never allocates once warmed up (grows to the
/// largest vocabulary seen). Keep one per thread; rows sampled on different threads with
/// different scratches are independent. Its members are internal to sample_row.
struct SamplingScratch {
  struct Candidate {
    float weight;
    int32_t id;
  };
  std::vector<float> weights;            // per vocab id: softmax numerator after filters
  std::vector<double> chunk_mass;        // per kWeightChunk ids: sum of weights
  std::vector<Candidate> candidates;     // the largest weights, for top-k / top-p
  std::vector<std::pair<int32_t, float>> raw_edits;  // (id, raw logit) of every edited entry
};

/// Validates `params` against the vocabulary: throws SamplingError(ERR_SAMPLING_PARAMS) with
/// the offending field. Cheap (O(n_logit_bias + n_banned)); sample_row calls it too.
void validate_sampling_params(const SamplingParams& params, int32_t vocab_size);

/// Samples the token at sequence position `position` from one row of f32 logits.
/// `logits` (vocab_size floats) is edited in place (bias, bans, penalties land in it), so the
/// caller must not read it as raw logits afterwards. `history` may be null (no penalties).
/// Deterministic: the result depends only on the arguments. Throws SamplingError.
SampleResult sample_row(float* logits, int32_t vocab_size, const SamplingParams& params,
                        const PenaltyState* history, int32_t position, SamplingScratch& scratch);

/// The draw steps of sample_row over a filled weight row (`weights` = softmax numerators after
/// min_p and the bitmask, `chunk_mass` = their sums per kWeightChunk ids), given the uniform u.
/// Inverse CDF over ascending ids; returns the drawn id (only ids with weight > 0 are drawn).
constexpr int32_t kWeightChunk = 1024;
int32_t draw_from_weights(const float* weights, const double* chunk_mass, int32_t vocab_size, double u);
/// Same, after top_k / top_p: the largest weights are gathered and the cut found by selection;
/// weights and chunk_mass are then zeroed / recomputed past the cut before the walk.
int32_t draw_from_top(const SamplingParams& params, float* weights, double* chunk_mass, int32_t vocab_size,
                      double u, std::vector<SamplingScratch::Candidate>& candidates);

/// Philox4x32-10 (Salmon et al., SC'11): counter-based, 4 words out per (counter, key).
void philox4x32_10(const uint32_t counter[4], const uint32_t key[2], uint32_t out[4]);

/// Uniform double in [0, 1) with 53 random bits, a pure function of its arguments. Lane 0 is
/// the token draw; other lanes are free for other per-position draws (e.g. speculative accept).
double counter_uniform(uint64_t seed, uint32_t choice_index, int32_t position, uint32_t lane = 0);

}  // namespace m2
