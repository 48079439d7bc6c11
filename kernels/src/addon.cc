// Entry point of the m2_kernels addon: registers every exported function and wrap class.
#include <napi.h>

#include "cpu_features.h"

namespace m2 { void register_sampling(Napi::Env env, Napi::Object exports); }
namespace m2 { void register_collective(Napi::Env env, Napi::Object exports); }
namespace m2 { void register_model_exports(Napi::Env env, Napi::Object exports); }
namespace m2 { void register_gpu(Napi::Env env, Napi::Object exports); }
namespace m2 { void register_perf_probes(Napi::Env env, Napi::Object exports); }

namespace {

Napi::Value CpuFeaturesJs(const Napi::CallbackInfo& info) {
  const m2::CpuFeatures& f = m2::cpu_features();
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("avx2", f.avx2);
  out.Set("fma", f.fma);
  out.Set("f16c", f.f16c);
  out.Set("avx512f", f.avx512f);
  out.Set("avx512bw", f.avx512bw);
  out.Set("avx512vl", f.avx512vl);
  out.Set("avx512bf16", f.avx512bf16);
  out.Set("avx512vnni", f.avx512vnni);
  return out;
}

Napi::Value KernelPathsJs(const Napi::CallbackInfo& info) {
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("avx512", m2::avx512_kernels_allowed());
  out.Set("bf16Dot", m2::bf16_dot_kernels_enabled());
  return out;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("cpuFeatures", Napi::Function::New(env, CpuFeaturesJs));
  exports.Set("kernelPaths", Napi::Function::New(env, KernelPathsJs));
  m2::register_sampling(env, exports);
  m2::register_collective(env, exports);
  m2::register_model_exports(env, exports);
  m2::register_gpu(env, exports);
  m2::register_perf_probes(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(m2_kernels, Init)
