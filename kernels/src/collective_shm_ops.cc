// Shared-memory collective, the operations: publish a slot, wait (spin, yield, then futex with
// a deadline and peer liveness checks), reduce or copy in rank order. A failure is posted in
// the segment so every rank fails fast, not only the one that noticed.
#include <sched.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "collective_common.h"
#include "collective_shm.h"
#include "collective_shm_layout.h"

namespace m2 {

using collective_detail::describe_op;
using collective_detail::monotonic_ns;
using collective_detail::Op;
using collective_detail::op_descriptor;
using namespace shm_detail;

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
  // A peer may publish its last step and then close or exit: whatever is seen about the peer,
  // its published step is re-read afterwards, and a reached step always wins.
  auto arrived = [&] { return reached(st.arrived.load(), step); };
  for (uint64_t next_liveness_check = 0;;) {
    const uint32_t failed = seg_->failed.load(std::memory_order_acquire);
    if (failed != 0 && failed != kFailureBeingWritten && failed != uint32_t(rank_ + 1) && !arrived())
      fail("the group failed" + during + ": " + std::string(seg_->failure), "ERR_COLLECTIVE_PEER_LOST");
    const uint64_t now = monotonic_ns();
    if (now >= deadline && !arrived())
      fail("timed out after " + std::to_string(timeout_ms_) + " ms waiting for rank " + std::to_string(r) + during, "ERR_COLLECTIVE_TIMEOUT");
    if (now >= next_liveness_check) {
      std::string why;
      if (!rank_alive(r, &why) && !arrived()) fail(why + during, "ERR_COLLECTIVE_PEER_LOST");
      next_liveness_check = now + kFutexSliceNs;
    }
    st.sleepers.fetch_add(1);
    const uint32_t seen = st.arrived.load();
    if (reached(seen, step)) {
      st.sleepers.fetch_sub(1);
      return;
    }
    futex_wait(&st.arrived, seen, std::min(deadline > now ? deadline - now : 0, kFutexSliceNs));
    st.sleepers.fetch_sub(1);
    if (arrived()) return;
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
