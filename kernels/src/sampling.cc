// sample_row: one row of logits -> one token (+ raw logprobs), in the order documented in
// sampling.h. Dense passes over the vocabulary are AVX2+FMA (the floor of every machine we run
// on), and only the few largest weights are ever sorted, never the 152k-entry row.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "sampling.h"
#include "vec_math.h"

namespace m2 {

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// Lanes i..i+7 of the row; ids at or past n, or cleared in `allowed`, read as -inf.
M2_AVX2 inline __m256 load8(const float* row, int32_t i, int32_t n, const uint32_t* allowed, __m256i& keep) {
  keep = _mm256_set1_epi32(-1);
  if (allowed == nullptr && n - i >= 8) return _mm256_loadu_ps(row + i);
  if (n - i < 8) keep = _mm256_cmpgt_epi32(_mm256_set1_epi32(n - i), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  if (allowed != nullptr) {
    const __m256i bit = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    const __m256i word = _mm256_set1_epi32(static_cast<int32_t>(allowed[i >> 5] >> (i & 31)));
    keep = _mm256_and_si256(keep, _mm256_cmpeq_epi32(_mm256_and_si256(word, bit), bit));
  }
  const __m256 v = _mm256_maskload_ps(row + i, keep);
  return _mm256_blendv_ps(_mm256_set1_ps(kNegInf), v, _mm256_castsi256_ps(keep));
}

M2_AVX2 inline __m256d widen_add(__m256d acc, __m256 w) {
  return _mm256_add_pd(_mm256_add_pd(acc, _mm256_cvtps_pd(_mm256_castps256_ps128(w))),
                       _mm256_cvtps_pd(_mm256_extractf128_ps(w, 1)));
}

M2_AVX2 inline double reduce4(__m256d acc) {
  alignas(32) double lanes[4];
  _mm256_store_pd(lanes, acc);
  return (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
}

// Largest allowed logit (-inf when none); throws on NaN among allowed ids.
M2_AVX2 float max_logit(const float* row, int32_t n, const uint32_t* allowed) {
  __m256 best = _mm256_set1_ps(kNegInf);
  __m256 nan = _mm256_setzero_ps();
  for (int32_t i = 0; i < n; i += 8) {
    __m256i keep;
    const __m256 v = load8(row, i, n, allowed, keep);
    nan = _mm256_or_ps(nan, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
    best = _mm256_max_ps(best, v);
  }
  if (_mm256_movemask_ps(nan) != 0) throw SamplingError("sampling: logits contain NaN", "ERR_SAMPLING_LOGITS");
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, best);
  return *std::max_element(lanes, lanes + 8);
}

// Lowest allowed id whose logit equals `value` (-1 when none).
M2_AVX2 int32_t first_equal(const float* row, int32_t n, const uint32_t* allowed, float value) {
  for (int32_t i = 0; i < n; i += 8) {
    __m256i keep;
    const int hits = _mm256_movemask_ps(_mm256_cmp_ps(load8(row, i, n, allowed, keep), _mm256_set1_ps(value), _CMP_EQ_OQ));
    if (hits != 0) return i + __builtin_ctz(static_cast<unsigned>(hits));
  }
  return -1;
}

// log(sum(exp(row - max))) + max over every id.
M2_AVX2 double log_sum_exp(const float* row, int32_t n, float max) {
  __m256d sum = _mm256_setzero_pd();
  const __m256 m = _mm256_set1_ps(max);
  for (int32_t i = 0; i < n; i += 8) {
    __m256i keep;
    sum = widen_add(sum, exp8(_mm256_sub_ps(load8(row, i, n, nullptr, keep), m)));
  }
  return std::log(reduce4(sum)) + max;
}

// weights[i] = exp((row[i] - max) / temperature), zeroed when disallowed or below min_p;
// chunk_mass[c] = the weights' sum over chunk c.
M2_AVX2 void fill_weights(const float* row, int32_t n, const uint32_t* allowed, float max, float temperature,
                          float min_p, float* weights, double* chunk_mass) {
  const __m256 m = _mm256_set1_ps(max), t = _mm256_set1_ps(temperature), floor_w = _mm256_set1_ps(min_p);
  for (int32_t start = 0; start < n; start += kWeightChunk) {
    const int32_t end = std::min(n, start + kWeightChunk);
    __m256d mass = _mm256_setzero_pd();
    for (int32_t i = start; i < end; i += 8) {
      __m256i keep;
      __m256 w = exp8(_mm256_div_ps(_mm256_sub_ps(load8(row, i, n, allowed, keep), m), t));
      w = _mm256_and_ps(w, _mm256_cmp_ps(w, floor_w, _CMP_GE_OQ));
      if (n - i < 8) {
        _mm256_maskstore_ps(weights + i, _mm256_cmpgt_epi32(_mm256_set1_epi32(n - i),
                                                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)), w);
      } else {
        _mm256_storeu_ps(weights + i, w);
      }
      mass = widen_add(mass, w);
    }
    chunk_mass[start / kWeightChunk] = reduce4(mass);
  }
}

// Keeps the `n` largest raw logits (ties to the lower id) as descending logprobs. Blocks of 8
// with nothing above the current n-th largest are skipped with one vector compare.
M2_AVX2 void top_raw_logprobs(const float* row, int32_t vocab, int32_t n, double lse, SampleResult& out) {
  int32_t filled = 0;
  for (int32_t id = 0; id < vocab; ++id) {
    if ((id & 7) == 0 && filled == n && vocab - id >= 8 &&
        _mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(row + id), _mm256_set1_ps(out.top_logprobs[n - 1]),
                                         _CMP_GT_OQ)) == 0) {
      id += 7;
      continue;
    }
    const float v = row[id];
    if (filled == n && !(v > out.top_logprobs[n - 1])) continue;
    int32_t at = filled == n ? n - 1 : filled++;
    for (; at > 0 && v > out.top_logprobs[at - 1]; --at) {
      out.top_logprobs[at] = out.top_logprobs[at - 1];
      out.top_ids[at] = out.top_ids[at - 1];
    }
    out.top_logprobs[at] = v;
    out.top_ids[at] = id;
  }
  out.n_top = filled;
  for (int32_t j = 0; j < filled; ++j) out.top_logprobs[j] = static_cast<float>(out.top_logprobs[j] - lse);
}

