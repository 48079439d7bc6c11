// Paged attention over a bf16 KV cache on CPUs with AVX512_BF16. The AVX2 kernel widens every K
// and V element once per query head that reads it; here a task takes a tile of query rows (the
// heads of one kv head, for one token or several consecutive prompt tokens of one sequence), and
// each key block is prepared once for all of them:
//  - scores: 16 keys' rows are transposed in registers so a vector holds one element pair of 16
//    keys; a row's 16 scores are then head_dim / 2 vdpbf16ps against its query pairs broadcast
//    (q rounded to bf16 once, as the linear kernels round activations; K is bf16 already).
//  - weighted V: the rows' softmax weights are rounded to bf16 (their sum, the divisor, stays
//    f32); two V rows are interleaved into element pairs once per chunk of query rows, and each
//    row adds them with vdpbf16ps against its broadcast weight pair.
// Per (token, head) the arithmetic is fixed (score lanes in pair order, softmax over its own keys,
// V in key-pair order, a lone last key paired with zero) whatever the tile, batch or thread
// count, so results stay batch-invariant and a prompt gives the same output however it was
// chunked.
#include "attention_keys.h"
#include "cpu_features.h"
#include "linear.h"

#pragma GCC target("avx512f,avx512bw,avx512vl,avx512bf16,avx2,fma,f16c")
// GCC 12 takes the intrinsics' deliberately undefined pass-through operands for uninitialized reads.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <utility>
#include <vector>

namespace m2 {
namespace {

constexpr int kKeys = 16;          // keys per score vector, one per lane
constexpr int kScoreRows = 8;      // query rows per pass over a transposed key block
constexpr int kVRegisters = 24;    // weighted-V accumulators: rows x head_dim / 16
constexpr int kMaxTileRows = 32;   // query rows of a tile (all heads of whole tokens)
constexpr int kMaxHeadDim = 128;
constexpr size_t kTileScoreBytes = 128 * 1024;  // a tile's scores, kept in L2 between passes

inline __m512bh as_bh(__m512i v) { return reinterpret_cast<__m512bh>(v); }

// r[i] lane j <- r[j] lane i for 16 vectors of 16 dwords: unpacks of 32- and 64-bit pairs, then
// two rounds of 128-bit lane shuffles.
inline void transpose16(__m512i r[16]) {
  __m512i t[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
  }
  __m512i u[16];
  for (int g = 0; g < 16; g += 4) {
    u[g] = _mm512_unpacklo_epi64(t[g], t[g + 2]);
    u[g + 1] = _mm512_unpackhi_epi64(t[g], t[g + 2]);
    u[g + 2] = _mm512_unpacklo_epi64(t[g + 1], t[g + 3]);
    u[g + 3] = _mm512_unpackhi_epi64(t[g + 1], t[g + 3]);
  }
  // u[4g + c], 128-bit lane j: column 4j + c of rows 4g..4g+3.
  for (int c = 0; c < 4; ++c) {
    const __m512i v0 = _mm512_shuffle_i32x4(u[c], u[4 + c], 0x88), w0 = _mm512_shuffle_i32x4(u[c], u[4 + c], 0xDD);
    const __m512i v1 = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0x88), w1 = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0xDD);
    r[c] = _mm512_shuffle_i32x4(v0, v1, 0x88);
    r[8 + c] = _mm512_shuffle_i32x4(v0, v1, 0xDD);
    r[4 + c] = _mm512_shuffle_i32x4(w0, w1, 0x88);
    r[12 + c] = _mm512_shuffle_i32x4(w0, w1, 0xDD);
  }
}

// Keys [k0, k0 + 16) of rows (zero past n) as head_dim / 2 vectors: kt[p] lane i holds element
// pair p of key k0 + i.
inline void transpose_keys(const uint16_t* const* rows, int k0, int n, int d, __m512i* kt) {
  for (int b = 0; b < d / 32; ++b) {
    __m512i r[16];
    for (int i = 0; i < 16; ++i) r[i] = k0 + i < n ? _mm512_loadu_si512(rows[k0 + i] + b * 32) : _mm512_setzero_si512();
    transpose16(r);
    for (int p = 0; p < 16; ++p) _mm512_store_si512(kt + b * 16 + p, r[p]);
  }
}

