// Linear layers y = x W^T (+ b) with W kept in its checkpoint dtype (f32/f16/bf16) and f32
// accumulation. Batch invariance: every output element is one dot product with a fixed
// reduction order (FMA kernels: vector lanes over k, a fixed horizontal sum, then a scalar tail;
// bf16-dot: one lane over the col pairs in k order), whatever the number of rows M or the tile
// that computes it, so a token's result never depends on the rest of the batch.
#pragma once

#include <immintrin.h>

#include "dtype.h"
#include "thread_pool.h"

namespace m2 {

// How a weight matrix is laid out. pack_weights picks one of the two packed layouts per dtype
// (packed_layout), so every packed matrix streams as one sequential read per task:
// - RowGroups (the FMA kernels): rows in groups of kPackRows; inside a group, cols in chunks of
//   kPackChunk elements with the group's rows interleaved chunk by chunk
//   ([chunk][row][kPackChunk]), then each row's cols % kPackChunk tail ([row][tail]).
// - PairPanels (bf16 weights on the bf16-dot kernel): rows in panels of kPanelRows; inside a
//   panel, for each pair of cols k = 2j, 2j+1, the panel's rows side by side ([j][row][2]), an
//   odd last col paired with a zero. One 64-byte load is then one vdpbf16ps operand holding 16
//   outputs' weights, multiplied by one input pair broadcast: no horizontal sums, and per
//   weight byte loaded, arithmetic for every input row of the tile.
// Rows past `rows` in the last group or panel are zeros.
enum class WeightLayout : uint8_t { RowMajor, RowGroups, PairPanels };
constexpr int kPackRows = 4;
// 32 elements: two f32-FMA steps of AVX-512, four of AVX2.
constexpr int kPackChunk = 32;
// 16 outputs: one zmm of f32 accumulators.
constexpr int kPanelRows = 16;

/// A weight matrix [rows = outputs, cols = inputs], borrowed (not owned).
struct WeightMatrix {
  const void* data = nullptr;
  DType dtype = DType::F32;
  int rows = 0;
  int cols = 0;
  WeightLayout layout = WeightLayout::RowMajor;
};

/// The layout pack_weights writes for dtype on this CPU (and under the M2_KERNELS_* switches).
WeightLayout packed_layout(DType dtype);
/// Bytes of the packed form of a rows x cols matrix (the last group or panel padded with zeros).
size_t packed_bytes(DType dtype, int rows, int cols);
/// Writes row-major `src` into `dst` (packed_bytes long) in packed_layout(dtype).
void pack_weights(const void* src, DType dtype, int rows, int cols, void* dst);

/// Row `row` of a packed w widened to f32: the embedding lookup reads the tied lm_head's
/// packed table this way, so the vocab-sized matrix is stored once, in the layout the lm_head
/// GEMV streams fastest.
void weight_row(const WeightMatrix& w, int row, float* out);

/// One output of a shared-input linear: y[m, 0:w.rows] with row stride ldy.
struct LinearJob {
  const WeightMatrix* w;
  const float* bias;  // nullable, w.rows floats
  float* y;
  int ldy;
};

/// The rectangle of outputs one task computes; what the ISA kernels receive.
struct LinearBlock {
  const float* x;
  int ldx;
  int m0, m1;
  const WeightMatrix* w;
  int n0, n1;
  const float* bias;
  float* y;
  int ldy;
  const uint16_t* xbf16;  // x rounded to bf16, row stride bf16_row_stride(w->cols): the bf16-dot kernel's input
  // The weights this thread most likely streams next (its next task's rows). Work on the block
  // that computes from cache leaves memory idle: the kernels pull this in to L2 a slice at a time
  // meanwhile (PrefetchSlices, the bf16-dot kernel's NextTaskStream), so the weight stream and
  // the arithmetic overlap in batched steps.
  const char* prefetch = nullptr;
  size_t prefetch_bytes = 0;
};

/// Spreads b.prefetch over the (tile, row group) steps of b's passes after the first.
class PrefetchSlices {
 public:
  PrefetchSlices(const LinearBlock& b, int tile_rows) : b_(b) {
    const size_t groups = (b.n1 - b.n0 + kPackRows - 1) / kPackRows;
    const size_t later_tiles = (b.m1 - b.m0 - 1) / tile_rows;
    if (b.prefetch && later_tiles > 0) slice_ = (b.prefetch_bytes / (later_tiles * groups) + 63) / 64 * 64;
  }
  /// One step of the block, at input row m: after the first tile, pulls in the next slice.
  void step(int m) {
    if (slice_ == 0 || m == b_.m0) return;
    const size_t end = done_ + slice_ < b_.prefetch_bytes ? done_ + slice_ : b_.prefetch_bytes;
    for (; done_ < end; done_ += 64) _mm_prefetch(b_.prefetch + done_, _MM_HINT_T1);
  }

 private:
  const LinearBlock& b_;
  size_t slice_ = 0, done_ = 0;
};

void linear_block_avx512(const LinearBlock& b);
void linear_block_avx2(const LinearBlock& b);
/// BF16 weights in the PairPanels layout, on CPUs with AVX512_BF16: reads b.xbf16, not b.x.
void linear_block_avx512_bf16dot(const LinearBlock& b);
/// Elements per row of the bf16-dot kernel's input: K rounded up to whole pairs.
inline int bf16_row_stride(int K) { return K + (K & 1); }
/// Rounds x [M, K] (row stride ldx) to bf16 (RNE) into out [M, bf16_row_stride(K)], an odd K's
/// pad element zero; needs AVX512_BF16.
void to_bf16_rows(const float* x, int ldx, int M, int K, uint16_t* out);

/// Runs every job over the same input x [M, K] (row stride ldx) in one pool dispatch. Packed
/// and row-major matrices give bit-identical outputs on the same ISA path. BF16 weights on CPUs
/// with AVX512_BF16 take the bf16-dot path (x rounded to bf16) unless M2_KERNELS_BF16_DOT=0.
void linear(ThreadPool& pool, const float* x, int ldx, int M, const LinearJob* jobs, int njobs);

}  // namespace m2
