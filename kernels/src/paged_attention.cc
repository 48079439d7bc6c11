#include "paged_attention.h"

#include <immintrin.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "attention_keys.h"
#include "vec_math.h"

namespace m2 {
namespace {

// Cache element types: f32, or the 16-bit bit patterns of bf16 / f16, widened exactly on load.
struct Bf16 {
  uint16_t bits;
};
struct F16 {
  uint16_t bits;
};

#define M2_AVX2_F16C __attribute__((target("avx2,fma,f16c")))

M2_AVX2_F16C inline __m256 load8(const float* p) { return _mm256_loadu_ps(p); }
M2_AVX2_F16C inline __m256 load8(const Bf16* p) {
  const __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
}
M2_AVX2_F16C inline __m256 load8(const F16* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
inline float widen(float x) { return x; }
inline float widen(Bf16 x) { return bf16_to_f32(x.bits); }
inline float widen(F16 x) { return f16_to_f32(x.bits); }
inline void narrow(float x, float* out) { *out = x; }
inline void narrow(float x, Bf16* out) { out->bits = f32_to_bf16(x); }
inline void narrow(float x, F16* out) { out->bits = f32_to_f16(x); }

// AVX2/FMA is the baseline every supported CPU has (linear.cc refuses others). A score is one
// 8-lane FMA accumulator over head_dim, a fixed horizontal sum, then a scalar tail of explicit
// FMAs: it depends only on its q and k, whether it was computed alone or eight rows at a time.
M2_AVX2 inline float hsum8(__m256 acc) {
  __m128 h = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
  h = _mm_add_ps(h, _mm_movehl_ps(h, h));
  h = _mm_add_ss(h, _mm_movehdup_ps(h));
  return _mm_cvtss_f32(h);
}

// hsum8 of eight accumulators at once, lane p = hsum8(a[p]) bit for bit: the same pairs are
// added (lanes i + i+4, then 0+2 / 1+3, then 0+1), only transposed across registers.
M2_AVX2 inline __m256 hsum8x8(const __m256 a[8]) {
  __m256 u[4];
  for (int p = 0; p < 4; ++p)
    u[p] = _mm256_add_ps(_mm256_permute2f128_ps(a[2 * p], a[2 * p + 1], 0x20),
                         _mm256_permute2f128_ps(a[2 * p], a[2 * p + 1], 0x31));
  const __m256 v = _mm256_add_ps(_mm256_shuffle_ps(u[0], u[1], _MM_SHUFFLE(1, 0, 1, 0)),
                                 _mm256_shuffle_ps(u[0], u[1], _MM_SHUFFLE(3, 2, 3, 2)));
  const __m256 w = _mm256_add_ps(_mm256_shuffle_ps(u[2], u[3], _MM_SHUFFLE(1, 0, 1, 0)),
                                 _mm256_shuffle_ps(u[2], u[3], _MM_SHUFFLE(3, 2, 3, 2)));
  const __m256 s = _mm256_add_ps(_mm256_shuffle_ps(v, w, _MM_SHUFFLE(2, 0, 2, 0)),
                                 _mm256_shuffle_ps(v, w, _MM_SHUFFLE(3, 1, 3, 1)));
  return _mm256_permutevar8x32_ps(s, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

template <class T>
M2_AVX2_F16C inline float tail_dot(const float* a, const T* b, int from, int n, float s) {
  for (int i = from; i < n; ++i) s = std::fma(a[i], widen(b[i]), s);
  return s;
}

// scores[r] = (q . rows[r]) * scale for r in [0, n).
template <class T>
M2_AVX2_F16C void qk_scores(const float* q, const T* const* rows, int n, int d, float scale, float* scores) {
  const int dv = d - d % 8;
  const __m256 sc = _mm256_set1_ps(scale);
  int r = 0;
  for (; r + 8 <= n; r += 8) {
    __m256 acc[8];
    for (int p = 0; p < 8; ++p) acc[p] = _mm256_setzero_ps();
    for (int i = 0; i < dv; i += 8) {
      const __m256 qv = _mm256_loadu_ps(q + i);
      for (int p = 0; p < 8; ++p) acc[p] = _mm256_fmadd_ps(qv, load8(rows[r + p] + i), acc[p]);
    }
    __m256 s = hsum8x8(acc);
    if (dv != d) {
      alignas(32) float lanes[8];
      _mm256_store_ps(lanes, s);
      for (int p = 0; p < 8; ++p) lanes[p] = tail_dot(q, rows[r + p], dv, d, lanes[p]);
      s = _mm256_load_ps(lanes);
    }
    _mm256_storeu_ps(scores + r, _mm256_mul_ps(s, sc));
  }
  for (; r < n; ++r) {
    __m256 acc = _mm256_setzero_ps();
    for (int i = 0; i < dv; i += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), load8(rows[r] + i), acc);
    scores[r] = tail_dot(q, rows[r], dv, d, hsum8(acc)) * scale;
  }
}

// out[c0 : c0 + 8 * NV] (+)= sum_r weights[r] * V row r, accumulated in registers in row order; V
// row r is at rows[r] + v_offset (the K row's place in the V cache). `accumulate` continues the
// sums of earlier rows stored in out: f32 stores and loads are exact, so a sum split over row
// blocks is bit-identical to one pass.
template <class T, int NV>
M2_AVX2_F16C void weighted_rows(const float* weights, const T* const* rows, int n, ptrdiff_t v_offset, int c0, bool accumulate,
                                float* out) {
  __m256 acc[NV];
  for (int j = 0; j < NV; ++j) acc[j] = accumulate ? _mm256_loadu_ps(out + c0 + 8 * j) : _mm256_setzero_ps();
  for (int r = 0; r < n; ++r) {
    const __m256 w = _mm256_broadcast_ss(weights + r);
    const T* v = rows[r] + v_offset + c0;
    for (int j = 0; j < NV; ++j) acc[j] = _mm256_fmadd_ps(w, load8(v + 8 * j), acc[j]);
  }
  for (int j = 0; j < NV; ++j) _mm256_storeu_ps(out + c0 + 8 * j, acc[j]);
}

template <class T>
M2_AVX2_F16C void weighted_sum(const float* weights, const T* const* rows, int n, int d, ptrdiff_t v_offset, bool accumulate,
                               float* out) {
  int c0 = 0;
  for (; c0 + 64 <= d; c0 += 64) weighted_rows<T, 8>(weights, rows, n, v_offset, c0, accumulate, out);
  switch ((d - c0) / 8) {
    case 7: weighted_rows<T, 7>(weights, rows, n, v_offset, c0, accumulate, out); break;
    case 6: weighted_rows<T, 6>(weights, rows, n, v_offset, c0, accumulate, out); break;
    case 5: weighted_rows<T, 5>(weights, rows, n, v_offset, c0, accumulate, out); break;
    case 4: weighted_rows<T, 4>(weights, rows, n, v_offset, c0, accumulate, out); break;
    case 3: weighted_rows<T, 3>(weights, rows, n, v_offset, c0, accumulate, out); break;
    case 2: weighted_rows<T, 2>(weights, rows, n, v_offset, c0, accumulate, out); break;
    case 1: weighted_rows<T, 1>(weights, rows, n, v_offset, c0, accumulate, out); break;
    default: break;
  }
  for (int e = d - d % 8; e < d; ++e) {
    float s = accumulate ? out[e] : 0.0f;
    for (int r = 0; r < n; ++r) s = std::fma(weights[r], widen(rows[r][v_offset + e]), s);
    out[e] = s;
  }
}

// Keys per block of a GQA group pass: about 8 KB of K (then V) rows, a multiple of the eight
// keys qk_scores takes at once, so each block stays in L1 while every query head of the group
// reads it (one head at a time over the whole context streamed K and V from L2 once per head).
template <class T>
int keys_per_block(int d) {
  const int keys = 8192 / (static_cast<int>(sizeof(T)) * d) / 8 * 8;
  return keys < 8 ? 8 : keys;
}

// K (or V, at v_offset) rows are scattered 4 KiB pages, too short for the hardware prefetcher to
// get ahead of: before block `next` (of `block` rows, n in all) is used, it is pulled into L1 and
// the block kPrefetchBlocks - 1 further on into L2 (at next == 0, every block up to that one).
// Inlined by force: GCC drops calls to a function whose only effect is a prefetch.
constexpr int kPrefetchBlocks = 4;

template <int Hint, class T>
__attribute__((always_inline)) inline void prefetch_rows(const T* const* rows, int from, int count, int n, int d,
                                                         ptrdiff_t v_offset) {
  constexpr int kPerLine = 64 / sizeof(T);
  for (int r = from; r < from + count && r < n; ++r)
    for (int e = 0; e < d; e += kPerLine) _mm_prefetch(reinterpret_cast<const char*>(rows[r] + v_offset + e), static_cast<_mm_hint>(Hint));
}

template <class T>
__attribute__((always_inline)) inline void prefetch_ahead(const T* const* rows, int next, int block, int n, int d,
                                                          ptrdiff_t v_offset) {
  const int later = next + (kPrefetchBlocks - 1) * block;
  if (next == 0) {
    prefetch_rows<_MM_HINT_T0>(rows, 0, block, n, d, v_offset);
    prefetch_rows<_MM_HINT_T1>(rows, block, later, n, d, v_offset);
    return;
  }
  prefetch_rows<_MM_HINT_T0>(rows, next, block, n, d, v_offset);
  prefetch_rows<_MM_HINT_T1>(rows, later, block, n, d, v_offset);
}

template <class T>
void store_rows(const KvGeometry& g, T* k_cache, T* v_cache, const float* k, const float* v, const int32_t* slots, int tokens) {
  const size_t stride = g.token_stride();
  for (int t = 0; t < tokens; ++t) {
    for (int h = 0; h < g.kv_heads; ++h) {
      const size_t at = g.row(slots[t], h), from = t * stride + static_cast<size_t>(h) * g.head_dim;
      for (int e = 0; e < g.head_dim; ++e) {
        narrow(k[from + e], k_cache + at + e);
        narrow(v[from + e], v_cache + at + e);
      }
    }
  }
}

template <class T>
void attend(ThreadPool& pool, const KvGeometry& g, const T* k_cache, const T* v_cache, const float* q, int q_heads,
            const AttentionSequence* seqs, int nseqs, int total_tokens, float* out) {
  const int group = q_heads / g.kv_heads, d = g.head_dim;
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  const size_t row = static_cast<size_t>(q_heads) * d;
  const ptrdiff_t v_offset = v_cache - k_cache;
  // A task is one token's query heads of one kv head (all of them, or a part where that leaves
  // too few tasks for the pool), which walk the keys a block at a time so K and V come in from
  // memory once per group, not once per head. Tasks are in batch order; the sequence of a token is
  // found by a walk over seqs, cheap next to the attention itself.
  const int units = total_tokens * g.kv_heads, parts = head_parts(units, group, pool);
  const int block = keys_per_block<T>(d);
  pool.run(units * parts, [&](int task, int) {
    // Grown once per pool thread to the longest context it meets: no per-step allocation after.
    thread_local std::vector<const T*> rows;
    thread_local std::vector<float> scores, inv;
    const int part = task % parts, kv_head = (task / parts) % g.kv_heads, token = task / parts / g.kv_heads;
    int si = 0;
    while (si + 1 < nseqs && token >= seqs[si].start + seqs[si].count) ++si;
    const AttentionSequence& s = seqs[si];
    if (rows.size() < static_cast<size_t>(s.context_len + s.count)) rows.resize(s.context_len + s.count);
    const int n = key_rows(g, k_cache, s, token - s.start, kv_head, rows.data());
    const int h0 = kv_head * group + part * group / parts, h1 = kv_head * group + (part + 1) * group / parts;
    if (scores.size() < static_cast<size_t>(h1 - h0) * n) scores.resize(static_cast<size_t>(h1 - h0) * n);
    if (inv.size() < static_cast<size_t>(h1 - h0)) inv.resize(h1 - h0);
    const size_t at0 = static_cast<size_t>(token) * row + static_cast<size_t>(h0) * d;
    prefetch_ahead(rows.data(), 0, block, n, d, 0);
    for (int r0 = 0; r0 < n; r0 += block) {
      const int nb = n - r0 < block ? n - r0 : block;
      prefetch_ahead(rows.data(), r0 + block, block, n, d, 0);
      for (int h = 0; h < h1 - h0; ++h) qk_scores(q + at0 + h * d, rows.data() + r0, nb, d, scale, scores.data() + h * n + r0);
    }
    for (int h = 0; h < h1 - h0; ++h) inv[h] = 1.0f / softmax_weights(scores.data() + h * n, n);
    prefetch_ahead(rows.data(), 0, block, n, d, v_offset);
    for (int r0 = 0; r0 < n; r0 += block) {
      const int nb = n - r0 < block ? n - r0 : block;
      prefetch_ahead(rows.data(), r0 + block, block, n, d, v_offset);
      for (int h = 0; h < h1 - h0; ++h)
        weighted_sum(scores.data() + h * n + r0, rows.data() + r0, nb, d, v_offset, r0 > 0, out + at0 + h * d);
    }
    for (int h = 0; h < h1 - h0; ++h)
      for (int e = 0; e < d; ++e) out[at0 + h * d + e] *= inv[h];
  });
}

// Calls f(k, v) with the layer's caches typed as g.dtype's element.
template <class F>
void with_typed_cache(const KvGeometry& g, KvLayer layer, F&& f) {
  switch (g.dtype) {
    case DType::F32: return f(static_cast<float*>(layer.k), static_cast<float*>(layer.v));
    case DType::BF16: return f(static_cast<Bf16*>(layer.k), static_cast<Bf16*>(layer.v));
    case DType::F16: return f(static_cast<F16*>(layer.k), static_cast<F16*>(layer.v));
  }
}

}  // namespace

M2_AVX2 float softmax_weights(float* scores, int n) {
  __m256 m = _mm256_set1_ps(-INFINITY);
  int r = 0;
  for (; r + 8 <= n; r += 8) m = _mm256_max_ps(m, _mm256_loadu_ps(scores + r));
  float max_score = -INFINITY;
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, m);
  for (float x : lanes) max_score = x > max_score ? x : max_score;
  for (; r < n; ++r) max_score = scores[r] > max_score ? scores[r] : max_score;
  const __m256 mv = _mm256_set1_ps(max_score);
  __m256 sum = _mm256_setzero_ps();
  for (r = 0; r + 8 <= n; r += 8) {
    const __m256 w = exp8(_mm256_sub_ps(_mm256_loadu_ps(scores + r), mv));
    _mm256_storeu_ps(scores + r, w);
    sum = _mm256_add_ps(sum, w);
  }
  if (r < n) {
    const __m256i keep = _mm256_cmpgt_epi32(_mm256_set1_epi32(n - r), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    const __m256 w = _mm256_and_ps(exp8(_mm256_sub_ps(_mm256_maskload_ps(scores + r, keep), mv)), _mm256_castsi256_ps(keep));
    _mm256_maskstore_ps(scores + r, keep, w);
    sum = _mm256_add_ps(sum, w);
  }
  return hsum8(sum);
}

void kv_store(const KvGeometry& g, KvLayer layer, const float* k, const float* v, const int32_t* slots,
              int tokens) {
  with_typed_cache(g, layer, [&](auto* k_cache, auto* v_cache) { store_rows(g, k_cache, v_cache, k, v, slots, tokens); });
}

void paged_attention(ThreadPool& pool, const KvGeometry& g, KvLayer layer, const float* q, int q_heads,
                     const AttentionSequence* seqs, int nseqs, int total_tokens, float* out) {
  if (bf16_dot_attention(g))
    return attend_bf16dot(pool, g, static_cast<const uint16_t*>(layer.k), static_cast<const uint16_t*>(layer.v), q, q_heads,
                          seqs, nseqs, out);
  with_typed_cache(g, layer, [&](auto* k_cache, auto* v_cache) {
    attend(pool, g, k_cache, v_cache, q, q_heads, seqs, nseqs, total_tokens, out);
  });
}

}  // namespace m2
