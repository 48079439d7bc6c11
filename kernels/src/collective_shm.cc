// Shared-memory collective (see collective_shm.h for the protocol). The segment holds a
// header (one cache line of state per rank: published step = futex word, sleeper count, pid,
// heartbeat, the call it is in) followed by two phases of per-rank slots. Two phases suffice:
// a rank writes its slot for step s only after every rank has published step s-1, and a rank
// publishes s-1 only after it finished reading the slots of step s-2.
#include "collective_shm.h"

#include <fcntl.h>
#include <linux/futex.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <fstream>
#include <new>
#include <random>

#include "collective_common.h"

namespace m2 {
namespace shm_detail {

using collective_detail::monotonic_ns;

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

uint64_t own_pid_namespace() {
  struct stat st;
  return stat("/proc/self/ns/pid", &st) == 0 ? uint64_t(st.st_ino) : 0;
}

/// Empty when the process exists and is not a zombie; otherwise why it is gone.
std::string process_gone(int pid) {
  std::ifstream stat_file("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!stat_file || !std::getline(stat_file, line)) return "has exited";
  const size_t paren = line.rfind(')');
  if (paren != std::string::npos && paren + 2 < line.size()) {
    const char state = line[paren + 2];
    if (state == 'Z' || state == 'X') return "has exited";
  }
  return "";
}

void own_cpu_mask(uint64_t* mask) {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0)
    for (int c = 0; c < int(sysconf(_SC_NPROCESSORS_ONLN)) && c < 1024; ++c) CPU_SET(c, &set);
  for (int c = 0; c < 1024; ++c)
    if (CPU_ISSET(c, &set)) mask[c / 64] |= uint64_t(1) << (c % 64);
}

void sleep_ms(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

}  // namespace shm_detail

using namespace shm_detail;
using collective_detail::describe_op;
using collective_detail::Op;
using collective_detail::op_descriptor;

ShmCollective::ShmCollective(const ShmCollectiveOptions& o)
    : name_(o.name.empty() || o.name[0] == '/' ? o.name : "/" + o.name),
      rank_(o.rank),
      world_(o.world_size),
      timeout_ms_(o.timeout_ms),
      connect_timeout_ms_(o.connect_timeout_ms),
      slot_bytes_((o.slot_bytes + 63) / 64 * 64) {
  if (name_.size() < 2 || name_.size() > 200 || name_.find('/', 1) != std::string::npos)
    throw CollectiveError("shm collective name must be 1-200 characters without '/', got '" + o.name + "'");
  if (world_ < 1 || world_ > kMaxRanks)
    throw CollectiveError("shm collective world size must be 1.." + std::to_string(kMaxRanks) + ", got " + std::to_string(world_));
  if (rank_ < 0 || rank_ >= world_)
    throw CollectiveError("shm collective rank " + std::to_string(rank_) + " is outside 0.." + std::to_string(world_ - 1));
  if (timeout_ms_ <= 0 || connect_timeout_ms_ <= 0) throw CollectiveError("shm collective timeouts must be positive");
  if (o.slot_bytes < 64) throw CollectiveError("shm collective slot_bytes must be at least 64");
  const uint64_t deadline = monotonic_ns() + uint64_t(connect_timeout_ms_) * kMs;
  try {
    if (rank_ == 0) {
      create_segment();
      wait_all_joined(deadline);
    } else {
      do attach_segment(deadline);
      while (!wait_all_joined(deadline));
    }
  } catch (...) {
    stop_heartbeat();
    if (linked_) shm_unlink(name_.c_str());
    unmap();
    throw;
  }
  if (linked_) {
    shm_unlink(name_.c_str());
    linked_ = false;
  }
  // More ranks than the CPUs they may run on together: spinning would only delay the peer
  // we wait for, so waits go straight to yielding and sleeping.
  int cpus = 0;
  for (int word = 0; word < 16; ++word) {
    uint64_t all = 0;
    for (int r = 0; r < world_; ++r) all |= seg_->ranks[r].cpu_mask[word];
    cpus += __builtin_popcountll(all);
  }
  oversubscribed_ = world_ > cpus;
}

ShmCollective::~ShmCollective() {
  if (seg_ != nullptr) {
    RankState& me = seg_->ranks[rank_];
    me.closed.store(1);
    futex_wake_all(&me.arrived);
  }
  stop_heartbeat();
  if (linked_) shm_unlink(name_.c_str());
  unmap();
}

void ShmCollective::map_fd(int fd, size_t bytes) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
  if (p == MAP_FAILED) throw CollectiveError("shm collective: mmap of '" + name_ + "' failed: " + std::strerror(errno));
  std::lock_guard<std::mutex> lock(heartbeat_mutex_);
  seg_ = static_cast<Segment*>(p);
  mapped_bytes_ = bytes;
}

void ShmCollective::unmap() {
  std::lock_guard<std::mutex> lock(heartbeat_mutex_);  // the heartbeat thread writes through seg_
  if (seg_ != nullptr) munmap(seg_, mapped_bytes_);
  seg_ = nullptr;
  mapped_bytes_ = 0;
}

void ShmCollective::create_segment() {
  shm_unlink(name_.c_str());  // a stale segment of a crashed run; attached ranks keep their mapping
  const int fd = shm_open(name_.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600);
  if (fd < 0) throw CollectiveError("shm collective: cannot create '" + name_ + "': " + std::strerror(errno));
  linked_ = true;
  const size_t bytes = kHeaderBytes + 2 * size_t(world_) * slot_bytes_;
  if (ftruncate(fd, off_t(bytes)) != 0) {
    const int err = errno;
    close(fd);
    throw CollectiveError("shm collective: cannot size '" + name_ + "' to " + std::to_string(bytes) + " bytes: " + std::strerror(err));
  }
  try {
    map_fd(fd, bytes);
  } catch (...) {
    close(fd);
    throw;
  }
  close(fd);
  new (seg_) Segment();
  std::random_device entropy;
  seg_->nonce = (uint64_t(entropy()) << 32) ^ entropy() ^ monotonic_ns() ^ uint64_t(getpid());
  seg_->world_size = uint32_t(world_);
  seg_->slot_bytes = slot_bytes_;
  register_self();
  seg_->magic.store(kMagic, std::memory_order_release);
}

void ShmCollective::attach_segment(uint64_t deadline) {
  for (;; sleep_ms(2)) {
    unmap();
    if (monotonic_ns() > deadline)
      throw CollectiveError("shm collective '" + name_ + "' rank " + std::to_string(rank_) + ": rank 0 did not create the group within " +
                                std::to_string(connect_timeout_ms_) + " ms",
                            "ERR_COLLECTIVE_TIMEOUT");
    const int fd = shm_open(name_.c_str(), O_RDWR, 0);
    if (fd < 0) {
      if (errno == ENOENT) continue;
      throw CollectiveError("shm collective: cannot open '" + name_ + "': " + std::strerror(errno));
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || size_t(st.st_size) < kHeaderBytes) {
      close(fd);
      continue;
    }
    try {
      map_fd(fd, size_t(st.st_size));
    } catch (...) {
      close(fd);
      throw;
    }
    close(fd);
    if (seg_->magic.load(std::memory_order_acquire) != kMagic) continue;  // rank 0 still initialising
    std::string why;
    if (!rank_alive(0, &why)) continue;  // left behind by a crashed run; rank 0 will replace it
    if (seg_->world_size != uint32_t(world_) || seg_->slot_bytes != slot_bytes_)
      throw CollectiveError("shm collective '" + name_ + "': rank 0 created it for " + std::to_string(seg_->world_size) + " ranks with " +
                            std::to_string(seg_->slot_bytes) + "-byte slots, rank " + std::to_string(rank_) + " expects " +
                            std::to_string(world_) + " ranks with " + std::to_string(slot_bytes_));
    register_self();
    return;
  }
}

void ShmCollective::register_self() {
  RankState& me = seg_->ranks[rank_];
  me.pid.store(getpid());
  me.pid_namespace.store(own_pid_namespace());
  std::memset(me.cpu_mask, 0, sizeof(me.cpu_mask));
  own_cpu_mask(me.cpu_mask);
  me.heartbeat_ns.store(monotonic_ns());
  me.joined_nonce.store(seg_->nonce, std::memory_order_release);
  if (heartbeat_.joinable()) return;
  heartbeat_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(heartbeat_mutex_);
    while (!stop_heartbeat_) {
      if (seg_ != nullptr) seg_->ranks[rank_].heartbeat_ns.store(monotonic_ns(), std::memory_order_relaxed);
      heartbeat_cv_.wait_for(lock, std::chrono::milliseconds(kHeartbeatPeriodMs));
    }
  });
}