// scores[r * ld + k0 + lane] = (q_r . key) * scale for R rows of bf16 query pairs.
template <int R>
void score_rows(const __m512i* kt, int pairs, const uint32_t* qb, float scale, float* scores, size_t ld) {
  __m512 acc[R];
  for (int r = 0; r < R; ++r) acc[r] = _mm512_setzero_ps();
  for (int p = 0; p < pairs; ++p) {
    const __m512i k = _mm512_load_si512(kt + p);
    for (int r = 0; r < R; ++r) acc[r] = _mm512_dpbf16_ps(acc[r], as_bh(k), as_bh(_mm512_set1_epi32(static_cast<int>(qb[r * pairs + p]))));
  }
  const __m512 sc = _mm512_set1_ps(scale);
  for (int r = 0; r < R; ++r) _mm512_storeu_ps(scores + r * ld, _mm512_mul_ps(acc[r], sc));
}

using ScoreRows = void (*)(const __m512i*, int, const uint32_t*, float, float*, size_t);
constexpr ScoreRows kScoreRowsFor[kScoreRows + 1] = {nullptr,         score_rows<1>, score_rows<2>, score_rows<3>, score_rows<4>,
                                                     score_rows<5>, score_rows<6>, score_rows<7>, score_rows<8>};

// Element pairs of two V rows for vdpbf16ps: from 32 elements of each, lo holds the pairs of
// elements {0-3, 8-11, 16-19, 24-27} and hi those of {4-7, 12-15, ...} (16-bit unpacks work
// within 128-bit lanes); store_unpacked puts the sums back in element order.
inline void interleave_rows(__m512i a, __m512i b, __m512i* lo, __m512i* hi) {
  *lo = _mm512_unpacklo_epi16(a, b);
  *hi = _mm512_unpackhi_epi16(a, b);
}

inline void store_unpacked(__m512 lo, __m512 hi, __m512 scale, float* out) {
  const __m512i first = _mm512_setr_epi32(0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23);
  const __m512i second = _mm512_setr_epi32(8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31);
  _mm512_storeu_ps(out, _mm512_mul_ps(_mm512_permutex2var_ps(lo, first, hi), scale));
  _mm512_storeu_ps(out + 16, _mm512_mul_ps(_mm512_permutex2var_ps(lo, second, hi), scale));
}

// outs[r] = inv[r] * sum over keys k < n[r] of P_r[k] * V row k for C rows whose n never
// decreases: pw holds each row's softmax weights rounded to bf16 as pairs (ldp pairs a row, an
// odd count's last pair padded with zero); V rows sit at rows[k] + v_offset. A row takes its
// key pairs in order, then a lone last key paired with a zero row, exactly as it would alone.
template <int C, int NB>
void weigh_rows(const uint32_t* pw, size_t ldp, const int* n, const uint16_t* const* rows, ptrdiff_t v_offset,
                float* const* outs, const float* inv) {
  constexpr int NV = 2 * NB;  // accumulators a row: NB blocks of 32 elements, lo and hi
  __m512 acc[C][NV];
  for (int r = 0; r < C; ++r)
    for (int j = 0; j < NV; ++j) acc[r][j] = _mm512_setzero_ps();
  const int pairs = n[C - 1] / 2;
  for (int kp = 0; kp < pairs; ++kp) {
    const uint16_t* v0 = rows[2 * kp] + v_offset;
    const uint16_t* v1 = rows[2 * kp + 1] + v_offset;
    if (2 * kp + kKeys + 1 < n[C - 1])
      for (int b = 0; b < NB; ++b) {
        _mm_prefetch(reinterpret_cast<const char*>(rows[2 * kp + kKeys] + v_offset + 32 * b), _MM_HINT_T0);
        _mm_prefetch(reinterpret_cast<const char*>(rows[2 * kp + kKeys + 1] + v_offset + 32 * b), _MM_HINT_T0);
      }
    __m512i vp[NV];
    for (int b = 0; b < NB; ++b) interleave_rows(_mm512_loadu_si512(v0 + 32 * b), _mm512_loadu_si512(v1 + 32 * b), &vp[2 * b], &vp[2 * b + 1]);
    for (int r = 0; r < C; ++r) {
      if (2 * kp + 1 >= n[r]) continue;
      const __m512i p = _mm512_set1_epi32(static_cast<int>(pw[r * ldp + kp]));
      for (int j = 0; j < NV; ++j) acc[r][j] = _mm512_dpbf16_ps(acc[r][j], as_bh(vp[j]), as_bh(p));
    }
  }
  for (int r = 0; r < C; ++r) {
    if (n[r] % 2 == 0) continue;
    const int k = n[r] - 1;
    const uint16_t* v = rows[k] + v_offset;
    const __m512i p = _mm512_set1_epi32(static_cast<int>(pw[r * ldp + k / 2]));
    for (int b = 0; b < NB; ++b) {
      __m512i lo, hi;
      interleave_rows(_mm512_loadu_si512(v + 32 * b), _mm512_setzero_si512(), &lo, &hi);
      acc[r][2 * b] = _mm512_dpbf16_ps(acc[r][2 * b], as_bh(lo), as_bh(p));
      acc[r][2 * b + 1] = _mm512_dpbf16_ps(acc[r][2 * b + 1], as_bh(hi), as_bh(p));
    }
  }
  for (int r = 0; r < C; ++r) {
    const __m512 s = _mm512_set1_ps(inv[r]);
    for (int b = 0; b < NB; ++b) store_unpacked(acc[r][2 * b], acc[r][2 * b + 1], s, outs[r] + 32 * b);
  }
}

