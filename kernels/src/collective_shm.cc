// Shared-memory collective, group set-up and liveness: creating or attaching the segment,
// replacing a stale one, waiting for every rank, heartbeats, and deciding a peer is dead.
// The protocol and layout are in collective_shm_layout.h; the operations in collective_shm_ops.cc.
#include "collective_shm.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <new>
#include <random>

#include "collective_common.h"
#include "collective_shm_layout.h"

namespace m2 {
namespace {

using collective_detail::monotonic_ns;
using namespace shm_detail;

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

}  // namespace


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

}  // namespace m2
