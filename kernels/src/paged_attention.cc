#include "paged_attention.h"

#include <immintrin.h>

#include <cmath>
#include <cstring>

namespace m2 {
namespace {

// AVX2/FMA is the baseline every supported CPU has (linear.cc refuses others). One 8-lane
// accumulator, a fixed horizontal sum and a scalar tail of explicit FMAs: a score depends only
// on its q and k, whichever of dot / dot4 computes it.
__attribute__((target("avx2,fma"))) inline float hsum8(__m256 acc) {
  __m128 h = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
  h = _mm_add_ps(h, _mm_movehl_ps(h, h));
  h = _mm_add_ss(h, _mm_movehdup_ps(h));
  return _mm_cvtss_f32(h);
}

__attribute__((target("avx2,fma"))) float dot(const float* a, const float* b, int n) {
  __m256 acc = _mm256_setzero_ps();
  int i = 0;
  for (; i + 8 <= n; i += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc);
  float s = hsum8(acc);
  for (; i < n; ++i) s = std::fma(a[i], b[i], s);
  return s;
}

// dot() of `a` with four rows b, b + stride, ... at once: four independent FMA chains overlap.
__attribute__((target("avx2,fma"))) void dot4(const float* a, const float* b, size_t stride, int n, float* out) {
  __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
  int i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 av = _mm256_loadu_ps(a + i);
    for (int r = 0; r < 4; ++r) acc[r] = _mm256_fmadd_ps(av, _mm256_loadu_ps(b + r * stride + i), acc[r]);
  }
  for (int r = 0; r < 4; ++r) {
    float s = hsum8(acc[r]);
    for (int k = i; k < n; ++k) s = std::fma(a[k], b[r * stride + k], s);
    out[r] = s;
  }
}

__attribute__((target("avx2,fma"))) void axpy(float a, const float* x, float* y, int n) {
  const __m256 av = _mm256_set1_ps(a);
  int i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_fmadd_ps(av, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
  for (; i < n; ++i) y[i] += a * x[i];
}

struct HeadTask {
  const KvGeometry& g;
  KvLayer layer;
  const AttentionSequence& seq;
  int i;        // token index within the sequence
  int kv_head;
  float scale;
};

// Visits the cached positions [0, context_len) page by page, in position order: fn(first row of
// the page, rows in it, row stride). Each KV page is read sequentially, with no division per
// position.
template <class F>
void for_each_page(const HeadTask& t, const float* cache, F&& fn) {
  const int bs = t.g.block_size;
  const size_t stride = t.g.token_stride();
  const size_t head = static_cast<size_t>(t.kv_head) * t.g.head_dim;
  for (int p0 = 0, b = 0; p0 < t.seq.context_len; p0 += bs, ++b) {
    const float* page = cache + static_cast<size_t>(t.seq.block_table[b]) * bs * stride + head;
    fn(page, t.seq.context_len - p0 < bs ? t.seq.context_len - p0 : bs, stride);
  }
}

size_t step_offset(const HeadTask& t, int j) {
  return static_cast<size_t>(t.seq.slots[j]) * t.g.token_stride() + static_cast<size_t>(t.kv_head) * t.g.head_dim;
}

bool visible(const AttentionSequence& s, int i, int j) {
  return s.tree_mask ? s.tree_mask[static_cast<size_t>(i) * s.count + j] != 0 : j <= i;
}

void attend_one(const HeadTask& t, const float* q, float* scores, float* out) {
  const int d = t.g.head_dim;
  const AttentionSequence& s = t.seq;
  int n = 0;
  float max_score = -INFINITY;
  for_each_page(t, t.layer.k, [&](const float* k, int rows, size_t stride) {
    int o = 0;
    for (; o + 4 <= rows; o += 4) dot4(q, k + o * stride, stride, d, scores + n + o);
    for (; o < rows; ++o) scores[n + o] = dot(q, k + o * stride, d);
    for (o = 0; o < rows; ++o, ++n) {
      scores[n] *= t.scale;
      max_score = scores[n] > max_score ? scores[n] : max_score;
    }
  });
  for (int j = 0; j < s.count; ++j) {
    if (!visible(s, t.i, j)) continue;
    scores[n] = dot(q, t.layer.k + step_offset(t, j), d) * t.scale;
    max_score = scores[n] > max_score ? scores[n] : max_score;
    ++n;
  }
  float sum = 0.0f;
  for (int e = 0; e < n; ++e) {
    scores[e] = std::exp(scores[e] - max_score);
    sum += scores[e];
  }
  std::memset(out, 0, sizeof(float) * d);
  n = 0;
  for_each_page(t, t.layer.v, [&](const float* v, int rows, size_t stride) {
    for (int o = 0; o < rows; ++o) axpy(scores[n++], v + o * stride, out, d);
  });
  for (int j = 0; j < s.count; ++j) {
    if (visible(s, t.i, j)) axpy(scores[n++], t.layer.v + step_offset(t, j), out, d);
  }
  const float inv = 1.0f / sum;
  for (int e = 0; e < d; ++e) out[e] *= inv;
}

}  // namespace

void kv_store(const KvGeometry& g, KvLayer layer, const float* k, const float* v, const int32_t* slots,
              int tokens) {
  const size_t stride = g.token_stride();
  for (int t = 0; t < tokens; ++t) {
    const size_t at = static_cast<size_t>(slots[t]) * stride;
    std::memcpy(layer.k + at, k + t * stride, stride * sizeof(float));
    std::memcpy(layer.v + at, v + t * stride, stride * sizeof(float));
  }
}

void paged_attention(ThreadPool& pool, const KvGeometry& g, KvLayer layer, const float* q, int q_heads,
                     const AttentionSequence* seqs, int nseqs, int total_tokens, float* scratch,
                     size_t scratch_stride, float* out) {
  const int group = q_heads / g.kv_heads;
  const float scale = 1.0f / std::sqrt(static_cast<float>(g.head_dim));
  const size_t row = static_cast<size_t>(q_heads) * g.head_dim;
  // Tasks are (token, query head) in batch order; the sequence of a token is found by a walk
  // over seqs, cheap next to the attention itself.
  pool.run(total_tokens * q_heads, [&](int task, int thread) {
    const int token = task / q_heads, h = task % q_heads;
    int si = 0;
    while (si + 1 < nseqs && token >= seqs[si].start + seqs[si].count) ++si;
    const HeadTask t{g, layer, seqs[si], token - seqs[si].start, h / group, scale};
    const size_t at = static_cast<size_t>(token) * row + static_cast<size_t>(h) * g.head_dim;
    attend_one(t, q + at, scratch + static_cast<size_t>(thread) * scratch_stride, out + at);
  });
}

}  // namespace m2
