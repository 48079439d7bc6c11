// JS face of the native model: `new NativeModel(options)`, setTensor (sync, copies), step (async:
// the whole forward pass runs on a libuv worker thread, off the event loop), releaseSequence.
#include <napi.h>

#include <memory>
#include <string>

#include "model_js.h"
#include "js_errors.h"
#include "model.h"
#include "step_request_js.h"
#include "step_worker.h"

namespace m2 {

void register_kernel_ops(Napi::Env env, Napi::Object exports);

namespace {

int int_field(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  if (!v.IsNumber()) throw Napi::TypeError::New(o.Env(), std::string("NativeModel: '") + key + "' must be a number");
  return v.As<Napi::Number>().Int32Value();
}

}  // namespace

ModelShape parse_model_shape(const Napi::Object& o) {
  ModelShape s;
  s.hidden = int_field(o, "hiddenSize");
  s.layers = int_field(o, "numLayers");
  s.q_heads = int_field(o, "numHeads");
  s.kv_heads = int_field(o, "numKvHeads");
  s.head_dim = int_field(o, "headDim");
  s.intermediate = int_field(o, "intermediateSize");
  s.vocab = int_field(o, "vocabSize");
  s.vocab_start = int_field(o, "vocabStart");
  s.vocab_end = int_field(o, "vocabEnd");
  s.rms_norm_eps = o.Get("rmsNormEps").As<Napi::Number>().FloatValue();
  s.tie_word_embeddings = o.Get("tieWordEmbeddings").ToBoolean();
  s.rope_attention_scaling = o.Get("ropeAttentionScaling").As<Napi::Number>().FloatValue();
  s.rank = int_field(o, "rank");
  s.world_size = int_field(o, "worldSize");
  Napi::Value inv = o.Get("ropeInvFreq");
  if (!inv.IsTypedArray() || inv.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throw Napi::TypeError::New(o.Env(), "NativeModel: 'ropeInvFreq' must be a Float32Array");
  auto arr = inv.As<Napi::Float32Array>();
  s.rope_inv_freq.assign(arr.Data(), arr.Data() + arr.ElementLength());
  return s;
}

ModelLimits parse_model_limits(const Napi::Object& o) {
  ModelLimits limits{int_field(o, "threads"), int_field(o, "maxTokens"), int_field(o, "numBlocks"),
                     int_field(o, "blockSize"), int_field(o, "maxModelLen")};
  // Absent: f32, the cache every backend supports.
  Napi::Value kv = o.Get("kvCacheDtype");
  if (!kv.IsUndefined()) {
    if (!kv.IsString()) throw Napi::TypeError::New(o.Env(), "NativeModel: 'kvCacheDtype' must be a string");
    limits.kv_dtype = parse_dtype(kv.As<Napi::String>().Utf8Value());
  }
  return limits;
}

namespace {

class NativeModel : public Napi::ObjectWrap<NativeModel> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NativeModel",
                       {InstanceMethod("setTensor", &NativeModel::SetTensor),
                        InstanceMethod("missingTensors", &NativeModel::MissingTensors),
                        InstanceMethod("step", &NativeModel::Step),
                        InstanceMethod("releaseSequence", &NativeModel::ReleaseSequence),
                        InstanceMethod("weightBytesPerToken", &NativeModel::WeightBytesPerToken)});
  }

  explicit NativeModel(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeModel>(info) {
    if (!info[0].IsObject()) throw Napi::TypeError::New(info.Env(), "NativeModel: options object required");
    Napi::Object o = info[0].As<Napi::Object>();
    if (!o.Get("shape").IsObject() || !o.Get("limits").IsObject())
      throw Napi::TypeError::New(info.Env(), "NativeModel: options need 'shape' and 'limits'");
    Collective* collective = optional_collective(o, collective_ref_);
    with_js_errors(info.Env(), "ERR_MODEL_OPTIONS", [&] {
      model_ = std::make_unique<Model>(parse_model_shape(o.Get("shape").As<Napi::Object>()),
                                       parse_model_limits(o.Get("limits").As<Napi::Object>()), collective);
    });
  }

  Model& model() { return *model_; }

 private:
  void Claim(Napi::Env env) {
    if (!model_->try_claim()) throw coded_error(env, "NativeModel: a step is already running", "ERR_MODEL_BUSY");
  }

  Napi::Value SetTensor(const Napi::CallbackInfo& info) {
    const TensorArgs t = parse_tensor_args(info);
    Claim(info.Env());
    try {
      with_js_errors(info.Env(), "ERR_TENSOR", [&] {
        model_->weights().set(t.name, t.bytes, t.size, parse_dtype(t.dtype), t.shape);
      });
    } catch (...) {
      model_->release();
      throw;
    }
    model_->release();
    return info.Env().Undefined();
  }

  Napi::Value MissingTensors(const Napi::CallbackInfo& info) {
    return string_array(info.Env(), model_->weights().missing());
  }

  Napi::Value WeightBytesPerToken(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(model_->weights().bytes_per_token()));
  }

  Napi::Value ReleaseSequence(const Napi::CallbackInfo& info) {
    Claim(info.Env());
    model_->release_sequence(info[0].ToNumber().Int64Value());
    model_->release();
    return info.Env().Undefined();
  }

  Napi::Value Step(const Napi::CallbackInfo& info);

  std::unique_ptr<Model> model_;
  Napi::ObjectReference collective_ref_;
};

Napi::Value NativeModel::Step(const Napi::CallbackInfo& info) {
  if (!info[0].IsObject()) throw Napi::TypeError::New(info.Env(), "step(request) needs a request object");
  Napi::Object request = info[0].As<Napi::Object>();
  check_complete(info.Env(), "NativeModel", model_->weights().missing());
  StepRequest req = with_js_errors(info.Env(), "ERR_STEP_REQUEST", [&] {
    StepRequest parsed = parse_step_request(request, *model_);
    model_->validate(parsed);
    return parsed;
  });
  Claim(info.Env());
  auto* worker = new StepWorker<Model>(info.Env(), "m2:step", "ERR_STEP", info.This().As<Napi::Object>(), *model_, request,
                                          std::move(req));
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

}  // namespace

void register_model_exports(Napi::Env env, Napi::Object exports) {
  exports.Set("NativeModel", NativeModel::Define(env));
  register_kernel_ops(env, exports);
}

}  // namespace m2
