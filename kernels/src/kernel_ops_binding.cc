// Single kernels callable from JS, synchronously, for unit tests against reference
// implementations and for micro-benchmarks. The forward pass does not go through these.
#include <napi.h>

#include <algorithm>
#include <string>
#include <vector>

#include "js_errors.h"
#include "linear.h"
#include "paged_attention.h"
#include "row_ops.h"

namespace m2 {
namespace {

template <class T>
Napi::TypedArrayOf<T> arg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (!info[i].IsTypedArray()) throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a typed array");
  return info[i].As<Napi::TypedArrayOf<T>>();
}

int int_arg(const Napi::CallbackInfo& info, size_t i) { return info[i].ToNumber().Int32Value(); }

void need(Napi::Env env, bool ok, const char* what) {
  if (!ok) throw Napi::RangeError::New(env, what);
}

// linear(x, rows, weights: Uint8Array, dtype, outFeatures, inFeatures, bias | null, threads)
Napi::Value Linear(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto x = arg<float>(info, 0, "x");
  const int M = int_arg(info, 1), N = int_arg(info, 4), K = int_arg(info, 5), threads = int_arg(info, 7);
  auto w = arg<uint8_t>(info, 2, "weights");
  const DType dtype = parse_dtype(info[3].ToString());
  need(env, M > 0 && N > 0 && K > 0 && threads > 0, "linear: sizes and threads must be positive");
  need(env, x.ElementLength() == static_cast<size_t>(M) * K, "linear: x must hold rows * inFeatures floats");
  need(env, w.ByteLength() == static_cast<size_t>(N) * K * dtype_size(dtype), "linear: weights size mismatch");
  const float* bias = nullptr;
  if (info[6].IsTypedArray()) {
    auto b = arg<float>(info, 6, "bias");
    need(env, b.ElementLength() == static_cast<size_t>(N), "linear: bias must hold outFeatures floats");
    bias = b.Data();
  }
  auto y = Napi::Float32Array::New(env, static_cast<size_t>(M) * N);
  WeightMatrix wm{w.Data(), dtype, N, K};
  ThreadPool pool(threads);
  const LinearJob job{&wm, bias, y.Data(), N};
  linear(pool, x.Data(), K, M, &job, 1);
  return y;
}

// packedRows(weights: Uint8Array, dtype, outFeatures, inFeatures, rows: Int32Array) -> the given
// rows widened to f32, read back out of the packed layout (as the embedding lookup reads them).
Napi::Value PackedRows(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto w = arg<uint8_t>(info, 0, "weights");
  const DType dtype = parse_dtype(info[1].ToString());
  const int N = int_arg(info, 2), K = int_arg(info, 3);
  auto rows = arg<int32_t>(info, 4, "rows");
  need(env, N > 0 && K > 0, "packedRows: sizes must be positive");
  need(env, w.ByteLength() == static_cast<size_t>(N) * K * dtype_size(dtype), "packedRows: weights size mismatch");
  std::vector<uint8_t> packed(packed_bytes(dtype, N, K));
  pack_weights(w.Data(), dtype, N, K, packed.data());
  const WeightMatrix wm{packed.data(), dtype, N, K, packed_layout(dtype)};
  auto y = Napi::Float32Array::New(env, rows.ElementLength() * K);
  for (size_t i = 0; i < rows.ElementLength(); ++i) {
    need(env, rows[i] >= 0 && rows[i] < N, "packedRows: row out of range");
    weight_row(wm, rows[i], y.Data() + i * K);
  }
  return y;
}

// rmsNorm(x, weight, eps, rows)
Napi::Value RmsNorm(const Napi::CallbackInfo& info) {
  auto x = arg<float>(info, 0, "x");
  auto w = arg<float>(info, 1, "weight");
  const int rows = int_arg(info, 3), n = static_cast<int>(w.ElementLength());
  need(info.Env(), rows > 0 && x.ElementLength() == static_cast<size_t>(rows) * n, "rmsNorm: x must be rows * weight.length");
  auto y = Napi::Float32Array::New(info.Env(), x.ElementLength());
  for (int r = 0; r < rows; ++r)
    rms_norm_row(x.Data() + static_cast<size_t>(r) * n, w.Data(), info[2].ToNumber().FloatValue(), n,
                 y.Data() + static_cast<size_t>(r) * n);
  return y;
}

// rope(x: [heads * headDim], heads, invFreq, attentionScaling, position) -> rotated copy
Napi::Value Rope(const Napi::CallbackInfo& info) {
  auto x = arg<float>(info, 0, "x");
  auto inv = arg<float>(info, 2, "invFreq");
  const int heads = int_arg(info, 1), half = static_cast<int>(inv.ElementLength());
  need(info.Env(), heads > 0 && x.ElementLength() == static_cast<size_t>(heads) * 2 * half,
       "rope: x must be heads * 2 * invFreq.length");
  std::vector<float> c(half), s(half);
  rope_angles(inv.Data(), half, info[3].ToNumber().FloatValue(), int_arg(info, 4), c.data(), s.data());
  auto y = Napi::Float32Array::New(info.Env(), x.ElementLength());
  std::copy(x.Data(), x.Data() + x.ElementLength(), y.Data());
  rope_rotate(y.Data(), heads, half, c.data(), s.data());
  return y;
}

// pagedAttention({ q, qHeads, kvHeads, headDim, blockSize, kCache, vCache, sequences:
//   [{ numTokens, contextLen, blockTable, slots, treeMask? }], threads }) -> out like q
Napi::Value PagedAttention(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = info[0].As<Napi::Object>();
  auto q = o.Get("q").As<Napi::Float32Array>();
  const int q_heads = o.Get("qHeads").ToNumber().Int32Value();
  KvGeometry g{0, o.Get("blockSize").ToNumber().Int32Value(), o.Get("kvHeads").ToNumber().Int32Value(),
               o.Get("headDim").ToNumber().Int32Value()};
  if (o.Get("kvDtype").IsString()) g.dtype = parse_dtype(o.Get("kvDtype").As<Napi::String>().Utf8Value());
  // f32 caches are Float32Arrays, bf16/f16 ones Uint16Arrays of the bit patterns.
  const napi_typedarray_type cache_type = g.dtype == DType::F32 ? napi_float32_array : napi_uint16_array;
  const Napi::Value k_value = o.Get("kCache"), v_value = o.Get("vCache");
  need(env, k_value.IsTypedArray() && v_value.IsTypedArray() && k_value.As<Napi::TypedArray>().TypedArrayType() == cache_type &&
                v_value.As<Napi::TypedArray>().TypedArrayType() == cache_type,
       "pagedAttention: kCache and vCache must be Float32Arrays (f32) or Uint16Arrays (kvDtype bf16/f16)");
  auto kc = k_value.As<Napi::TypedArray>();
  auto vc = v_value.As<Napi::TypedArray>();
  need(env, g.block_size > 0 && g.kv_heads > 0 && g.head_dim > 0 && q_heads % g.kv_heads == 0, "pagedAttention: bad geometry");
  g.num_blocks = static_cast<int>(kc.ElementLength() / (g.token_stride() * g.block_size));
  need(env, kc.ElementLength() == vc.ElementLength() && kc.ElementLength() == g.token_stride() * g.block_size * g.num_blocks,
       "pagedAttention: caches must be [numBlocks, kvHeads, blockSize, headDim]");
  Napi::Array list = o.Get("sequences").As<Napi::Array>();
  std::vector<AttentionSequence> seqs;
  int total = 0;
  const size_t slots = static_cast<size_t>(g.num_blocks) * g.block_size;
  for (uint32_t i = 0; i < list.Length(); ++i) {
    Napi::Object s = list.Get(i).As<Napi::Object>();
    AttentionSequence a{total, s.Get("numTokens").ToNumber().Int32Value(), s.Get("contextLen").ToNumber().Int32Value(),
                        nullptr, 0, nullptr, nullptr};
    auto table = s.Get("blockTable").As<Napi::Int32Array>();
    auto step_slots = s.Get("slots").As<Napi::Int32Array>();
    need(env, a.count > 0 && a.context_len >= 0 && step_slots.ElementLength() == static_cast<size_t>(a.count) &&
                  table.ElementLength() * g.block_size >= static_cast<size_t>(a.context_len),
         "pagedAttention: sequence needs numTokens slots and a block table covering contextLen");
    for (size_t b = 0; b < table.ElementLength(); ++b) need(env, table[b] >= 0 && table[b] < g.num_blocks, "pagedAttention: block out of range");
    for (size_t j = 0; j < step_slots.ElementLength(); ++j) need(env, step_slots[j] >= 0 && static_cast<size_t>(step_slots[j]) < slots, "pagedAttention: slot out of range");
    a.block_table = table.Data();
    a.n_blocks = static_cast<int>(table.ElementLength());
    a.slots = step_slots.Data();
    if (s.Get("treeMask").IsTypedArray()) {
      auto mask = s.Get("treeMask").As<Napi::Uint8Array>();
      need(env, mask.ElementLength() == static_cast<size_t>(a.count) * a.count, "pagedAttention: treeMask must be numTokens^2");
      a.tree_mask = mask.Data();
    }
    seqs.push_back(a);
    total += a.count;
  }
  need(env, total > 0 && q.ElementLength() == static_cast<size_t>(total) * q_heads * g.head_dim, "pagedAttention: q must be [tokens, qHeads * headDim]");
  ThreadPool pool(o.Get("threads").ToNumber().Int32Value() > 0 ? o.Get("threads").ToNumber().Int32Value() : 1);
  auto out = Napi::Float32Array::New(env, q.ElementLength());
  uint8_t* k_data = static_cast<uint8_t*>(kc.ArrayBuffer().Data()) + kc.ByteOffset();
  uint8_t* v_data = static_cast<uint8_t*>(vc.ArrayBuffer().Data()) + vc.ByteOffset();
  paged_attention(pool, g, KvLayer{k_data, v_data}, q.Data(), q_heads, seqs.data(), static_cast<int>(seqs.size()), total,
                  out.Data());
  return out;
}

template <Napi::Value (*Fn)(const Napi::CallbackInfo&)>
Napi::Value Guarded(const Napi::CallbackInfo& info) {
  return with_js_errors(info.Env(), "ERR_INVALID_ARG", [&] { return Fn(info); });
}

}  // namespace

void register_kernel_ops(Napi::Env env, Napi::Object exports) {
  Napi::Object ops = Napi::Object::New(env);
  ops.Set("linear", Napi::Function::New(env, Guarded<Linear>));
  ops.Set("packedRows", Napi::Function::New(env, Guarded<PackedRows>));
  ops.Set("rmsNorm", Napi::Function::New(env, Guarded<RmsNorm>));
  ops.Set("rope", Napi::Function::New(env, Guarded<Rope>));
  ops.Set("pagedAttention", Napi::Function::New(env, Guarded<PagedAttention>));
  exports.Set("kernelOps", ops);
}

}  // namespace m2
