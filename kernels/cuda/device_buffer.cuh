// Owning device and pinned-host allocations (freed on destruction, never copied). grow() keeps
// the contents only up to the old size's worth of meaning: callers refill after growing.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>

#include "cuda_check.cuh"

namespace m2::cuda {

template <class T, bool kPinnedHost = false>
class Buffer {
 public:
  Buffer() = default;
  explicit Buffer(size_t n) { grow(n); }
  ~Buffer() { reset(); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  /// Ensures room for n elements (reallocates, dropping the contents, when larger).
  void grow(size_t n) {
    if (n <= size_) return;
    reset();
    void* p = nullptr;
    const size_t bytes = (n ? n : 1) * sizeof(T);
    if constexpr (kPinnedHost) M2_CUDA(cudaMallocHost(&p, bytes));
    else M2_CUDA(cudaMalloc(&p, bytes));
    data_ = static_cast<T*>(p);
    size_ = n;
  }
  T* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  void reset() {
    if (!data_) return;
    if constexpr (kPinnedHost) cudaFreeHost(data_);
    else cudaFree(data_);
    data_ = nullptr;
    size_ = 0;
  }
  T* data_ = nullptr;
  size_t size_ = 0;
};

template <class T>
using DeviceBuffer = Buffer<T, false>;
template <class T>
using PinnedBuffer = Buffer<T, true>;

}  // namespace m2::cuda