using WeighRows = void (*)(const uint32_t*, size_t, const int*, const uint16_t* const*, ptrdiff_t, float* const*, const float*);

template <int NB, int... C>
constexpr std::array<WeighRows, sizeof...(C) + 1> weigh_table(std::integer_sequence<int, C...>) {
  return {nullptr, weigh_rows<C + 1, NB>...};
}

// weigh_rows<C, head_dim / 32> for C in [1, kVRegisters / (head_dim / 16)]; head_dim is 32, 64,
// 96 or 128 (bf16_dot_attention).
WeighRows weigh_rows_for(int d, int c) {
  static constexpr auto d32 = weigh_table<1>(std::make_integer_sequence<int, kVRegisters / 2>{});
  static constexpr auto d64 = weigh_table<2>(std::make_integer_sequence<int, kVRegisters / 4>{});
  static constexpr auto d96 = weigh_table<3>(std::make_integer_sequence<int, kVRegisters / 6>{});
  static constexpr auto d128 = weigh_table<4>(std::make_integer_sequence<int, kVRegisters / 8>{});
  switch (d) {
    case 32: return d32[c];
    case 64: return d64[c];
    case 96: return d96[c];
    default: return d128[c];
  }
}

// One task: tokens [j0, j1) of sequence `seq` (consecutive, plain causal unless j1 = j0 + 1),
// query heads [h0, h1) of kv head `kv_head`.
struct Tile {
  int seq, j0, j1, kv_head, h0, h1;
};

// K and V rows are scattered 4 KiB pages the hardware prefetcher does not follow: while the
// scores of one key block are computed, the K rows kPrefetchKeys further on are pulled into L1
// and their V rows into L2, where the weighted sum finds them.
constexpr int kPrefetchKeys = 4 * kKeys;

inline void prefetch_keys(const uint16_t* const* rows, int from, int to, int n, int d, ptrdiff_t v_offset) {
  for (int i = from; i < to && i < n; ++i)
    for (int e = 0; e < d; e += 32) {
      _mm_prefetch(reinterpret_cast<const char*>(rows[i] + e), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(rows[i] + v_offset + e), _MM_HINT_T1);
    }
}

inline int round_keys(int n) { return (n + kKeys - 1) / kKeys * kKeys; }

}  // namespace

bool bf16_dot_attention(const KvGeometry& g) {
  static const bool enabled = bf16_dot_kernels_enabled();
  return enabled && g.dtype == DType::BF16 && g.head_dim % 32 == 0 && g.head_dim <= kMaxHeadDim;
}