// Bias, bans and penalties, in that order; records each edited entry's raw value first.
void apply_edits(float* row, int32_t vocab, const SamplingParams& p, const PenaltyState* history,
                 std::vector<std::pair<int32_t, float>>& raw_edits) {
  raw_edits.clear();
  for (int32_t j = 0; j < p.n_logit_bias; ++j) {
    const int32_t id = p.logit_bias_ids[j];
    raw_edits.emplace_back(id, row[id]);
    row[id] += p.logit_bias_values[j];
  }
  for (int32_t j = 0; j < p.n_banned; ++j) {
    raw_edits.emplace_back(p.banned_ids[j], row[p.banned_ids[j]]);
    row[p.banned_ids[j]] = kNegInf;
  }
  const bool penalised = p.repetition_penalty != 1.0f || p.presence_penalty != 0.0f || p.frequency_penalty != 0.0f;
  if (history == nullptr || !penalised) return;
  for (const TokenCount& c : history->counts()) {
    if (c.prompt + c.output == 0) continue;
    if (c.id >= vocab) {
      throw SamplingError("sampling: history token " + std::to_string(c.id) + " is outside the vocabulary of " +
                          std::to_string(vocab));
    }
    float& v = row[c.id];
    raw_edits.emplace_back(c.id, v);
    v = v > 0.0f ? v / p.repetition_penalty : v * p.repetition_penalty;
    v -= p.frequency_penalty * static_cast<float>(c.output);
    if (c.output > 0) v -= p.presence_penalty;
  }
}

float raw_logit(const float* row, int32_t id, const std::vector<std::pair<int32_t, float>>& raw_edits) {
  for (const auto& [edited, raw] : raw_edits) {
    if (edited == id) return raw;
  }
  return row[id];
}

}  // namespace

SampleResult sample_row(float* logits, int32_t vocab_size, const SamplingParams& params,
                        const PenaltyState* history, int32_t position, SamplingScratch& scratch) {
  validate_sampling_params(params, vocab_size);
  if (position < 0) throw SamplingError("sampling: position must be >= 0, got " + std::to_string(position));
  SampleResult out;
  double lse = 0.0;
  if (params.logprobs >= 0) {
    lse = log_sum_exp(logits, vocab_size, max_logit(logits, vocab_size, nullptr));
    if (params.logprobs > 0) top_raw_logprobs(logits, vocab_size, params.logprobs, lse, out);
  }
  apply_edits(logits, vocab_size, params, history, scratch.raw_edits);

  const float max = max_logit(logits, vocab_size, params.allowed_bitmask);
  if (!(max > kNegInf)) {
    throw SamplingError("sampling: no token is left to sample (every id is banned, masked out or -inf)",
                        "ERR_SAMPLING_NO_TOKEN");
  }
  if (params.temperature == 0.0f) {
    out.token = first_equal(logits, vocab_size, params.allowed_bitmask, max);
  } else {
    scratch.weights.resize(vocab_size);
    scratch.chunk_mass.resize((vocab_size + kWeightChunk - 1) / kWeightChunk);
    fill_weights(logits, vocab_size, params.allowed_bitmask, max, params.temperature, params.min_p,
                 scratch.weights.data(), scratch.chunk_mass.data());
    const double u = counter_uniform(params.seed, params.choice_index, position);
    const bool narrowed = (params.top_k > 0 && params.top_k < vocab_size) || params.top_p < 1.0f;
    out.token = narrowed ? draw_from_top(params, scratch.weights.data(), scratch.chunk_mass.data(), vocab_size, u,
                                         scratch.candidates)
                         : draw_from_weights(scratch.weights.data(), scratch.chunk_mass.data(), vocab_size, u);
  }
  if (params.logprobs >= 0) out.logprob = static_cast<float>(raw_logit(logits, out.token, scratch.raw_edits) - lse);
  return out;
}

}  // namespace m2
