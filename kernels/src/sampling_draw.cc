// The random draw of sample_row: top-k / top-p narrowing over the few largest weights and the
// inverse-CDF walk in ascending id order, both driven by one counter-based uniform.
#include <immintrin.h>

#include <algorithm>

#include "sampling.h"

namespace m2 {

namespace {

using Candidate = SamplingScratch::Candidate;

bool heavier(const Candidate& a, const Candidate& b) {
  return a.weight > b.weight || (a.weight == b.weight && a.id < b.id);
}

double total_mass(const double* chunk_mass, int32_t vocab_size) {
  double total = 0.0;
  for (int32_t c = 0; c * kWeightChunk < vocab_size; ++c) total += chunk_mass[c];
  return total;
}

// Rounding fallback: the walk fell short of the target by a few ulps.
int32_t last_positive(const float* weights, int32_t begin, int32_t end) {
  for (int32_t id = end - 1; id >= begin; --id) {
    if (weights[id] > 0.0f) return id;
  }
  throw SamplingError("sampling: no token is left to sample", "ERR_SAMPLING_NO_TOKEN");
}

__attribute__((target("avx2"))) bool any_at_least(const float* w, float threshold) {
  const __m256 v = _mm256_loadu_ps(w);
  const __m256 t = _mm256_set1_ps(threshold);
  return _mm256_movemask_ps(_mm256_and_ps(_mm256_cmp_ps(v, t, _CMP_GE_OQ),
                                          _mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_GT_OQ))) != 0;
}

// Fills `candidates` with every weight at or above a threshold, lowering it until the set surely
// contains the `k` heaviest ids (or, when `mass_needed` > 0, that much of the mass).
void gather_heaviest(const float* weights, int32_t vocab_size, size_t k, double mass_needed,
                     std::vector<Candidate>& candidates) {
  for (float threshold = 1e-3f;; threshold = threshold > 1e-30f ? threshold * 1e-3f : 0.0f) {
    candidates.clear();
    double mass = 0.0;
    for (int32_t block = 0; block < vocab_size; block += 8) {
      const int32_t end = std::min(vocab_size, block + 8);
      if (end - block == 8 && !any_at_least(weights + block, threshold)) continue;
      for (int32_t id = block; id < end; ++id) {
        const float w = weights[id];
        if (w > 0.0f && w >= threshold) {
          candidates.push_back({w, id});
          mass += w;
        }
      }
    }
    if (threshold == 0.0f || (candidates.size() >= k && mass >= mass_needed)) return;
  }
}

}  // namespace

int32_t draw_from_weights(const float* weights, const double* chunk_mass, int32_t vocab_size, double u) {
  const double target = u * total_mass(chunk_mass, vocab_size);
  double cum = 0.0;
  for (int32_t begin = 0; begin < vocab_size; begin += kWeightChunk) {
    const double mass = chunk_mass[begin / kWeightChunk];
    if (cum + mass > target) {
      const int32_t end = std::min(vocab_size, begin + kWeightChunk);
      for (int32_t id = begin; id < end; ++id) {
        cum += weights[id];
        if (cum > target) return id;
      }
      return last_positive(weights, begin, end);
    }
    cum += mass;
  }
  return last_positive(weights, 0, vocab_size);
}

int32_t draw_from_top(const SamplingParams& params, const float* weights, const double* chunk_mass,
                      int32_t vocab_size, double u, std::vector<Candidate>& candidates) {
  const bool top_k = params.top_k > 0 && params.top_k < vocab_size;
  const size_t k = top_k ? static_cast<size_t>(params.top_k) : 1;
  const double total = total_mass(chunk_mass, vocab_size);
  gather_heaviest(weights, vocab_size, k, top_k ? 0.0 : params.top_p * total, candidates);

  size_t kept = candidates.size();
  if (top_k) {
    kept = std::min(k, kept);
    std::partial_sort(candidates.begin(), candidates.begin() + kept, candidates.end(), heavier);
  } else {
    std::sort(candidates.begin(), candidates.end(), heavier);
  }
  if (params.top_p < 1.0f) {
    double mass = total;
    if (top_k) {
      mass = 0.0;
      for (size_t j = 0; j < kept; ++j) mass += candidates[j].weight;
    }
    const double limit = params.top_p * mass;
    double before = 0.0;
    size_t j = 0;
    for (; j < kept && before < limit; ++j) before += candidates[j].weight;
    kept = j;
  }

  std::sort(candidates.begin(), candidates.begin() + kept,
            [](const Candidate& a, const Candidate& b) { return a.id < b.id; });
  double sum = 0.0;
  for (size_t j = 0; j < kept; ++j) sum += candidates[j].weight;
  const double target = u * sum;
  double cum = 0.0;
  for (size_t j = 0; j < kept; ++j) {
    cum += candidates[j].weight;
    if (cum > target) return candidates[j].id;
  }
  return candidates[kept - 1].id;
}

}  // namespace m2
