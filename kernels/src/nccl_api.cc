// dlopen/dlsym of libnccl.so.2 (see nccl_api.h). Successful loads are cached per path and never
// unloaded: communicators created from them live as long as the process may use them.
#include "nccl_api.h"

#include <dlfcn.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>

namespace m2 {
namespace {

constexpr const char* kDefaultLibrary = "libnccl.so.2";

template <class F>
void resolve(void* handle, const std::string& path, const char* symbol, F& out) {
  void* fn = dlsym(handle, symbol);
  if (!fn) {
    dlclose(handle);
    throw NcclUnavailable("NCCL library " + path + " lacks symbol " + symbol +
                          " (not NCCL, or older than 2.12); set M2_NCCL_LIBRARY to a libnccl.so.2");
  }
  out = reinterpret_cast<F>(fn);
}

std::unique_ptr<NcclApi> open_library(const std::string& path) {
  dlerror();
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* why = dlerror();
    throw NcclUnavailable("NCCL is not available: dlopen(" + path + ") failed: " + (why ? why : "unknown error") +
                          ". Install NCCL (libnccl2) or set M2_NCCL_LIBRARY to its libnccl.so.2");
  }
  auto api = std::make_unique<NcclApi>();
  api->path = path;
  int (*get_version)(int*) = nullptr;
  resolve(handle, path, "ncclGetVersion", get_version);
  resolve(handle, path, "ncclGetErrorString", api->GetErrorString);
  resolve(handle, path, "ncclGetUniqueId", api->GetUniqueId);
  resolve(handle, path, "ncclCommInitRank", api->CommInitRank);
  resolve(handle, path, "ncclCommDestroy", api->CommDestroy);
  resolve(handle, path, "ncclCommAbort", api->CommAbort);
  resolve(handle, path, "ncclCommGetAsyncError", api->CommGetAsyncError);
  resolve(handle, path, "ncclAllReduce", api->AllReduce);
  resolve(handle, path, "ncclAllGather", api->AllGather);
  resolve(handle, path, "ncclBroadcast", api->Broadcast);
  resolve(handle, path, "ncclGroupStart", api->GroupStart);
  resolve(handle, path, "ncclGroupEnd", api->GroupEnd);
  if (get_version(&api->version) != nccl_abi::kSuccess) {
    dlclose(handle);
    throw NcclUnavailable("NCCL library " + path + ": ncclGetVersion failed");
  }
  return api;
}

}  // namespace

std::string NcclApi::describe(const char* call, int result) const {
  const char* text = GetErrorString ? GetErrorString(result) : nullptr;
  return std::string(call) + " failed: " + (text ? text : "unknown NCCL error") + " (code " + std::to_string(result) +
         ")";
}

const NcclApi& load_nccl(const std::string& requested) {
  static std::mutex mutex;
  static std::map<std::string, std::unique_ptr<NcclApi>> loaded;
  std::string path = requested;
  if (path.empty()) {
    const char* env = std::getenv("M2_NCCL_LIBRARY");
    path = env && *env ? env : kDefaultLibrary;
  }
  std::lock_guard<std::mutex> lock(mutex);
  auto it = loaded.find(path);
  if (it == loaded.end()) it = loaded.emplace(path, open_library(path)).first;
  return *it->second;
}

NcclUniqueId nccl_unique_id(const NcclApi& api) {
  nccl_abi::UniqueId id;
  const int r = api.GetUniqueId(&id);
  if (r != nccl_abi::kSuccess) throw std::runtime_error(api.describe("ncclGetUniqueId", r));
  NcclUniqueId out;
  std::memcpy(out.data(), id.internal, kNcclUniqueIdBytes);
  return out;
}

}  // namespace m2
