// bf16 weights on CPUs with AVX512_BF16: inputs rounded to bf16 once per matmul (RNE) and
// multiplied with vdpbf16ps, about twice the f32-FMA rate on the same cores, so batched decode
// is no longer capped by the FMA ceiling. Used for every M (M = 1 too) so a row's result never
// depends on its batch. Per output the order is fixed whatever the tile or layout: vdpbf16ps
// steps of 32 k, one zero-padded 16-k step where 16 more remain, the horizontal sum, then a
// scalar fused multiply-add tail over the last K % 16 in k order.
#include "linear.h"

#pragma GCC target("avx512f,avx512bw,avx512vl,avx512bf16,avx2,fma,f16c")
#include <immintrin.h>

#include <cmath>
#include <cstring>

namespace m2 {
namespace {

constexpr int kMR = 4;  // input rows per tile
constexpr int kNR = 4;  // weight rows per row-major tile

inline __m512bh as_bh(__m512i v) { return reinterpret_cast<__m512bh>(v); }
inline __m512i load32(const uint16_t* p) { return _mm512_loadu_si512(p); }
inline __m512i load16(const uint16_t* p) {
  return _mm512_zextsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}
inline float bf16_value(uint16_t v) {
  const uint32_t bits = static_cast<uint32_t>(v) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}
inline float scalar_tail(const uint16_t* x, const uint16_t* w, int n) {
  float s = 0.0f;
  for (int k = 0; k < n; ++k) s = std::fma(bf16_value(x[k]), bf16_value(w[k]), s);
  return s;
}
inline void store(const LinearBlock& b, int m, int n, float dot) {
  b.y[static_cast<size_t>(m) * b.ldy + n] = b.bias ? dot + b.bias[n] : dot;
}

template <int MR, int NR>
inline void tile(const LinearBlock& b, int m, int n) {
  const int K = b.w->cols, k32 = K - K % 32, k16 = K - K % 16;
  const auto* w = static_cast<const uint16_t*>(b.w->data) + static_cast<size_t>(n) * K;
  const uint16_t* x = b.xbf16 + static_cast<size_t>(m) * K;
  __m512 acc[MR][NR];
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j) acc[i][j] = _mm512_setzero_ps();
  for (int k = 0; k < k32; k += 32) {
    __m512i xv[MR];
    for (int i = 0; i < MR; ++i) xv[i] = load32(x + static_cast<size_t>(i) * K + k);
    for (int j = 0; j < NR; ++j) {
      const __m512i wv = load32(w + static_cast<size_t>(j) * K + k);
      for (int i = 0; i < MR; ++i) acc[i][j] = _mm512_dpbf16_ps(acc[i][j], as_bh(xv[i]), as_bh(wv));
    }
  }
  for (int i = 0; i < MR; ++i) {
    const uint16_t* xr = x + static_cast<size_t>(i) * K;
    for (int j = 0; j < NR; ++j) {
      const uint16_t* wr = w + static_cast<size_t>(j) * K;
      if (k16 > k32) acc[i][j] = _mm512_dpbf16_ps(acc[i][j], as_bh(load16(xr + k32)), as_bh(load16(wr + k32)));
      store(b, m + i, n + j, _mm512_reduce_add_ps(acc[i][j]) + scalar_tail(xr + k16, wr + k16, K - k16));
    }
  }
}

// One packed row group ([chunk][row][32], then [row][tail]) against MR input rows: each chunk
// is one 32-element operand, and the tail takes the row-major tile's zero-padded 16-k step and
// scalar end, so both layouts agree bit for bit.
static_assert(kPackChunk == 32, "the packed bf16-dot tile reads one vdpbf16ps operand per chunk");
template <int MR>
inline void packed_tile(const LinearBlock& b, int m, int n) {
  constexpr int R = kPackRows, C = kPackChunk;
  const int K = b.w->cols, chunks = K / C, tail = K % C;
  const auto* group = static_cast<const uint16_t*>(b.w->data) + static_cast<size_t>(n) * K;
  const uint16_t* x = b.xbf16 + static_cast<size_t>(m) * K;
  __m512 acc[MR][R];
  for (int i = 0; i < MR; ++i)
    for (int r = 0; r < R; ++r) acc[i][r] = _mm512_setzero_ps();
  for (int c = 0; c < chunks; ++c) {
    const uint16_t* wc = group + static_cast<size_t>(c) * R * C;
    __m512i xv[MR];
    for (int i = 0; i < MR; ++i) xv[i] = load32(x + static_cast<size_t>(i) * K + c * C);
    for (int r = 0; r < R; ++r) {
      const __m512i wv = load32(wc + r * C);
      for (int i = 0; i < MR; ++i) acc[i][r] = _mm512_dpbf16_ps(acc[i][r], as_bh(xv[i]), as_bh(wv));
    }
  }
  const uint16_t* tails = group + static_cast<size_t>(chunks) * R * C;
  const int half = tail >= 16 ? 16 : 0;
  for (int r = 0; r < R && n + r < b.n1; ++r) {
    const uint16_t* wt = tails + static_cast<size_t>(r) * tail;
    for (int i = 0; i < MR; ++i) {
      const uint16_t* xt = x + static_cast<size_t>(i) * K + chunks * C;
      if (half) acc[i][r] = _mm512_dpbf16_ps(acc[i][r], as_bh(load16(xt)), as_bh(load16(wt)));
      store(b, m + i, n + r, _mm512_reduce_add_ps(acc[i][r]) + scalar_tail(xt + half, wt + half, tail - half));
    }
  }
}

template <int MR>
inline void rows(const LinearBlock& b, int m) {
  int n = b.n0;
  for (; n + kNR <= b.n1; n += kNR) tile<MR, kNR>(b, m, n);
  for (; n < b.n1; ++n) tile<MR, 1>(b, m, n);
}

}  // namespace

void to_bf16_rows(const float* x, int ldx, int M, int K, uint16_t* out) {
  for (int m = 0; m < M; ++m) {
    const float* xr = x + static_cast<size_t>(m) * ldx;
    uint16_t* o = out + static_cast<size_t>(m) * K;
    int k = 0;
    for (; k + 32 <= K; k += 32) {
      const __m512bh v = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(xr + k + 16), _mm512_loadu_ps(xr + k));
      _mm512_storeu_si512(o + k, reinterpret_cast<__m512i>(v));
    }
    for (; k < K; k += 16) {
      const __mmask16 live = K - k >= 16 ? 0xffff : static_cast<__mmask16>((1u << (K - k)) - 1);
      const __m256bh v = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(live, xr + k));
      _mm256_mask_storeu_epi16(o + k, live, reinterpret_cast<__m256i>(v));
    }
  }
}

void linear_block_avx512_bf16dot(const LinearBlock& b) {
  int m = b.m0;
  if (b.w->packed) {
    PrefetchSlices next(b, kMR);
    for (; m + kMR <= b.m1; m += kMR)
      for (int n = b.n0; n < b.n1; n += kPackRows) {
        next.step(m);
        packed_tile<kMR>(b, m, n);
      }
    for (; m < b.m1; ++m)
      for (int n = b.n0; n < b.n1; n += kPackRows) packed_tile<1>(b, m, n);
    return;
  }
  for (; m + kMR <= b.m1; m += kMR) rows<kMR>(b, m);
  for (; m < b.m1; ++m) rows<1>(b, m);
}

}  // namespace m2
