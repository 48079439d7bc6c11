// Widening of the three weight element types to f32 inside kernels (the CPU's load_as_f32).
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

namespace m2::cuda {

__device__ __forceinline__ float to_f32(float v) { return v; }
__device__ __forceinline__ float to_f32(__half v) { return __half2float(v); }
__device__ __forceinline__ float to_f32(__nv_bfloat16 v) { return __bfloat162float(v); }

}  // namespace m2::cuda
