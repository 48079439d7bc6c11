#include "linear.h"

#include <cstring>
#include <stdexcept>
#include <vector>

#include "cpu_features.h"

namespace m2 {
namespace {

// Weight bytes per task: small enough that the last task of a dispatch leaves the other threads
// idle only briefly (~2 us of streaming), large enough that claiming a task is noise.
constexpr size_t kTaskBytes = 64 * 1024;

// Input rows per pass over a task's weight rows: keeps the x block cache-resident in prefill.
constexpr int kRowsOfXPerPass = 64;
// Row groups per task, at least, when x takes several passes: every task reads all of x (from L3
// once it outgrows L2), so a task needs enough weight rows to do enough arithmetic per byte of x.
// At 64 KB a long-row matrix (down_proj, 4864 cols) had one 4-row group per task; 8 groups
// measured 1.2x on its 1024-row GEMM (alternating builds, one process).
constexpr size_t kMinGroupsPerMultiPassTask = 8;

// Rows per task for a matrix and M input rows: whole row groups, about kTaskBytes of weights.
int row_groups_per_task(const WeightMatrix& w, int M) {
  const size_t row_bytes = static_cast<size_t>(w.cols) * dtype_size(w.dtype);
  size_t groups = kTaskBytes / (row_bytes * kPackRows);
  if (M > kRowsOfXPerPass && groups < kMinGroupsPerMultiPassTask) groups = kMinGroupsPerMultiPassTask;
  return static_cast<int>(groups < 1 ? 1 : groups > 64 ? 64 : groups) * kPackRows;
}

// The bf16-dot kernel's tiles span kPanelsPerTile panels: a task is whole tiles, three panels
// (48 rows) unless the matrix is too short to give every thread several tasks, then one panel.
// A 48-row task of a 896-col matrix is 86 KB, about kTaskBytes; of a 4864-col one, 467 KB.
constexpr int kPanelsPerTile = 3;
int panel_rows_per_task(const WeightMatrix& w, int threads) {
  const int tile_rows = kPanelsPerTile * kPanelRows;
  return w.rows >= 8 * threads * tile_rows ? tile_rows : kPanelRows;
}

// Bytes of one weight row as stored.
size_t stored_row_bytes(const WeightMatrix& w) {
  return w.layout == WeightLayout::PairPanels ? bf16_row_stride(w.cols) * sizeof(uint16_t)
                                              : static_cast<size_t>(w.cols) * dtype_size(w.dtype);
}

// Whether a task pulls in the thread's next task's weights (LinearBlock::prefetch). The bf16-dot
// kernel gains where the weight stream and the arithmetic are about equal, a decode batch of up
// to kMaxPrefetchRows rows (bench/forward-step --batch 16, builds alternated: decode step
// 52.1-54.6 -> 48.7-49.4 ms in the host's fast phase, 61.7-62.5 -> 60.1-60.3 in its slow one). It
// loses 4-7% at M=64, where a task computes long enough from cache for the hardware prefetcher
// alone, and where this task, the next and x overflow half of L2 (M=16 down_proj's 467 KB
// tasks: 6% slower).
constexpr int kMaxPrefetchRows = 32;
constexpr size_t kPrefetchL2Bytes = 512 * 1024;
bool prefetch_next_task(const WeightMatrix& w, int task_rows, int M) {
  if (w.layout != WeightLayout::PairPanels) return M > 1;
  const size_t task_bytes = static_cast<size_t>(task_rows) * stored_row_bytes(w);
  const size_t x_bytes = static_cast<size_t>(M) * bf16_row_stride(w.cols) * sizeof(uint16_t);
  return M > 1 && M <= kMaxPrefetchRows && 2 * task_bytes + x_bytes <= kPrefetchL2Bytes;
}

using BlockKernel = void (*)(const LinearBlock&);

BlockKernel select_kernel() {
  const CpuFeatures& f = cpu_features();
  if (avx512_kernels_allowed()) return linear_block_avx512;
  if (f.avx2 && f.fma && f.f16c) return linear_block_avx2;
  throw std::runtime_error("m2 kernels need a CPU with AVX2, FMA and F16C");
}

}  // namespace

WeightLayout packed_layout(DType dtype) {
  static const bool bf16_dot = bf16_dot_kernels_enabled();
  return dtype == DType::BF16 && bf16_dot ? WeightLayout::PairPanels : WeightLayout::RowGroups;
}

size_t packed_bytes(DType dtype, int rows, int cols) {
  if (packed_layout(dtype) == WeightLayout::PairPanels) {
    const size_t panels = (static_cast<size_t>(rows) + kPanelRows - 1) / kPanelRows;
    return panels * kPanelRows * bf16_row_stride(cols) * sizeof(uint16_t);
  }
  const size_t groups = (static_cast<size_t>(rows) + kPackRows - 1) / kPackRows;
  return groups * kPackRows * cols * dtype_size(dtype);
}

namespace {

// PairPanels element (row, col): panel row / kPanelRows, pair col / 2, lane row % kPanelRows.
size_t pair_panel_index(int row, int col, int cols) {
  const size_t pairs = bf16_row_stride(cols) / 2;
  return ((static_cast<size_t>(row / kPanelRows) * pairs + col / 2) * kPanelRows + row % kPanelRows) * 2 + col % 2;
}

}  // namespace

void pack_weights(const void* src, DType dtype, int rows, int cols, void* dst) {
  std::memset(dst, 0, packed_bytes(dtype, rows, cols));
  if (packed_layout(dtype) == WeightLayout::PairPanels) {
    // Row by row: each row reads sequentially and writes into its panel (a few hundred KB at most).
    for (int r = 0; r < rows; ++r) {
      const uint16_t* in = static_cast<const uint16_t*>(src) + static_cast<size_t>(r) * cols;
      uint16_t* out = static_cast<uint16_t*>(dst) + pair_panel_index(r, 0, cols);
      for (int c = 0; c < cols; ++c) out[(c >> 1) * 2 * kPanelRows + (c & 1)] = in[c];
    }
    return;
  }
  const size_t es = dtype_size(dtype), row_bytes = static_cast<size_t>(cols) * es;
  const size_t chunk_bytes = kPackChunk * es, chunks = cols / kPackChunk, tail_bytes = (cols % kPackChunk) * es;
  const auto* in = static_cast<const uint8_t*>(src);
  auto* out = static_cast<uint8_t*>(dst);
  for (int g = 0; g * kPackRows < rows; ++g) {
    uint8_t* group = out + static_cast<size_t>(g) * kPackRows * row_bytes;
    for (int r = 0; r < kPackRows && g * kPackRows + r < rows; ++r) {
      const uint8_t* row = in + static_cast<size_t>(g * kPackRows + r) * row_bytes;
      for (size_t c = 0; c < chunks; ++c)
        std::memcpy(group + (c * kPackRows + r) * chunk_bytes, row + c * chunk_bytes, chunk_bytes);
      std::memcpy(group + chunks * kPackRows * chunk_bytes + r * tail_bytes, row + chunks * chunk_bytes, tail_bytes);
    }
  }
}

void weight_row(const WeightMatrix& w, int row, float* out) {
  const int cols = w.cols;
  if (w.layout == WeightLayout::PairPanels) {
    const auto* data = static_cast<const uint16_t*>(w.data);
    for (int c = 0; c < cols; ++c) out[c] = load_as_f32(data, DType::BF16, pair_panel_index(row, c, cols));
    return;
  }
  if (w.layout != WeightLayout::RowGroups) throw std::invalid_argument("weight_row: the matrix must be packed");
  const size_t es = dtype_size(w.dtype);
  const int chunks = cols / kPackChunk, tail = cols % kPackChunk, r = row % kPackRows;
  const auto* group = static_cast<const uint8_t*>(w.data) + static_cast<size_t>(row / kPackRows) * kPackRows * cols * es;
  for (int c = 0; c < chunks; ++c) {
    const uint8_t* chunk = group + (static_cast<size_t>(c) * kPackRows + r) * kPackChunk * es;
    for (int i = 0; i < kPackChunk; ++i) out[c * kPackChunk + i] = load_as_f32(chunk, w.dtype, i);
  }
  const uint8_t* tails = group + static_cast<size_t>(chunks) * kPackRows * kPackChunk * es + static_cast<size_t>(r) * tail * es;
  for (int i = 0; i < tail; ++i) out[chunks * kPackChunk + i] = load_as_f32(tails, w.dtype, i);
}

void linear(ThreadPool& pool, const float* x, int ldx, int M, const LinearJob* jobs, int njobs) {
  static const BlockKernel kernel = select_kernel();
  // Reused across calls: the rounded input of the calling thread's current matmul, and row-major
  // bf16 weights repacked for the bf16-dot kernel (only tests and probes pass row-major ones).
  thread_local std::vector<uint16_t> xbf16;
  thread_local std::vector<uint8_t> repacked[16];
  WeightMatrix weights[16];
  int first_task[16 + 1], task_rows[16];
  BlockKernel job_kernel[16];
  bool prefetch_job[16];
  if (njobs > 16) throw std::invalid_argument("linear: at most 16 jobs per call");
  first_task[0] = 0;
  bool round_x = false;
  for (int j = 0; j < njobs; ++j) {
    WeightMatrix& w = weights[j] = *jobs[j].w;
    // The bf16-dot kernel takes exactly the matrices pack_weights gives its layout.
    const bool dot = packed_layout(w.dtype) == WeightLayout::PairPanels;
    if (dot && w.layout == WeightLayout::RowMajor) {
      repacked[j].resize(packed_bytes(w.dtype, w.rows, w.cols));
      pack_weights(w.data, w.dtype, w.rows, w.cols, repacked[j].data());
      w.data = repacked[j].data();
      w.layout = WeightLayout::PairPanels;
    }
    if ((w.layout == WeightLayout::PairPanels) != dot) throw std::logic_error("linear: weights packed for another kernel");
    task_rows[j] = dot ? panel_rows_per_task(w, pool.size()) : row_groups_per_task(w, M);
    first_task[j + 1] = first_task[j] + (w.rows + task_rows[j] - 1) / task_rows[j];
    prefetch_job[j] = prefetch_next_task(w, task_rows[j], M);
    job_kernel[j] = dot ? linear_block_avx512_bf16dot : kernel;
    round_x = round_x || dot;
    if (w.cols != weights[0].cols) throw std::invalid_argument("linear: jobs share x, so their cols must agree");
  }
  // A pointer, not the thread_local itself: the pool's threads would each see their own vector.
  const uint16_t* xb = nullptr;
  if (round_x) {
    const int K = weights[0].cols, stride = bf16_row_stride(K);
    xbf16.resize(static_cast<size_t>(M) * stride);
    uint16_t* out = xbf16.data();
    // A prefill's input is megabytes: rounded by all threads, 16 rows a task.
    constexpr int kRowsPerTask = 16;
    pool.run((M + kRowsPerTask - 1) / kRowsPerTask, [&](int task, int) {
      const int m0 = task * kRowsPerTask, rows = M - m0 < kRowsPerTask ? M - m0 : kRowsPerTask;
      to_bf16_rows(x + static_cast<size_t>(m0) * ldx, ldx, rows, K, out + static_cast<size_t>(m0) * stride);
    });
    xb = out;
  }
  // A task's job and its weight rows [n0, n1).
  struct TaskRows {
    int job, n0, n1;
  };
  auto rows_of = [&](int task) {
    int j = 0;
    while (task >= first_task[j + 1]) ++j;
    const int n0 = (task - first_task[j]) * task_rows[j];
    return TaskRows{j, n0, n0 + task_rows[j] < weights[j].rows ? n0 + task_rows[j] : weights[j].rows};
  };
  const int nthreads = pool.size();
  pool.run(first_task[njobs], [&](int task, int) {
    const auto [j, n0, n1] = rows_of(task);
    const LinearJob& job = jobs[j];
    // With dynamic claiming, a thread's next task is most often this one plus the thread count.
    const char* pf = nullptr;
    size_t pf_bytes = 0;
    if (task + nthreads < first_task[njobs]) {
      const TaskRows next = rows_of(task + nthreads);
      if (prefetch_job[next.job]) {
        const WeightMatrix& wn = weights[next.job];
        const size_t row_bytes = stored_row_bytes(wn);
        pf = static_cast<const char*>(wn.data) + next.n0 * row_bytes;
        pf_bytes = (next.n1 - next.n0) * row_bytes;
      }
    }
    for (int m0 = 0; m0 < M; m0 += kRowsOfXPerPass) {
      int m1 = m0 + kRowsOfXPerPass < M ? m0 + kRowsOfXPerPass : M;
      job_kernel[j]({x, ldx, m0, m1, &weights[j], n0, n1, job.bias, job.y, job.ldy, xb, m0 == 0 ? pf : nullptr, pf_bytes});
    }
  });
}

}  // namespace m2
