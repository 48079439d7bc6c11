// NCCL bound at run time: libnccl.so.2 is dlopen'ed on first use, so the addon has no link-time
// dependency on NCCL and loads on machines without it (CPU hosts, CI). The declarations below
// are NCCL's stable C ABI (nccl.h, 2.x), written out so nothing here needs NCCL's headers.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace m2 {

constexpr size_t kNcclUniqueIdBytes = 128;
/// ncclUniqueId: opaque bytes made by one rank and handed to every rank of the group.
using NcclUniqueId = std::array<uint8_t, kNcclUniqueIdBytes>;

namespace nccl_abi {
using Comm = struct ncclComm*;
using Stream = void*;  // cudaStream_t
struct UniqueId {
  char internal[kNcclUniqueIdBytes];
};
enum Result : int { kSuccess = 0, kInvalidUsage = 5, kInProgress = 7 };
enum DataType : int { kUint8 = 1, kFloat32 = 7 };
enum RedOp : int { kSum = 0 };
}  // namespace nccl_abi

/// The entry points the collectives use, resolved from one loaded library.
struct NcclApi {
  int version = 0;  // ncclGetVersion: major * 10000 + minor * 100 + patch for 2.9+
  std::string path;
  const char* (*GetErrorString)(int);
  int (*GetUniqueId)(nccl_abi::UniqueId*);
  int (*CommInitRank)(nccl_abi::Comm*, int nranks, nccl_abi::UniqueId id, int rank);
  int (*CommDestroy)(nccl_abi::Comm);
  int (*CommAbort)(nccl_abi::Comm);
  int (*CommGetAsyncError)(nccl_abi::Comm, int* async_error);
  int (*AllReduce)(const void* send, void* recv, size_t count, int dtype, int op, nccl_abi::Comm, nccl_abi::Stream);
  int (*AllGather)(const void* send, void* recv, size_t send_count, int dtype, nccl_abi::Comm, nccl_abi::Stream);
  int (*Broadcast)(const void* send, void* recv, size_t count, int dtype, int root, nccl_abi::Comm, nccl_abi::Stream);
  int (*GroupStart)();
  int (*GroupEnd)();

  /// "ncclFoo failed: <NCCL's error string> (code N)".
  std::string describe(const char* call, int result) const;
};

/// Thrown when NCCL cannot be loaded; code() is ERR_NCCL_UNAVAILABLE.
class NcclUnavailable : public std::runtime_error {
 public:
  explicit NcclUnavailable(const std::string& what) : std::runtime_error(what) {}
  const char* code() const { return "ERR_NCCL_UNAVAILABLE"; }
};

/// Loads NCCL from `path` ("" = $M2_NCCL_LIBRARY, else libnccl.so.2 on the loader's search
/// path). A successful load is kept for the process (per path); a failure throws
/// NcclUnavailable naming the library and what was missing, and is retried on the next call.
const NcclApi& load_nccl(const std::string& path = "");

/// A fresh unique id from ncclGetUniqueId (rank 0 makes it; the coordinator hands it out).
NcclUniqueId nccl_unique_id(const NcclApi& api);

}  // namespace m2
