// m2::Collective over NCCL for GPU ranks. Unlike shm/TCP, the pointers are DEVICE pointers and
// every call is stream-ordered: it is enqueued on the rank's CUDA stream and returns before the
// data has moved; kernels enqueued after it on that stream see the result. The deadline every
// collective must honour is enforced by wait(), which the GPU model calls instead of a plain
// stream synchronize: NCCL's async errors are polled and a hung group is aborted, so a dead peer
// fails the step in timeout_ms instead of NCCL's 600 s watchdog.
#pragma once

#include <atomic>
#include <functional>

#include "collective.h"
#include "nccl_api.h"

namespace m2 {

class NcclCollective : public Collective {
 public:
  /// Joins the group: blocks until all world_size ranks called it with the same id. The calling
  /// thread's current CUDA device must be this rank's GPU. `device_scratch` (one float of device
  /// memory, owned by the caller) serves barrier(). Throws CollectiveError; NCCL refuses two ranks
  /// on one GPU (ncclInvalidUsage), and the message then points at the host-staged fallback.
  NcclCollective(const NcclApi& api, const NcclUniqueId& id, int rank, int world_size, void* stream,
                 float* device_scratch, int timeout_ms);
  ~NcclCollective() override;
  NcclCollective(const NcclCollective&) = delete;
  NcclCollective& operator=(const NcclCollective&) = delete;

  int rank() const override { return rank_; }
  int world_size() const override { return world_size_; }
  void all_reduce_sum(float* data, size_t count) override;
  void all_gather(const float* in, float* out, size_t count) override;
  void broadcast(void* data, size_t bytes, int root) override;
  void barrier() override;
  unsigned long long take_wait_ns() override { return wait_ns_.exchange(0); }

  /// Blocks until stream_done() returns true, polling NCCL's async error state. On an NCCL error
  /// or after timeout_ms the communicator is aborted and CollectiveError is thrown (the group is
  /// broken from then on). Not counted as collective time: the stream also runs the kernels.
  void wait(const std::function<bool()>& stream_done);

 private:
  void check(const char* call, int result);
  [[noreturn]] void fail(const std::string& what, const char* code);

  const NcclApi& api_;
  nccl_abi::Comm comm_ = nullptr;
  int rank_, world_size_;
  void* stream_;
  float* scratch_;
  int timeout_ms_;
  bool broken_ = false;
  std::atomic<unsigned long long> wait_ns_{0};
};

}  // namespace m2