void ShmCollective::stop_heartbeat() {
  {
    std::lock_guard<std::mutex> lock(heartbeat_mutex_);
    stop_heartbeat_ = true;
  }
  heartbeat_cv_.notify_all();
  if (heartbeat_.joinable()) heartbeat_.join();
}

bool ShmCollective::wait_all_joined(uint64_t deadline) {
  const uint64_t nonce = seg_->nonce;
  for (uint64_t polls = 0;; ++polls) {
    std::string missing;
    for (int r = 0; r < world_; ++r)
      if (seg_->ranks[r].joined_nonce.load(std::memory_order_acquire) != nonce) missing += (missing.empty() ? "" : ", ") + std::to_string(r);
    if (missing.empty()) return true;
    std::string why;
    if (rank_ != 0 && polls % 16 == 0 && !rank_alive(0, &why)) return false;
    if (monotonic_ns() > deadline)
      throw CollectiveError("shm collective '" + name_ + "' rank " + std::to_string(rank_) + ": ranks " + missing + " of " +
                                std::to_string(world_) + " did not attach within " + std::to_string(connect_timeout_ms_) + " ms",
                            "ERR_COLLECTIVE_TIMEOUT");
    sleep_ms(1);
  }
}

bool ShmCollective::rank_alive(int r, std::string* why) const {
  const RankState& st = seg_->ranks[r];
  const int pid = st.pid.load();
  const std::string who = "rank " + std::to_string(r) + " (pid " + std::to_string(pid) + ")";
  if (st.closed.load() != 0) {
    *why = who + " closed its communicator";
    return false;
  }
  // A pid means something only inside our own pid namespace (containers sharing /dev/shm).
  if (pid > 0 && st.pid_namespace.load() == own_pid_namespace()) {
    const std::string gone = process_gone(pid);
    if (!gone.empty()) {
      *why = who + " " + gone;
      return false;
    }
  }
  const uint64_t beat = st.heartbeat_ns.load(std::memory_order_relaxed);
  const uint64_t now = monotonic_ns();
  if (now > beat + kHeartbeatStaleNs) {
    *why = who + " stopped responding (no heartbeat for " + std::to_string((now - beat) / kMs) + " ms)";
    return false;
  }
  return true;
}

