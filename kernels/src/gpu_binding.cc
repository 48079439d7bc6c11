// JS face of the GPU backend. Always built: `gpuBackend()` says whether this addon was compiled
// with CUDA and which devices it sees, and the NCCL helpers (`ncclLibrary`, `ncclUniqueId`) work
// wherever libnccl.so.2 can be dlopen'ed. Built with M2_WITH_CUDA (binding.gyp, when
// M2_BUILD_CUDA=1 or a GPU is visible) it also exports `GpuModel`, the CUDA forward pass with the
// NativeModel interface: setTensor (sync, uploads), step (async, off the event loop),
// releaseSequence, missingTensors, weightBytesPerToken, collectiveMode.
#include <napi.h>

#include <memory>
#include <string>

#include "model_js.h"
#include "js_errors.h"
#include "nccl_api.h"
#include "step_request_js.h"
#include "step_worker.h"

#ifdef M2_WITH_CUDA
#include "../cuda/gpu_model.h"
#endif

namespace m2 {
namespace {

std::string optional_path(const Napi::CallbackInfo& info) {
  if (info.Length() == 0 || info[0].IsUndefined()) return "";
  if (!info[0].IsString()) throw Napi::TypeError::New(info.Env(), "NCCL library path must be a string");
  return info[0].As<Napi::String>();
}

const NcclApi& load_nccl_js(const Napi::CallbackInfo& info) {
  const std::string path = optional_path(info);
  try {
    return load_nccl(path);
  } catch (const NcclUnavailable& e) {
    throw coded_error(info.Env(), e.what(), e.code());
  }
}

Napi::Value NcclLibraryJs(const Napi::CallbackInfo& info) {
  const NcclApi& api = load_nccl_js(info);
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("path", api.path);
  out.Set("version", api.version);
  return out;
}

Napi::Value NcclUniqueIdJs(const Napi::CallbackInfo& info) {
  const NcclApi& api = load_nccl_js(info);
  const NcclUniqueId id = with_js_errors(info.Env(), "ERR_NCCL", [&] { return nccl_unique_id(api); });
  Napi::Uint8Array out = Napi::Uint8Array::New(info.Env(), kNcclUniqueIdBytes);
  std::copy(id.begin(), id.end(), out.Data());
  return out;
}

#ifdef M2_WITH_CUDA

constexpr bool kBuiltWithCuda = true;

Napi::Object devices_js(Napi::Env env) {
  const CudaDevices devices = cuda_devices();
  Napi::Object out = Napi::Object::New(env);
  Napi::Array names = Napi::Array::New(env, devices.names.size());
  for (uint32_t i = 0; i < devices.names.size(); ++i) names.Set(i, devices.names[i]);
  out.Set("devices", names);
  if (!devices.error.empty()) out.Set("error", devices.error);
  return out;
}

Napi::Value CopyBandwidthJs(const Napi::CallbackInfo& info) {
  if (!info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsNumber())
    throw Napi::TypeError::New(info.Env(), "gpuCopyBandwidth(device, bytes, iterations)");
  const double bw = with_js_errors(info.Env(), "ERR_GPU_OPTIONS", [&] {
    return cuda_copy_bandwidth(info[0].As<Napi::Number>().Int32Value(),
                               static_cast<size_t>(info[1].As<Napi::Number>().Int64Value()),
                               info[2].As<Napi::Number>().Int32Value());
  });
  return Napi::Number::New(info.Env(), bw);
}

GpuModelOptions parse_gpu_options(const Napi::Object& o) {
  GpuModelOptions g;
  Napi::Value device = o.Get("device");
  if (!device.IsUndefined()) {
    if (!device.IsNumber()) throw Napi::TypeError::New(o.Env(), "GpuModel: 'device' must be a CUDA device ordinal");
    g.device = device.As<Napi::Number>().Int32Value();
  }
  Napi::Value timeout = o.Get("collectiveTimeoutMs");
  if (timeout.IsNumber()) g.collective_timeout_ms = timeout.As<Napi::Number>().Int32Value();
  Napi::Value nccl = o.Get("nccl");
  if (nccl.IsUndefined() || nccl.IsNull()) return g;
  if (!nccl.IsObject()) throw Napi::TypeError::New(o.Env(), "GpuModel: 'nccl' must be { uniqueId, library? }");
  Napi::Object n = nccl.As<Napi::Object>();
  Napi::Value id = n.Get("uniqueId");
  if (!id.IsTypedArray() || id.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array ||
      id.As<Napi::Uint8Array>().ElementLength() != kNcclUniqueIdBytes)
    throw Napi::TypeError::New(o.Env(), "GpuModel: nccl.uniqueId must be a Uint8Array of 128 bytes");
  std::copy_n(id.As<Napi::Uint8Array>().Data(), kNcclUniqueIdBytes, g.nccl_id.begin());
  if (n.Get("library").IsString()) g.nccl_library = n.Get("library").As<Napi::String>();
  g.use_nccl = true;
  return g;
}

class GpuModelJs : public Napi::ObjectWrap<GpuModelJs> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "GpuModel",
                       {InstanceMethod("setTensor", &GpuModelJs::SetTensor),
                        InstanceMethod("missingTensors", &GpuModelJs::MissingTensors),
                        InstanceMethod("step", &GpuModelJs::Step),
                        InstanceMethod("releaseSequence", &GpuModelJs::ReleaseSequence),
                        InstanceMethod("weightBytesPerToken", &GpuModelJs::WeightBytesPerToken),
                        InstanceMethod("collectiveMode", &GpuModelJs::CollectiveMode)});
  }

  explicit GpuModelJs(const Napi::CallbackInfo& info) : Napi::ObjectWrap<GpuModelJs>(info) {
    if (!info[0].IsObject()) throw Napi::TypeError::New(info.Env(), "GpuModel: options object required");
    Napi::Object o = info[0].As<Napi::Object>();
    if (!o.Get("shape").IsObject() || !o.Get("limits").IsObject())
      throw Napi::TypeError::New(info.Env(), "GpuModel: options need 'shape' and 'limits'");
    Collective* collective = optional_collective(o, collective_ref_);
    const GpuModelOptions options = parse_gpu_options(o);
    with_js_errors(info.Env(), "ERR_MODEL_OPTIONS", [&] {
      const ModelLimits limits = parse_model_limits(o.Get("limits").As<Napi::Object>());
      if (limits.kv_dtype != DType::F32)
        throw std::invalid_argument("the CUDA backend keeps its KV cache in float32: use --kv-cache-dtype float32");
      model_ = std::make_unique<GpuModel>(parse_model_shape(o.Get("shape").As<Napi::Object>()), limits, options, collective);
    });
  }

 private:
  void Claim(Napi::Env env) {
    if (!model_->try_claim()) throw coded_error(env, "GpuModel: a step is already running", "ERR_MODEL_BUSY");
  }

  Napi::Value SetTensor(const Napi::CallbackInfo& info) {
    const TensorArgs t = parse_tensor_args(info);
    Claim(info.Env());
    struct Release {
      GpuModel& m;
      ~Release() { m.release(); }
    } release{*model_};
    with_js_errors(info.Env(), "ERR_TENSOR", [&] {
      model_->set_tensor(t.name, t.bytes, t.size, parse_dtype(t.dtype), t.shape);
    });
    return info.Env().Undefined();
  }

  Napi::Value MissingTensors(const Napi::CallbackInfo& info) {
    return string_array(info.Env(), model_->missing());
  }

  Napi::Value WeightBytesPerToken(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(model_->bytes_per_token()));
  }

  Napi::Value CollectiveMode(const Napi::CallbackInfo& info) {
    return Napi::String::New(info.Env(), model_->collective_mode());
  }

  Napi::Value ReleaseSequence(const Napi::CallbackInfo& info) {
    Claim(info.Env());
    model_->release_sequence(info[0].ToNumber().Int64Value());
    model_->release();
    return info.Env().Undefined();
  }

  Napi::Value Step(const Napi::CallbackInfo& info);

  std::unique_ptr<GpuModel> model_;
  Napi::ObjectReference collective_ref_;
};

