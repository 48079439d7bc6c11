#include "nccl_collective.h"

#include <chrono>
#include <cstring>
#include <thread>

#include "collective_common.h"

namespace m2 {

using collective_detail::monotonic_ns;

NcclCollective::NcclCollective(const NcclApi& api, const NcclUniqueId& id, int rank, int world_size, void* stream,
                               float* device_scratch, int timeout_ms)
    : api_(api), rank_(rank), world_size_(world_size), stream_(stream), scratch_(device_scratch),
      timeout_ms_(timeout_ms) {
  if (world_size < 1 || rank < 0 || rank >= world_size)
    throw CollectiveError("nccl: rank " + std::to_string(rank) + " is outside [0, " + std::to_string(world_size) + ")");
  if (timeout_ms < 1) throw CollectiveError("nccl: timeout_ms must be >= 1");
  nccl_abi::UniqueId uid;
  std::memcpy(uid.internal, id.data(), kNcclUniqueIdBytes);
  const int r = api_.CommInitRank(&comm_, world_size, uid, rank);
  if (r == nccl_abi::kInvalidUsage) {
    throw CollectiveError(api_.describe("ncclCommInitRank", r) +
                          ": NCCL refuses two ranks on one GPU; give such groups the shm collective "
                          "(host-staged all-reduce)");
  }
  if (r != nccl_abi::kSuccess) throw CollectiveError(api_.describe("ncclCommInitRank", r));
}

NcclCollective::~NcclCollective() {
  if (!comm_) return;
  if (broken_) api_.CommAbort(comm_);
  else api_.CommDestroy(comm_);
}

void NcclCollective::fail(const std::string& what, const char* code) {
  if (!broken_ && comm_) api_.CommAbort(comm_);
  broken_ = true;
  comm_ = nullptr;
  throw CollectiveError("nccl rank " + std::to_string(rank_) + ": " + what, code);
}

void NcclCollective::check(const char* call, int result) {
  if (broken_) throw CollectiveError("nccl: the group failed earlier; rebuild it");
  if (result != nccl_abi::kSuccess && result != nccl_abi::kInProgress) fail(api_.describe(call, result), "ERR_COLLECTIVE");
}

void NcclCollective::all_reduce_sum(float* data, size_t count) {
  collective_detail::WaitTimer timer(wait_ns_);
  check("ncclAllReduce", api_.AllReduce(data, data, count, nccl_abi::kFloat32, nccl_abi::kSum, comm_, stream_));
}

void NcclCollective::all_gather(const float* in, float* out, size_t count) {
  collective_detail::WaitTimer timer(wait_ns_);
  check("ncclAllGather", api_.AllGather(in, out, count, nccl_abi::kFloat32, comm_, stream_));
}

void NcclCollective::broadcast(void* data, size_t bytes, int root) {
  if (root < 0 || root >= world_size_) throw CollectiveError("nccl: broadcast root " + std::to_string(root) + " is outside the group");
  collective_detail::WaitTimer timer(wait_ns_);
  check("ncclBroadcast", api_.Broadcast(data, data, bytes, nccl_abi::kUint8, root, comm_, stream_));
}

void NcclCollective::barrier() {
  collective_detail::WaitTimer timer(wait_ns_);
  check("ncclAllReduce", api_.AllReduce(scratch_, scratch_, 1, nccl_abi::kFloat32, nccl_abi::kSum, comm_, stream_));
}

void NcclCollective::wait(const std::function<bool()>& stream_done) {
  if (broken_) throw CollectiveError("nccl: the group failed earlier; rebuild it");
  const uint64_t deadline = monotonic_ns() + static_cast<uint64_t>(timeout_ms_) * 1000000ull;
  int spins = 0;
  while (!stream_done()) {
    int async_error = nccl_abi::kSuccess;
    const int r = api_.CommGetAsyncError(comm_, &async_error);
    if (r != nccl_abi::kSuccess) fail(api_.describe("ncclCommGetAsyncError", r), "ERR_COLLECTIVE");
    if (async_error != nccl_abi::kSuccess && async_error != nccl_abi::kInProgress)
      fail(api_.describe("a collective", async_error), "ERR_COLLECTIVE_PEER_LOST");
    if (monotonic_ns() > deadline)
      fail("the step's collectives did not finish within " + std::to_string(timeout_ms_) + " ms", "ERR_COLLECTIVE_TIMEOUT");
    // Poll tightly first (a decode step finishes in microseconds), then yield the core.
    if (++spins > 1000) std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

}  // namespace m2