void ShmCollective::check_usable() const {
  if (broken_) throw CollectiveError("shm collective '" + name_ + "' rank " + std::to_string(rank_) + " is unusable after an earlier failure");
}

void ShmCollective::fail(const std::string& what, const char* code) {
  broken_ = true;
  const std::string msg = "shm collective '" + name_ + "' rank " + std::to_string(rank_) + "/" + std::to_string(world_) + ": " + what;
  uint32_t expected = 0;
  if (seg_->failed.compare_exchange_strong(expected, kFailureBeingWritten)) {
    std::snprintf(seg_->failure, sizeof(seg_->failure), "%s", msg.c_str());
    seg_->failed.store(uint32_t(rank_ + 1), std::memory_order_release);
    for (int r = 0; r < world_; ++r) futex_wake_all(&seg_->ranks[r].arrived);
  }
  throw CollectiveError(msg, code);
}

float* ShmCollective::slot(uint32_t step, int r) const {
  char* data = reinterpret_cast<char*>(seg_) + kHeaderBytes;
  return reinterpret_cast<float*>(data + ((step & 1) * size_t(world_) + size_t(r)) * slot_bytes_);
}

uint64_t ShmCollective::call_deadline() const { return monotonic_ns() + uint64_t(timeout_ms_) * kMs; }

void ShmCollective::wait_for_rank(int r, uint32_t step, uint64_t deadline) {
  RankState& st = seg_->ranks[r];
  if (!oversubscribed_) {
    const uint64_t spin_end = monotonic_ns() + kSpinNs;
    for (uint32_t i = 1;; ++i) {
      if (reached(st.arrived.load(std::memory_order_acquire), step)) return;
      cpu_relax();
      if ((i & 63) == 0 && monotonic_ns() > spin_end) break;
    }
  }
  for (int i = 0; i < kYields; ++i) {
    if (reached(st.arrived.load(std::memory_order_acquire), step)) return;
    sched_yield();
  }
  const std::string during = " during " + describe_op(desc_) + " (step " + std::to_string(step) + ")";
  for (uint64_t next_liveness_check = 0;;) {
    const uint32_t failed = seg_->failed.load(std::memory_order_acquire);
    if (failed != 0 && failed != kFailureBeingWritten && failed != uint32_t(rank_ + 1))
      fail("the group failed" + during + ": " + std::string(seg_->failure), "ERR_COLLECTIVE_PEER_LOST");
    const uint64_t now = monotonic_ns();
    if (now >= deadline)
      fail("timed out after " + std::to_string(timeout_ms_) + " ms waiting for rank " + std::to_string(r) + during, "ERR_COLLECTIVE_TIMEOUT");
    if (now >= next_liveness_check) {
      std::string why;
      if (!rank_alive(r, &why)) fail(why + during, "ERR_COLLECTIVE_PEER_LOST");
      next_liveness_check = now + kFutexSliceNs;
    }
    st.sleepers.fetch_add(1);
    const uint32_t seen = st.arrived.load();
    if (reached(seen, step)) {
      st.sleepers.fetch_sub(1);
      return;
    }
    futex_wait(&st.arrived, seen, std::min(deadline - now, kFutexSliceNs));
    st.sleepers.fetch_sub(1);
    if (reached(st.arrived.load(std::memory_order_acquire), step)) return;
  }
}