Napi::Value GpuModelJs::Step(const Napi::CallbackInfo& info) {
  if (!info[0].IsObject()) throw Napi::TypeError::New(info.Env(), "step(request) needs a request object");
  Napi::Object request = info[0].As<Napi::Object>();
  check_complete(info.Env(), "GpuModel", model_->missing());
  StepRequest req = with_js_errors(info.Env(), "ERR_STEP_REQUEST", [&] {
    StepRequest parsed = parse_step_request(request, model_->shape());
    validate_step_request(model_->shape(), model_->limits(), parsed);
    return parsed;
  });
  Claim(info.Env());
  auto* worker = new StepWorker<GpuModel>(info.Env(), "m2:gpu-step", "ERR_CUDA", info.This().As<Napi::Object>(), *model_, request,
                                          std::move(req));
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

#else

constexpr bool kBuiltWithCuda = false;

Napi::Object devices_js(Napi::Env env) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("devices", Napi::Array::New(env, 0));
  out.Set("error", "this addon was built without CUDA (npm install builds it with M2_BUILD_CUDA=1 or when "
                   "nvidia-smi sees a GPU)");
  return out;
}

#endif

Napi::Value GpuBackendJs(const Napi::CallbackInfo& info) {
  Napi::Object out = devices_js(info.Env());
  out.Set("built", kBuiltWithCuda);
  return out;
}

}  // namespace

void register_gpu(Napi::Env env, Napi::Object exports) {
  exports.Set("gpuBackend", Napi::Function::New(env, GpuBackendJs));
  exports.Set("ncclLibrary", Napi::Function::New(env, NcclLibraryJs));
  exports.Set("ncclUniqueId", Napi::Function::New(env, NcclUniqueIdJs));
#ifdef M2_WITH_CUDA
  exports.Set("GpuModel", GpuModelJs::Define(env));
  exports.Set("gpuCopyBandwidth", Napi::Function::New(env, CopyBandwidthJs));
#endif
}

}  // namespace m2
