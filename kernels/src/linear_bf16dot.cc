// bf16 weights on CPUs with AVX512_BF16: inputs rounded to bf16 once per matmul (RNE) and
// multiplied with vdpbf16ps, about twice the f32-FMA rate on the same cores. Weights are in the
// PairPanels layout: one 64-byte load holds one col pair of 16 outputs, and each input row's
// pair is broadcast against it, so a tile of kMR input rows x kNR panels does kMR * kNR
// vdpbf16ps per kNR weight loads with every output in its own accumulator lane. Per output the
// order is fixed whatever the tile, M or thread count: one vdpbf16ps per col pair in k order,
// then the bias. Used for every M (M = 1 too), so a row's result never depends on its batch.
#include "linear.h"

#pragma GCC target("avx512f,avx512bw,avx512vl,avx512bf16,avx2,fma,f16c")
#include <immintrin.h>

namespace m2 {
namespace {

// 8 x 3 = 24 accumulators, 3 weight operands and a broadcast: 28 of the 32 zmm registers.
// Measured on Zen 4 (one core, single-stream weights from DRAM, M = 16): 177 GFLOP/s, against
// 126 for the RowGroups tile of 4 x 4 with horizontal sums; at M = 2048, 214 against 180.
constexpr int kMR = 8;
constexpr int kNR = 3;

inline __m512bh as_bh(__m512i v) { return reinterpret_cast<__m512bh>(v); }

// The thread's next task's weights (LinearBlock::prefetch), pulled into L2 at an even rate over
// every k step of this block: without it the first row block of a task streams from DRAM while
// the later ones compute from L2 with the memory idle (linear.cc decides when it pays).
class NextTaskStream {
 public:
  NextTaskStream(const LinearBlock& b, int pairs) {
    if (!b.prefetch) return;
    const size_t steps = static_cast<size_t>((b.m1 - b.m0 + kMR - 1) / kMR) * pairs;
    base_ = b.prefetch;
    end_ = b.prefetch_bytes;
    stride_ = (b.prefetch_bytes + steps - 1) / steps;
  }
  /// One k step: the next stride's worth of lines.
  void step() {
    if (at_ >= end_) return;
    const size_t to = at_ + stride_ < end_ ? at_ + stride_ : end_;
    for (size_t line = at_ & ~size_t{63}; line < to; line += 64) _mm_prefetch(base_ + line, _MM_HINT_T1);
    at_ = to;
  }

 private:
  const char* base_ = nullptr;
  size_t end_ = 0, stride_ = 0, at_ = 0;
};

// Input rows [m, m + MR) against panels [n, n + NR * kPanelRows) of the block's rows.
template <int MR, int NR>
inline void tile(const LinearBlock& b, int m, int n, NextTaskStream& next) {
  const int pairs = bf16_row_stride(b.w->cols) / 2;
  const auto* w = static_cast<const uint32_t*>(b.w->data) + static_cast<size_t>(n) * pairs;
  const auto* x = reinterpret_cast<const uint32_t*>(b.xbf16) + static_cast<size_t>(m) * pairs;
  __m512 acc[MR][NR];
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j) acc[i][j] = _mm512_setzero_ps();
  for (int k = 0; k < pairs; ++k) {
    next.step();
    __m512i wv[NR];
    for (int j = 0; j < NR; ++j) wv[j] = _mm512_loadu_si512(w + (static_cast<size_t>(j) * pairs + k) * kPanelRows);
    for (int i = 0; i < MR; ++i) {
      const __m512i xv = _mm512_set1_epi32(static_cast<int>(x[static_cast<size_t>(i) * pairs + k]));
      for (int j = 0; j < NR; ++j) acc[i][j] = _mm512_dpbf16_ps(acc[i][j], as_bh(xv), as_bh(wv[j]));
    }
  }
  for (int j = 0; j < NR; ++j) {
    const int n0 = n + j * kPanelRows, live = b.n1 - n0 < kPanelRows ? b.n1 - n0 : kPanelRows;
    const __mmask16 mask = static_cast<__mmask16>((1u << live) - 1);
    const __m512 bias = b.bias ? _mm512_maskz_loadu_ps(mask, b.bias + n0) : _mm512_setzero_ps();
    for (int i = 0; i < MR; ++i) {
      const __m512 out = b.bias ? _mm512_add_ps(acc[i][j], bias) : acc[i][j];
      _mm512_mask_storeu_ps(b.y + static_cast<size_t>(m + i) * b.ldy + n0, mask, out);
    }
  }
}

// Input rows [m, m + MR) against every panel of the block: kNR at a time, then the rest.
template <int MR>
inline void rows(const LinearBlock& b, int m, NextTaskStream& next) {
  int n = b.n0;
  for (; n + kNR * kPanelRows <= b.n1; n += kNR * kPanelRows) tile<MR, kNR>(b, m, n, next);
  const int left = (b.n1 - n + kPanelRows - 1) / kPanelRows;
  if (left == 2) tile<MR, 2>(b, m, n, next);
  if (left == 1) tile<MR, 1>(b, m, n, next);
}

template <int MR>
inline void tail_rows(const LinearBlock& b, int m, NextTaskStream& next) {
  if constexpr (MR > 0) {
    if (b.m1 - m == MR) return rows<MR>(b, m, next);
    tail_rows<MR - 1>(b, m, next);
  }
}

}  // namespace

void to_bf16_rows(const float* x, int ldx, int M, int K, uint16_t* out) {
  const int stride = bf16_row_stride(K);
  for (int m = 0; m < M; ++m) {
    const float* xr = x + static_cast<size_t>(m) * ldx;
    uint16_t* o = out + static_cast<size_t>(m) * stride;
    int k = 0;
    for (; k + 32 <= K; k += 32) {
      const __m512bh v = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(xr + k + 16), _mm512_loadu_ps(xr + k));
      _mm512_storeu_si512(o + k, reinterpret_cast<__m512i>(v));
    }
    for (; k < stride; k += 16) {
      // Lanes past K load as zero, so an odd K's pad element is +0.
      const int in = K - k < 16 ? K - k : 16, on = stride - k < 16 ? stride - k : 16;
      const __m256bh v = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << in) - 1), xr + k));
      _mm256_mask_storeu_epi16(o + k, static_cast<__mmask16>((1u << on) - 1), reinterpret_cast<__m256i>(v));
    }
  }
}

void linear_block_avx512_bf16dot(const LinearBlock& b) {
  NextTaskStream next(b, bf16_row_stride(b.w->cols) / 2);
  int m = b.m0;
  for (; m + kMR <= b.m1; m += kMR) rows<kMR>(b, m, next);
  tail_rows<kMR - 1>(b, m, next);
}

}  // namespace m2
