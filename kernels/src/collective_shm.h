// Collective for ranks in different processes on one host: a POSIX shared-memory segment with
// one slot per rank and per phase. Each step a rank writes its slot, publishes the step number
// in a futex word, and waits for every other rank's word; all ranks then read the same slots
// and reduce them in rank order, so results are bit-identical everywhere. Waits spin briefly,
// then sleep on the futex, and give up at a deadline or when a peer is seen dead.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "collective.h"

namespace m2 {

struct ShmCollectiveOptions {
  /// POSIX shm name shared by the group, e.g. "/m2-<group id>"; a leading '/' is added if absent.
  std::string name;
  int rank = 0;
  int world_size = 1;
  /// Deadline of one collective call.
  int timeout_ms = 5000;
  /// Deadline for all ranks to attach when the group is created.
  int connect_timeout_ms = 30000;
  /// Bytes per rank per phase; larger calls are split into chunks of this size.
  size_t slot_bytes = size_t(1) << 20;
};

namespace shm_detail {
struct Segment;
}

class ShmCollective final : public Collective {
 public:
  /// Creates (rank 0) or attaches to (other ranks) the segment and waits until every rank has
  /// attached; rank 0 then unlinks the name, so nothing is left in /dev/shm whatever happens
  /// later. A stale segment of the same name from a crashed run is replaced.
  explicit ShmCollective(const ShmCollectiveOptions& options);
  ~ShmCollective() override;
  ShmCollective(const ShmCollective&) = delete;
  ShmCollective& operator=(const ShmCollective&) = delete;

  int rank() const override { return rank_; }
  int world_size() const override { return world_; }
  void all_reduce_sum(float* data, size_t count) override;
  void all_gather(const float* in, float* out, size_t count) override;
  void broadcast(void* data, size_t bytes, int root) override;
  void barrier() override;
  unsigned long long take_wait_ns() override { return wait_ns_.exchange(0); }

 private:
  void create_segment();
  void attach_segment(uint64_t deadline_ns);
  void map_fd(int fd, size_t bytes);
  void unmap();
  void register_self();
  void stop_heartbeat();
  /// True once every rank attached; false (other ranks only) if rank 0 of the mapped segment
  /// died meanwhile, i.e. it was a stale segment and must be attached again.
  bool wait_all_joined(uint64_t deadline_ns);
  bool rank_alive(int r, std::string* why) const;
  /// One synchronisation step: publish my slot of this phase, wait for every rank's.
  void exchange(uint64_t desc, uint64_t deadline_ns);
  void wait_for_rank(int r, uint32_t step, uint64_t deadline_ns);
  [[noreturn]] void fail(const std::string& what, const char* code);
  void check_usable() const;
  float* slot(uint32_t step, int r) const;
  uint64_t call_deadline() const;
  void reduce_chunk(float* data, size_t count, uint64_t deadline_ns);
  void reduce_chunk_scattered(float* data, size_t count, uint64_t deadline_ns);

  std::string name_;
  int rank_;
  int world_;
  int timeout_ms_;
  int connect_timeout_ms_;
  size_t slot_bytes_;
  bool oversubscribed_ = false;
  shm_detail::Segment* seg_ = nullptr;
  size_t mapped_bytes_ = 0;
  bool linked_ = false;  // rank 0 still owns the name in /dev/shm
  uint32_t step_ = 0;
  uint64_t desc_ = 0;  // the call in progress, for error messages
  bool broken_ = false;
  bool stop_heartbeat_ = false;  // guarded by heartbeat_mutex_
  std::mutex heartbeat_mutex_;
  std::condition_variable heartbeat_cv_;
  std::thread heartbeat_;
  std::atomic<unsigned long long> wait_ns_{0};
};

}  // namespace m2
