// Layout of the shared-memory segment and the wait primitives on it, shared by the setup code
// (collective_shm.cc) and the operations (collective_shm_ops.cc). The segment holds a header
// (one cache line of state per rank: published step = futex word, sleeper count, pid,
// heartbeat, the call it is in) followed by two phases of per-rank slots. Two phases suffice:
// a rank writes its slot for step s only after every rank has published step s-1, and a rank
// publishes s-1 only after it finished reading the slots of step s-2.
#pragma once

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <climits>
#include <cstddef>
#include <cstdint>

namespace m2 {
namespace shm_detail {

constexpr uint64_t kMagic = 0x31304c4c4f43324dull;  // "M2COLL01"
constexpr int kMaxRanks = 64;
constexpr uint64_t kMs = 1000000;
constexpr uint64_t kSpinNs = 50000;
constexpr int kYields = 16;
constexpr uint64_t kFutexSliceNs = 20 * kMs;
constexpr uint64_t kHeartbeatPeriodMs = 100;
constexpr uint64_t kHeartbeatStaleNs = 2000 * kMs;
constexpr uint32_t kFailureBeingWritten = 0x80000000u;
// Below this many floats per chunk (or at 2 ranks) every rank sums all slots itself; above
// it each rank sums 1/N of the chunk and the others copy it (same order, same bits).
constexpr size_t kScatterMinFloats = 16384;

static_assert(std::atomic<uint64_t>::is_always_lock_free, "shm atomics must be address-free");

struct alignas(64) RankState {
  std::atomic<uint32_t> arrived;   // futex word: the last step this rank published
  std::atomic<uint32_t> sleepers;  // ranks sleeping on `arrived`
  std::atomic<uint32_t> closed;
  std::atomic<int32_t> pid;
  std::atomic<uint64_t> joined_nonce;
  std::atomic<uint64_t> heartbeat_ns;
  std::atomic<uint64_t> pid_namespace;
  std::atomic<uint64_t> desc[2];  // the call this rank is in, per phase
  uint64_t cpu_mask[16];          // CPUs this rank may run on (first 1024)
};

struct Segment {
  std::atomic<uint64_t> magic;
  uint64_t nonce;
  uint32_t world_size;
  uint64_t slot_bytes;
  std::atomic<uint32_t> failed;  // 0, kFailureBeingWritten, or failing rank + 1
  char failure[512];
  RankState ranks[kMaxRanks];
};

constexpr size_t kHeaderBytes = (sizeof(Segment) + 4095) / 4096 * 4096;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

inline void futex_wait(std::atomic<uint32_t>* word, uint32_t expected, uint64_t timeout_ns) {
  timespec ts{time_t(timeout_ns / 1000000000ull), long(timeout_ns % 1000000000ull)};
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAIT, expected, &ts, nullptr, 0);
}

inline void futex_wake_all(std::atomic<uint32_t>* word) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAKE, INT_MAX, nullptr, nullptr, 0);
}

inline bool reached(uint32_t published, uint32_t step) { return int32_t(published - step) >= 0; }

}  // namespace shm_detail
}  // namespace m2
