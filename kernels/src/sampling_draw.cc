// The random draw of sample_row: top-k / top-p narrowing (selection over the largest weights,
// never a sort of the row) and the inverse-CDF walk in ascending id order over the survivors.
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

// Weighted quickselect over candidates[0, n): reorders them so that the returned index j holds
// the first element, in heavier-first order, whose inclusive prefix mass reaches `limit`, with
// every heavier element before it. Expected O(n), against a full sort's O(n log n).
size_t select_mass_prefix(std::vector<Candidate>& candidates, size_t n, double limit) {
  size_t lo = 0, hi = n;
  double above = 0.0;  // mass of candidates[0, lo), all heavier than the rest
  while (hi - lo > 64) {
    const size_t mid = lo + (hi - lo) / 2;
    std::nth_element(candidates.begin() + lo, candidates.begin() + mid, candidates.begin() + hi, heavier);
    double left = 0.0;
    for (size_t j = lo; j < mid; ++j) left += candidates[j].weight;
    if (above + left >= limit) {
      hi = mid;
    } else if (above + left + candidates[mid].weight >= limit) {
      return mid;
    } else {
      above += left + candidates[mid].weight;
      lo = mid + 1;
    }
  }
  std::sort(candidates.begin() + lo, candidates.begin() + hi, heavier);
  for (size_t j = lo; j < hi; ++j) {
    above += candidates[j].weight;
    if (above >= limit) return j;
  }
  return hi - 1;  // rounding: the prefix fell a few ulps short of the limit
}

// Zeroes every weight lighter than `cutoff` in (weight desc, id asc) order and recomputes the
// chunk masses, so the inverse-CDF walk runs over the survivors only.
__attribute__((target("avx2"))) void keep_heaviest(float* weights, double* chunk_mass, int32_t vocab_size,
                                                   Candidate cutoff) {
  const __m256 wc = _mm256_set1_ps(cutoff.weight);
  const __m256i past_cut = _mm256_set1_epi32(cutoff.id);
  for (int32_t start = 0; start < vocab_size; start += kWeightChunk) {
    const int32_t end = std::min(vocab_size, start + kWeightChunk);
    int32_t id = start;
    __m256d mass = _mm256_setzero_pd();
    for (; id + 8 <= end; id += 8) {
      const __m256 w = _mm256_loadu_ps(weights + id);
      const __m256i ids = _mm256_add_epi32(_mm256_set1_epi32(id), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
      const __m256 tie_kept = _mm256_and_ps(_mm256_cmp_ps(w, wc, _CMP_EQ_OQ),
                                            _mm256_castsi256_ps(_mm256_cmpgt_epi32(ids, past_cut)));
      const __m256 kept = _mm256_andnot_ps(tie_kept, _mm256_cmp_ps(w, wc, _CMP_GE_OQ));
      const __m256 w_kept = _mm256_and_ps(w, kept);
      _mm256_storeu_ps(weights + id, w_kept);
      mass = _mm256_add_pd(_mm256_add_pd(mass, _mm256_cvtps_pd(_mm256_castps256_ps128(w_kept))),
                           _mm256_cvtps_pd(_mm256_extractf128_ps(w_kept, 1)));
    }
    alignas(32) double lanes[4];
    _mm256_store_pd(lanes, mass);
    double tail = 0.0;
    for (; id < end; ++id) {
      const float w = weights[id];
      if (w < cutoff.weight || (w == cutoff.weight && id > cutoff.id)) weights[id] = 0.0f;
      tail += weights[id];
    }
    chunk_mass[start / kWeightChunk] = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]) + tail;
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

int32_t draw_from_top(const SamplingParams& params, float* weights, double* chunk_mass, int32_t vocab_size,
                      double u, std::vector<Candidate>& candidates) {
  const bool top_k = params.top_k > 0 && params.top_k < vocab_size;
  const size_t k = top_k ? static_cast<size_t>(params.top_k) : 1;
  const double total = total_mass(chunk_mass, vocab_size);
  gather_heaviest(weights, vocab_size, k, top_k ? 0.0 : params.top_p * total, candidates);

  // candidates[cut] becomes the lightest survivor, with every heavier survivor before it.
  size_t cut = candidates.size() - 1;
  if (top_k && k < candidates.size()) {
    std::nth_element(candidates.begin(), candidates.begin() + (k - 1), candidates.end(), heavier);
    cut = k - 1;
  } else {
    std::iter_swap(std::max_element(candidates.begin(), candidates.end(), heavier), candidates.end() - 1);
  }
  if (params.top_p < 1.0f) {
    double mass = total;
    if (top_k) {
      mass = 0.0;
      for (size_t j = 0; j <= cut; ++j) mass += candidates[j].weight;
    }
    cut = select_mass_prefix(candidates, cut + 1, params.top_p * mass);
  }
  keep_heaviest(weights, chunk_mass, vocab_size, candidates[cut]);
  return draw_from_weights(weights, chunk_mass, vocab_size, u);
}

}  // namespace m2
