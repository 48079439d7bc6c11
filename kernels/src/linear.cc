#include "linear.h"

#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
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

// Rows per task for a matrix and M input rows: whole packed row groups, about kTaskBytes of weights.
int rows_per_task(const WeightMatrix& w, int M) {
  const size_t row_bytes = static_cast<size_t>(w.cols) * dtype_size(w.dtype);
  size_t groups = kTaskBytes / (row_bytes * kPackRows);
  if (M > kRowsOfXPerPass && groups < kMinGroupsPerMultiPassTask) groups = kMinGroupsPerMultiPassTask;
  return static_cast<int>(groups < 1 ? 1 : groups > 64 ? 64 : groups) * kPackRows;
}

using BlockKernel = void (*)(const LinearBlock&);

// M2_KERNELS_MAX_ISA=avx2 keeps AVX-512 machines on the AVX2 path (tests cover both paths).
bool avx512_allowed() {
  const CpuFeatures& f = cpu_features();
  const char* cap = std::getenv("M2_KERNELS_MAX_ISA");
  return !(cap && std::string(cap) == "avx2") && f.avx512f && f.avx512bw && f.avx512vl;
}

BlockKernel select_kernel() {
  const CpuFeatures& f = cpu_features();
  if (avx512_allowed()) return linear_block_avx512;
  if (f.avx2 && f.fma && f.f16c) return linear_block_avx2;
  throw std::runtime_error("m2 kernels need a CPU with AVX2, FMA and F16C");
}

// M2_KERNELS_BF16_DOT=0 keeps bf16 weights on the f32 path (exact f32 activations).
bool bf16_dot_enabled() {
  const char* flag = std::getenv("M2_KERNELS_BF16_DOT");
  return avx512_allowed() && cpu_features().avx512bf16 && !(flag && std::string(flag) == "0");
}

}  // namespace

size_t packed_bytes(DType dtype, int rows, int cols) {
  const size_t groups = (static_cast<size_t>(rows) + kPackRows - 1) / kPackRows;
  return groups * kPackRows * cols * dtype_size(dtype);
}

void pack_weights(const void* src, DType dtype, int rows, int cols, void* dst) {
  const size_t es = dtype_size(dtype), row_bytes = static_cast<size_t>(cols) * es;
  const size_t chunk_bytes = kPackChunk * es, chunks = cols / kPackChunk, tail_bytes = (cols % kPackChunk) * es;
  const auto* in = static_cast<const uint8_t*>(src);
  auto* out = static_cast<uint8_t*>(dst);
  std::memset(dst, 0, packed_bytes(dtype, rows, cols));
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
  if (!w.packed) throw std::invalid_argument("weight_row: the matrix must be packed");
  const size_t es = dtype_size(w.dtype);
  const int cols = w.cols;
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
  static const bool bf16_dot = bf16_dot_enabled();
  // Reused across calls: the rounded input of the calling thread's current matmul.
  thread_local std::vector<uint16_t> xbf16;
  int first_task[16 + 1], task_rows[16];
  BlockKernel job_kernel[16];
  if (njobs > 16) throw std::invalid_argument("linear: at most 16 jobs per call");
  first_task[0] = 0;
  bool round_x = false;
  for (int j = 0; j < njobs; ++j) {
    task_rows[j] = rows_per_task(*jobs[j].w, M);
    first_task[j + 1] = first_task[j] + (jobs[j].w->rows + task_rows[j] - 1) / task_rows[j];
    const bool dot = bf16_dot && jobs[j].w->dtype == DType::BF16;
    job_kernel[j] = dot ? linear_block_avx512_bf16dot : kernel;
    round_x = round_x || dot;
    if (jobs[j].w->cols != jobs[0].w->cols) throw std::invalid_argument("linear: jobs share x, so their cols must agree");
  }
  // A pointer, not the thread_local itself: the pool's threads would each see their own vector.
  const uint16_t* xb = nullptr;
  if (round_x) {
    xbf16.resize(static_cast<size_t>(M) * jobs[0].w->cols);
    to_bf16_rows(x, ldx, M, jobs[0].w->cols, xbf16.data());
    xb = xbf16.data();
  }
  // A task's job and its weight rows [n0, n1).
  struct TaskRows {
    int job, n0, n1;
  };
  auto rows_of = [&](int task) {
    int j = 0;
    while (task >= first_task[j + 1]) ++j;
    const int n0 = (task - first_task[j]) * task_rows[j];
    return TaskRows{j, n0, n0 + task_rows[j] < jobs[j].w->rows ? n0 + task_rows[j] : jobs[j].w->rows};
  };
  const int nthreads = pool.size();
  pool.run(first_task[njobs], [&](int task, int) {
    const auto [j, n0, n1] = rows_of(task);
    const LinearJob& job = jobs[j];
    // With dynamic claiming, a thread's next task is most often this one plus the thread count.
    const char* pf = nullptr;
    size_t pf_bytes = 0;
    if (M > 1 && task + nthreads < first_task[njobs]) {
      const TaskRows next = rows_of(task + nthreads);
      const WeightMatrix& wn = *jobs[next.job].w;
      const size_t row_bytes = static_cast<size_t>(wn.cols) * dtype_size(wn.dtype);
      pf = static_cast<const char*>(wn.data) + next.n0 * row_bytes;
      pf_bytes = (next.n1 - next.n0) * row_bytes;
    }
    for (int m0 = 0; m0 < M; m0 += kRowsOfXPerPass) {
      int m1 = m0 + kRowsOfXPerPass < M ? m0 + kRowsOfXPerPass : M;
      job_kernel[j]({x, ldx, m0, m1, job.w, n0, n1, job.bias, job.y, job.ldy, xb, m0 == 0 ? pf : nullptr, pf_bytes});
    }
  });
}

}  // namespace m2
