// Measures the machine's streaming read bandwidth with the same thread pool the forward pass
// uses: the bound a decode step (one pass over the weights) is judged against. Each thread
// reads its own contiguous slice with software prefetch, as the linear kernel streams weights.
#include <immintrin.h>
#include <napi.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "thread_pool.h"

namespace m2 {
namespace {

constexpr size_t kPrefetchBytes = 1024;

__attribute__((target("avx2"))) uint64_t read_slice(const uint8_t* p, size_t bytes) {
  __m256i a = _mm256_setzero_si256(), b = a, c = a, d = a;
  for (size_t i = 0; i + 128 <= bytes; i += 128) {
    _mm_prefetch(reinterpret_cast<const char*>(p + i + kPrefetchBytes), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(p + i + kPrefetchBytes + 64), _MM_HINT_T0);
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

}  // namespace

void register_bandwidth_probe(Napi::Env env, Napi::Object exports) {
  exports.Set("measureReadBandwidth", Napi::Function::New(env, MeasureReadBandwidth));
}

}  // namespace m2
