// Helpers shared by the shared-memory and TCP collectives: the one reduction order every
// implementation must use (so ranks and transports agree bit for bit), the clock, and the
// per-call bookkeeping that names operations in errors and feeds take_wait_ns().
#pragma once

#include <time.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

namespace m2 {
namespace collective_detail {

inline uint64_t monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

/// out[i] = ((src[0][i] + src[1][i]) + src[2][i]) + ... in rank order, blocked so each block
/// stays in L1 while the sources stream by. `out` may alias src[0] (and nothing else).
inline void sum_in_rank_order(float* out, const float* const* src, int n, size_t count) {
  constexpr size_t kBlock = 2048;
  for (size_t base = 0; base < count; base += kBlock) {
    const size_t len = std::min(kBlock, count - base);
    float* o = out + base;
    if (o != src[0] + base) std::memcpy(o, src[0] + base, len * sizeof(float));
    for (int j = 1; j < n; ++j) {
      const float* s = src[j] + base;
      for (size_t i = 0; i < len; ++i) o[i] += s[i];
    }
  }
}

enum class Op : uint8_t { kAllReduceSum = 1, kAllGather = 2, kBroadcast = 3, kBarrier = 4 };

inline const char* op_name(Op op) {
  switch (op) {
    case Op::kAllReduceSum: return "all_reduce_sum";
    case Op::kAllGather: return "all_gather";
    case Op::kBroadcast: return "broadcast";
    case Op::kBarrier: return "barrier";
  }
  return "unknown";
}

/// What a call is, packed so ranks can check they are all in the same call: op, root, size.
inline uint64_t op_descriptor(Op op, int root, size_t size) {
  return (uint64_t(op) << 56) | (uint64_t(root & 0xff) << 48) | (uint64_t(size) & 0xffffffffffffull);
}

inline std::string describe_op(uint64_t desc) {
  const Op op = Op(desc >> 56);
  std::string s = std::string(op_name(op)) + "(" + std::to_string(desc & 0xffffffffffffull);
  if (op == Op::kBroadcast) s += ", root " + std::to_string((desc >> 48) & 0xff);
  return s + ")";
}

/// Adds the wall time of one collective call to a counter drained by take_wait_ns().
class WaitTimer {
 public:
  explicit WaitTimer(std::atomic<unsigned long long>& total) : total_(total), start_(monotonic_ns()) {}
  ~WaitTimer() { total_.fetch_add(monotonic_ns() - start_, std::memory_order_relaxed); }
  WaitTimer(const WaitTimer&) = delete;
  WaitTimer& operator=(const WaitTimer&) = delete;

 private:
  std::atomic<unsigned long long>& total_;
  uint64_t start_;
};

}  // namespace collective_detail
}  // namespace m2
