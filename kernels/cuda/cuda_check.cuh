// Error checks for CUDA runtime and cuBLAS calls: a failure becomes a std::runtime_error naming
// the call site, which the binding turns into a JS error (code ERR_CUDA) instead of a crash.
#pragma once

#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

#include "cublas_abi.h"

namespace m2::cuda {

class CudaError : public std::runtime_error {
 public:
  explicit CudaError(const std::string& what) : std::runtime_error(what) {}
};

inline void check_cuda(cudaError_t e, const char* call, const char* file, int line) {
  if (e != cudaSuccess) {
    throw CudaError(std::string("CUDA error: ") + call + " failed: " + cudaGetErrorString(e) + " (" + file + ":" +
                    std::to_string(line) + ")");
  }
}

inline void check_cublas(cublasStatus_t s, const char* call, const char* file, int line) {
  if (s != CUBLAS_STATUS_SUCCESS) {
    throw CudaError(std::string("cuBLAS error: ") + call + " failed with status " + std::to_string(static_cast<int>(s)) +
                    " (" + file + ":" + std::to_string(line) + ")");
  }
}

}  // namespace m2::cuda

#define M2_CUDA(call) ::m2::cuda::check_cuda((call), #call, __FILE__, __LINE__)
#define M2_CUBLAS(call) ::m2::cuda::check_cublas((call), #call, __FILE__, __LINE__)
// A kernel launch reports configuration errors only through cudaGetLastError.
#define M2_CUDA_LAUNCHED() ::m2::cuda::check_cuda(cudaGetLastError(), "kernel launch", __FILE__, __LINE__)
