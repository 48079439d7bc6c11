// Element types of weight tensors as they come from safetensors. Large matrices stay in their
// on-disk type (bf16/f16 halve the bytes each decoded token must read) and are widened to f32
// in registers; these scalar conversions serve the tails and the small vectors.
#pragma once

#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

namespace m2 {

enum class DType : int { F32 = 0, F16 = 1, BF16 = 2 };

inline size_t dtype_size(DType t) { return t == DType::F32 ? 4 : 2; }

inline DType parse_dtype(const std::string& s) {
  if (s == "f32" || s == "F32" || s == "float32") return DType::F32;
  if (s == "f16" || s == "F16" || s == "float16") return DType::F16;
  if (s == "bf16" || s == "BF16" || s == "bfloat16") return DType::BF16;
  throw std::invalid_argument("unsupported tensor dtype '" + s + "' (expected f32, f16 or bf16)");
}

inline float bf16_to_f32(uint16_t h) {
  uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

inline float f16_to_f32(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ff;
  uint32_t bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (mant << 13);
  } else if (mant == 0) {
    bits = sign;
  } else {  // subnormal: renormalise
    int e = -1;
    do {
      mant <<= 1;
      ++e;
    } while ((mant & 0x400) == 0);
    bits = sign | static_cast<uint32_t>(112 - e) << 23 | ((mant & 0x3ff) << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

/// f32 -> bf16, rounding to nearest even (NaN stays a quiet NaN).
inline uint16_t f32_to_bf16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40);
  return static_cast<uint16_t>((bits + 0x7fffu + ((bits >> 16) & 1)) >> 16);
}

/// f32 -> f16, rounding to nearest even (F16C, which every supported CPU has).
__attribute__((target("f16c"))) inline uint16_t f32_to_f16(float f) { return _cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT); }

/// Element i of a tensor of type t, widened to f32.
inline float load_as_f32(const void* data, DType t, size_t i) {
  switch (t) {
    case DType::F32: return static_cast<const float*>(data)[i];
    case DType::F16: return f16_to_f32(static_cast<const uint16_t*>(data)[i]);
    case DType::BF16: return bf16_to_f32(static_cast<const uint16_t*>(data)[i]);
  }
  return 0.0f;
}

/// Stores v as element i of a tensor of type t, rounded to nearest even.
inline void store_from_f32(void* data, DType t, size_t i, float v) {
  switch (t) {
    case DType::F32: static_cast<float*>(data)[i] = v; return;
    case DType::F16: static_cast<uint16_t*>(data)[i] = f32_to_f16(v); return;
    case DType::BF16: static_cast<uint16_t*>(data)[i] = f32_to_bf16(v); return;
  }
}

}  // namespace m2
