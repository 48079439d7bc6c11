// The card's measured device-memory bandwidth: the bound a decode step is judged against
// (bench/gpu.ts). A device-to-device copy reads and writes every byte, so it moves 2 * bytes.
#include <algorithm>
#include <stdexcept>
#include <vector>

#include "device_buffer.cuh"
#include "gpu_model.h"

namespace m2 {

double cuda_copy_bandwidth(int device, size_t bytes, int iterations) {
  if (bytes == 0 || iterations < 1) throw std::invalid_argument("copy bandwidth: bytes and iterations must be positive");
  M2_CUDA(cudaSetDevice(device));
  cuda::DeviceBuffer<uint8_t> src(bytes), dst(bytes);
  M2_CUDA(cudaMemset(src.data(), 1, bytes));
  cudaEvent_t start, stop;
  M2_CUDA(cudaEventCreate(&start));
  M2_CUDA(cudaEventCreate(&stop));
  std::vector<float> ms(iterations);
  M2_CUDA(cudaMemcpy(dst.data(), src.data(), bytes, cudaMemcpyDeviceToDevice));  // warm-up
  for (int i = 0; i < iterations; ++i) {
    M2_CUDA(cudaEventRecord(start));
    M2_CUDA(cudaMemcpyAsync(dst.data(), src.data(), bytes, cudaMemcpyDeviceToDevice));
    M2_CUDA(cudaEventRecord(stop));
    M2_CUDA(cudaEventSynchronize(stop));
    M2_CUDA(cudaEventElapsedTime(&ms[i], start, stop));
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  std::sort(ms.begin(), ms.end());
  return 2.0 * static_cast<double>(bytes) / (ms[iterations / 2] * 1e-3);  // median
}

}  // namespace m2