void ShmCollective::exchange(uint64_t desc, uint64_t deadline) {
  const uint32_t step = ++step_;
  RankState& me = seg_->ranks[rank_];
  me.desc[step & 1].store(desc, std::memory_order_relaxed);
  me.arrived.store(step);  // seq_cst: publishes the slot, and orders against the sleeper count
  if (me.sleepers.load() != 0) futex_wake_all(&me.arrived);
  for (int r = 0; r < world_; ++r)
    if (r != rank_) wait_for_rank(r, step, deadline);
  for (int r = 0; r < world_; ++r) {
    const uint64_t theirs = seg_->ranks[r].desc[step & 1].load(std::memory_order_relaxed);
    if (theirs != desc)
      fail("ranks disagree on the call: rank " + std::to_string(r) + " is in " + describe_op(theirs) + ", this rank in " + describe_op(desc),
           "ERR_COLLECTIVE");
  }
}

void ShmCollective::reduce_chunk(float* data, size_t count, uint64_t deadline) {
  const uint32_t step = step_ + 1;
  std::memcpy(slot(step, rank_), data, count * sizeof(float));
  exchange(desc_, deadline);
  const float* src[kMaxRanks];
  for (int r = 0; r < world_; ++r) src[r] = slot(step, r);
  collective_detail::sum_in_rank_order(data, src, world_, count);
}

void ShmCollective::reduce_chunk_scattered(float* data, size_t count, uint64_t deadline) {
  const uint32_t step = step_ + 1;
  std::memcpy(slot(step, rank_), data, count * sizeof(float));
  exchange(desc_, deadline);
  auto part_begin = [&](int r) { return count * size_t(r) / size_t(world_); };
  const size_t lo = part_begin(rank_), hi = part_begin(rank_ + 1);
  const float* src[kMaxRanks];
  for (int r = 0; r < world_; ++r) src[r] = slot(step, r) + lo;
  // Writing the next phase is safe: every rank has published `step`, so all finished step-1.
  collective_detail::sum_in_rank_order(slot(step + 1, rank_), src, world_, hi - lo);
  exchange(desc_, deadline);
  for (int r = 0; r < world_; ++r)
    std::memcpy(data + part_begin(r), slot(step + 1, r), (part_begin(r + 1) - part_begin(r)) * sizeof(float));
}

void ShmCollective::all_reduce_sum(float* data, size_t count) {
  check_usable();
  collective_detail::WaitTimer timer(wait_ns_);
  desc_ = op_descriptor(Op::kAllReduceSum, 0, count);
  const uint64_t deadline = call_deadline();
  const size_t chunk = slot_bytes_ / sizeof(float);
  size_t off = 0;
  do {
    const size_t n = std::min(chunk, count - off);
    if (world_ > 2 && n >= kScatterMinFloats)
      reduce_chunk_scattered(data + off, n, deadline);
    else
      reduce_chunk(data + off, n, deadline);
    off += n;
  } while (off < count);
}

void ShmCollective::all_gather(const float* in, float* out, size_t count) {
  check_usable();
  collective_detail::WaitTimer timer(wait_ns_);
  desc_ = op_descriptor(Op::kAllGather, 0, count);
  const uint64_t deadline = call_deadline();
  const size_t chunk = slot_bytes_ / sizeof(float);
  size_t off = 0;
  do {
    const size_t n = std::min(chunk, count - off);
    const uint32_t step = step_ + 1;
    std::memcpy(slot(step, rank_), in + off, n * sizeof(float));
    exchange(desc_, deadline);
    for (int r = 0; r < world_; ++r) std::memcpy(out + size_t(r) * count + off, slot(step, r), n * sizeof(float));
    off += n;
  } while (off < count);
}

void ShmCollective::broadcast(void* data, size_t bytes, int root) {
  check_usable();
  if (root < 0 || root >= world_)
    throw CollectiveError("broadcast root " + std::to_string(root) + " is outside 0.." + std::to_string(world_ - 1));
  collective_detail::WaitTimer timer(wait_ns_);
  desc_ = op_descriptor(Op::kBroadcast, root, bytes);
  const uint64_t deadline = call_deadline();
  char* bytes_ptr = static_cast<char*>(data);
  size_t off = 0;
  do {
    const size_t n = std::min(slot_bytes_, bytes - off);
    const uint32_t step = step_ + 1;
    if (rank_ == root) std::memcpy(slot(step, root), bytes_ptr + off, n);
    exchange(desc_, deadline);
    if (rank_ != root) std::memcpy(bytes_ptr + off, slot(step, root), n);
    off += n;
  } while (off < bytes);
}

void ShmCollective::barrier() {
  check_usable();
  collective_detail::WaitTimer timer(wait_ns_);
  desc_ = op_descriptor(Op::kBarrier, 0, 0);
  exchange(desc_, call_deadline());
}

}  // namespace m2
