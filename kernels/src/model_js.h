// Argument handling shared by the JS faces of the CPU model (model_binding.cc) and the GPU model
// (gpu_binding.cc): both take the same options, tensors and requests.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "collective_js.h"
#include "js_errors.h"

namespace m2 {

/// options.collective (TP > 1) as the rank's Collective, or null when absent. `keep` holds the
/// Communicator for as long as the model lives (unwrap_collective's contract).
inline Collective* optional_collective(const Napi::Object& options, Napi::ObjectReference& keep) {
  Napi::Value comm = options.Get("collective");
  if (comm.IsUndefined() || comm.IsNull()) return nullptr;
  Collective* collective = unwrap_collective(comm);
  keep = Napi::Persistent(comm.As<Napi::Object>());
  return collective;
}

/// setTensor(name, data, dtype, shape) arguments; `bytes` borrows data's memory for the call.
struct TensorArgs {
  std::string name;
  const uint8_t* bytes;
  size_t size;
  std::string dtype;
  std::vector<int64_t> shape;
};

inline TensorArgs parse_tensor_args(const Napi::CallbackInfo& info) {
  if (!info[0].IsString() || !info[1].IsTypedArray() || !info[2].IsString() || !info[3].IsArray())
    throw Napi::TypeError::New(info.Env(), "setTensor(name, data: Uint8Array, dtype, shape: number[])");
  auto data = info[1].As<Napi::TypedArray>();
  Napi::Array dims = info[3].As<Napi::Array>();
  std::vector<int64_t> shape;
  for (uint32_t i = 0; i < dims.Length(); ++i) shape.push_back(dims.Get(i).As<Napi::Number>().Int64Value());
  return {info[0].As<Napi::String>(), static_cast<const uint8_t*>(data.ArrayBuffer().Data()) + data.ByteOffset(),
          data.ByteLength(), info[2].As<Napi::String>(), std::move(shape)};
}

inline Napi::Array string_array(Napi::Env env, const std::vector<std::string>& items) {
  Napi::Array out = Napi::Array::New(env, items.size());
  for (uint32_t i = 0; i < items.size(); ++i) out.Set(i, items[i]);
  return out;
}

/// A step needs every tensor: ERR_MODEL_INCOMPLETE naming the first missing one.
inline void check_complete(Napi::Env env, const char* model, const std::vector<std::string>& missing) {
  if (missing.empty()) return;
  throw coded_error(env, std::string(model) + ": tensor '" + missing[0] + "' (and " +
                             std::to_string(missing.size() - 1) + " more) not loaded",
                    "ERR_MODEL_INCOMPLETE");
}

}  // namespace m2