void attend_bf16dot(ThreadPool& pool, const KvGeometry& g, const uint16_t* k_cache, const uint16_t* v_cache,
                    const float* q, int q_heads, const AttentionSequence* seqs, int nseqs, float* out) {
  const int group = q_heads / g.kv_heads, d = g.head_dim, pairs = d / 2;
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  const size_t row = static_cast<size_t>(q_heads) * d;
  const ptrdiff_t v_offset = v_cache - k_cache;
  // Tiles: a prompt's tokens in runs whose scores fit kTileScoreBytes, split by head where that
  // leaves too few tasks for the pool. Reused across calls (no per-step allocation).
  thread_local std::vector<Tile> caller_tiles;
  std::vector<Tile>& tiles = caller_tiles;  // the pool's threads read the caller's list
  tiles.clear();
  for (int si = 0; si < nseqs; ++si) {
    const AttentionSequence& s = seqs[si];
    const size_t keys = static_cast<size_t>(round_keys(s.context_len + s.count));
    const int by_bytes = static_cast<int>(kTileScoreBytes / (sizeof(float) * group * keys));
    const int tokens = s.tree_mask ? 1 : std::max(1, std::min(by_bytes, kMaxTileRows / group));
    for (int j0 = 0; j0 < s.count; j0 += tokens)
      for (int h = 0; h < g.kv_heads; ++h) tiles.push_back({si, j0, std::min(s.count, j0 + tokens), h, h * group, (h + 1) * group});
  }
  const int units = static_cast<int>(tiles.size()), parts = head_parts(units, group, pool);
  pool.run(units * parts, [&](int task, int) {
    thread_local std::vector<const uint16_t*> rows;
    thread_local std::vector<float> scores;
    thread_local std::vector<uint16_t> weights;
    thread_local std::vector<uint32_t> qb;
    thread_local std::vector<int> n;
    thread_local std::vector<float> inv;
    thread_local std::vector<float*> outs;
    alignas(64) __m512i kt[kMaxHeadDim / 2];  // the key block, transposed
    const Tile& t = tiles[task / parts];
    const int part = task % parts, heads = t.h1 - t.h0;
    const int h0 = t.h0 + part * heads / parts, h1 = t.h0 + (part + 1) * heads / parts, nh = h1 - h0;
    const AttentionSequence& s = seqs[t.seq];
    const int R = (t.j1 - t.j0) * nh;
    // The last token's keys: for plain causal rows, every earlier token's keys are a prefix.
    if (rows.size() < static_cast<size_t>(s.context_len + s.count)) rows.resize(s.context_len + s.count);
    const int n_max = key_rows(g, k_cache, s, t.j1 - 1, t.kv_head, rows.data());
    const size_t ld = static_cast<size_t>(round_keys(n_max));
    if (scores.size() < R * ld) scores.resize(R * ld), weights.resize(R * ld);
    if (qb.size() < static_cast<size_t>(R) * pairs) qb.resize(static_cast<size_t>(R) * pairs);
    if (n.size() < static_cast<size_t>(R)) n.resize(R), inv.resize(R), outs.resize(R);
    for (int j = t.j0; j < t.j1; ++j) {
      const size_t at = static_cast<size_t>(s.start + j) * row + static_cast<size_t>(h0) * d;
      const int r0 = (j - t.j0) * nh;
      to_bf16_rows(q + at, d, nh, d, reinterpret_cast<uint16_t*>(qb.data()) + static_cast<size_t>(r0) * d);
      for (int h = 0; h < nh; ++h) {
        n[r0 + h] = s.tree_mask ? n_max : s.context_len + j + 1;
        outs[r0 + h] = out + at + static_cast<size_t>(h) * d;
      }
    }
    prefetch_keys(rows.data(), 0, kPrefetchKeys, n_max, d, v_offset);
    for (int k0 = 0; k0 < n_max; k0 += kKeys) {
      prefetch_keys(rows.data(), k0 + kPrefetchKeys, k0 + kPrefetchKeys + kKeys, n_max, d, v_offset);
      transpose_keys(rows.data(), k0, n_max, d, kt);
      // Rows that see none of these keys (earlier prompt tokens) skip the block.
      int r = 0;
      while (r < R && n[r] <= k0) ++r;
      for (; r < R; r += kScoreRows) {
        const int c = std::min(kScoreRows, R - r);
        kScoreRowsFor[c](kt, pairs, qb.data() + static_cast<size_t>(r) * pairs, scale, scores.data() + r * ld + k0, ld);
      }
    }
    for (int r = 0; r < R; ++r) {
      inv[r] = 1.0f / softmax_weights(scores.data() + r * ld, n[r]);
      to_bf16_rows(scores.data() + r * ld, static_cast<int>(ld), 1, n[r], weights.data() + r * ld);
    }
    const int chunk = kVRegisters / (d / 16);
    const auto* pw = reinterpret_cast<const uint32_t*>(weights.data());
    for (int r = 0; r < R; r += chunk) {
      const int c = std::min(chunk, R - r);
      weigh_rows_for(d, c)(pw + r * ld / 2, ld / 2, n.data() + r, rows.data(), v_offset, outs.data() + r, inv.data() + r);
    }
  });
}

}  // namespace m2
