// Native probes for benchmarks and performance tests: the machine's streaming read bandwidth
// (the bound a decode step, one pass over the weights, is judged against; each thread reads its
// own slice sequentially, as the linear kernel streams packed weights) and the linear kernel
// on seeded weights, row-major or packed, timed with the forward pass's thread pool.
#include <immintrin.h>
#include <napi.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "dtype.h"
#include "linear.h"
#include "thread_pool.h"

namespace m2 {
namespace {

__attribute__((target("avx2"))) uint64_t read_slice(const uint8_t* p, size_t bytes) {
  __m256i a = _mm256_setzero_si256(), b = a, c = a, d = a;
  for (size_t i = 0; i + 128 <= bytes; i += 128) {
    a = _mm256_xor_si256(a, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i)));
    b = _mm256_xor_si256(b, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 32)));
    c = _mm256_xor_si256(c, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 64)));
    d = _mm256_xor_si256(d, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 96)));
  }
  __m256i x = _mm256_xor_si256(_mm256_xor_si256(a, b), _mm256_xor_si256(c, d));
  return static_cast<uint64_t>(_mm256_extract_epi64(x, 0) ^ _mm256_extract_epi64(x, 3));
}

// measureReadBandwidth(bytes, threads, repeats) -> GB/s of each repeat (after one warm pass).
Napi::Value MeasureReadBandwidth(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const double bytes_arg = info[0].ToNumber().DoubleValue();
  const int threads = info[1].ToNumber().Int32Value(), repeats = info[2].ToNumber().Int32Value();
  if (!(bytes_arg >= (1 << 20) && bytes_arg <= 16.0 * (1ull << 30)) || threads < 1 || threads > 256 || repeats < 1 ||
      repeats > 1000)
    throw Napi::RangeError::New(env, "measureReadBandwidth: bytes in [1 MiB, 16 GiB], threads in [1, 256], repeats in [1, 1000]");
  const size_t slice = static_cast<size_t>(bytes_arg) / threads / 4096 * 4096;
  std::unique_ptr<uint8_t, void (*)(void*)> buf(static_cast<uint8_t*>(std::aligned_alloc(4096, slice * threads)), std::free);
  if (!buf) throw Napi::Error::New(env, "measureReadBandwidth: out of memory");
  ThreadPool pool(threads);
  // Each thread first-touches its own slice (pages land where that thread reads them).
  pool.run(threads, [&](int t, int) { std::memset(buf.get() + slice * t, t + 1, slice); });
  std::vector<uint64_t> sink(threads);
  Napi::Float64Array out = Napi::Float64Array::New(env, repeats);
  for (int r = -1; r < repeats; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    pool.run(threads, [&](int t, int) { sink[t] ^= read_slice(buf.get() + slice * t, slice); });
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (r >= 0) out[r] = static_cast<double>(slice) * threads / s / 1e9;
  }
  volatile uint64_t observed = sink[0];  // the reads must not be optimised away
  (void)observed;
  return out;
}

// Values in [-1, 1) from a 64-bit LCG: the same seed gives the same matrix in any layout.
float seeded(uint64_t& state) {
  state = state * 6364136223846793005ull + 1442695040888963407ull;
  return static_cast<float>(static_cast<int32_t>(state >> 32)) / 2147483648.0f;
}


// linearProbe(rows, cols, dtype, M, threads, repeats, packed, seed) -> { seconds, y }: y = x W^T
// for seeded x [M, cols] and W [rows, cols] (biased by a seeded vector), and the wall time of
// each repeat.
Napi::Value LinearProbe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto num = [&](int i) { return info[i].ToNumber().Int32Value(); };
  const int rows = num(0), cols = num(1), M = num(3), threads = num(4), repeats = num(5);
  DType dtype;
  try {
    dtype = parse_dtype(info[2].ToString());
  } catch (const std::invalid_argument& e) {
    throw Napi::TypeError::New(env, std::string("linearProbe: ") + e.what());
  }
  const bool packed = info[6].ToBoolean();
  uint64_t state = static_cast<uint64_t>(info[7].ToNumber().Int64Value());
  if (rows < 1 || cols < 1 || M < 1 || threads < 1 || threads > 256 || repeats < 1 || repeats > 1000 ||
      static_cast<double>(rows) * cols > 4e9)
    throw Napi::RangeError::New(env, "linearProbe: rows, cols, M, threads (<= 256), repeats (<= 1000) must be positive");
  const size_t count = static_cast<size_t>(rows) * cols;
  std::vector<uint8_t> row_major(count * dtype_size(dtype));
  for (size_t i = 0; i < count; ++i) store_from_f32(row_major.data(), dtype, i, seeded(state) * 0.25f);
  std::vector<float> x(static_cast<size_t>(M) * cols), bias(rows);
  for (float& v : bias) v = seeded(state);
  for (float& v : x) v = seeded(state);  // last: row i of x is the same for any M
  const size_t bytes = packed ? packed_bytes(dtype, rows, cols) : row_major.size();
  std::unique_ptr<uint8_t, void (*)(void*)> weights(static_cast<uint8_t*>(std::aligned_alloc(64, (bytes + 63) / 64 * 64)), std::free);
  if (!weights) throw Napi::Error::New(env, "linearProbe: out of memory");
  if (packed) pack_weights(row_major.data(), dtype, rows, cols, weights.get());
  else std::memcpy(weights.get(), row_major.data(), bytes);
  const WeightMatrix w{weights.get(), dtype, rows, cols, packed ? packed_layout(dtype) : WeightLayout::RowMajor};
  Napi::Float32Array y = Napi::Float32Array::New(env, static_cast<size_t>(M) * rows);
  Napi::Float64Array seconds = Napi::Float64Array::New(env, repeats);
  ThreadPool pool(threads);
  const LinearJob job{&w, bias.data(), y.Data(), rows};
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    linear(pool, x.data(), cols, M, &job, 1);
    seconds[r] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("seconds", seconds);
  out.Set("y", y);
  return out;
}

}  // namespace

void register_perf_probes(Napi::Env env, Napi::Object exports) {
  exports.Set("measureReadBandwidth", Napi::Function::New(env, MeasureReadBandwidth));
  exports.Set("linearProbe", Napi::Function::New(env, LinearProbe));
}

}  // namespace m2
