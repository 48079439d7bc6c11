// JS face of the sampling kernel, for tests and JS callers: sampleLogits (one row, synchronous),
// counterUniform (the RNG draw), and PenaltyState as a wrap class. Shapes and types are checked
// in kernels/sampling.ts; this layer checks what it dereferences and turns SamplingError into a
// JS Error with `code`.
#include <napi.h>

#include <cmath>
#include <string>
#include <vector>

#include "sampling.h"

namespace m2 {

namespace {

constexpr napi_type_tag kPenaltyStateTag = {0x6d32'7361'6d70'6c65ULL, 0x7065'6e61'6c74'7973ULL};

Napi::Error js_error(Napi::Env env, const SamplingError& e) {
  Napi::Error err = Napi::Error::New(env, e.what());
  err.Set("code", Napi::String::New(env, e.code()));
  return err;
}

[[noreturn]] void type_error(Napi::Env env, const std::string& what) {
  throw Napi::TypeError::New(env, "sampling: " + what);
}

int32_t int_arg(const Napi::Value& v, const char* name) {
  const double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : 0.5;
  if (!(d == std::trunc(d) && d >= -2147483648.0 && d <= 2147483647.0)) {
    type_error(v.Env(), std::string(name) + " must be a 32-bit integer");
  }
  return static_cast<int32_t>(d);
}

uint32_t uint_arg(const Napi::Value& v, const char* name) {
  const double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : 0.5;
  if (!(d == std::trunc(d) && d >= 0.0 && d <= 4294967295.0)) {
    type_error(v.Env(), std::string(name) + " must be an unsigned 32-bit integer");
  }
  return static_cast<uint32_t>(d);
}

class PenaltyStateJs : public Napi::ObjectWrap<PenaltyStateJs> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "PenaltyState",
                       {InstanceMethod<&PenaltyStateJs::Append>("append"),
                        InstanceMethod<&PenaltyStateJs::Truncate>("truncate"),
                        InstanceMethod<&PenaltyStateJs::CountOf>("countOf"),
                        InstanceAccessor<&PenaltyStateJs::Length>("length"),
                        InstanceAccessor<&PenaltyStateJs::PromptLen>("promptLen")});
  }

  explicit PenaltyStateJs(const Napi::CallbackInfo& info)
      : Napi::ObjectWrap<PenaltyStateJs>(info), state_(construct(info)) {
    info.This().As<Napi::Object>().TypeTag(&kPenaltyStateTag);
  }

  const PenaltyState& state() const { return state_; }

 private:
  static PenaltyState construct(const Napi::CallbackInfo& info) {
    try {
      return PenaltyState(int_arg(info[0], "promptLen"));
    } catch (const SamplingError& e) {
      throw js_error(info.Env(), e);
    }
  }

  void Append(const Napi::CallbackInfo& info) {
    try {
      state_.append(int_arg(info[0], "token"), int_arg(info[1], "position"));
    } catch (const SamplingError& e) {
      throw js_error(info.Env(), e);
    }
  }

  void Truncate(const Napi::CallbackInfo& info) {
    try {
      state_.truncate(int_arg(info[0], "length"));
    } catch (const SamplingError& e) {
      throw js_error(info.Env(), e);
    }
  }

  Napi::Value CountOf(const Napi::CallbackInfo& info) {
    const TokenCount c = state_.count_of(int_arg(info[0], "id"));
    Napi::Object out = Napi::Object::New(info.Env());
    out.Set("prompt", c.prompt);
    out.Set("output", c.output);
    return out;
  }

  Napi::Value Length(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), state_.length()); }
  Napi::Value PromptLen(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), state_.prompt_len()); }

  PenaltyState state_;
};

template <typename Array>
Array typed_field(const Napi::Object& o, const char* key, napi_typedarray_type type, const char* type_name) {
  const Napi::Value v = o.Get(key);
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != type) {
    type_error(o.Env(), std::string(key) + " must be a " + type_name);
  }
  return v.As<Array>();
}

float float_field(const Napi::Object& o, const char* key) {
  const Napi::Value v = o.Get(key);
  if (!v.IsNumber()) type_error(o.Env(), std::string(key) + " must be a number");
  return v.As<Napi::Number>().FloatValue();
}

// sampleLogits(logits: Float32Array, params: NativeSamplingParams, position: number,
//              history?: PenaltyState) -> {token, logprob, top: {ids: Int32Array, logprobs: Float32Array}}
Napi::Value SampleLogitsJs(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    type_error(env, "logits must be a Float32Array");
  }
  const Napi::Float32Array logits = info[0].As<Napi::Float32Array>();
  if (!info[1].IsObject()) type_error(env, "params must be an object");
  const Napi::Object o = info[1].As<Napi::Object>();
  const int32_t position = int_arg(info[2], "position");
  const PenaltyState* history = nullptr;
  if (!info[3].IsUndefined()) {
    if (!info[3].IsObject() || !info[3].As<Napi::Object>().CheckTypeTag(&kPenaltyStateTag)) {
      type_error(env, "history must be a PenaltyState");
    }
    history = &PenaltyStateJs::Unwrap(info[3].As<Napi::Object>())->state();
  }

  SamplingParams p;
  p.temperature = float_field(o, "temperature");
  p.top_k = int_arg(o.Get("topK"), "topK");
  p.top_p = float_field(o, "topP");
  p.min_p = float_field(o, "minP");
  p.repetition_penalty = float_field(o, "repetitionPenalty");
  p.presence_penalty = float_field(o, "presencePenalty");
  p.frequency_penalty = float_field(o, "frequencyPenalty");
  const Napi::Value seed = o.Get("seed");
  if (!seed.IsBigInt()) type_error(env, "seed must be a bigint");
  bool lossless = false;
  p.seed = seed.As<Napi::BigInt>().Uint64Value(&lossless);
  if (!lossless) type_error(env, "seed must fit in 64 unsigned bits");
  p.choice_index = uint_arg(o.Get("choiceIndex"), "choiceIndex");
  p.logprobs = int_arg(o.Get("logprobs"), "logprobs");
  const auto bias_ids = typed_field<Napi::Int32Array>(o, "logitBiasIds", napi_int32_array, "Int32Array");
  const auto bias_values = typed_field<Napi::Float32Array>(o, "logitBiasValues", napi_float32_array, "Float32Array");
  if (bias_ids.ElementLength() != bias_values.ElementLength()) type_error(env, "logit bias ids and values differ in length");
  p.logit_bias_ids = bias_ids.Data();
  p.logit_bias_values = bias_values.Data();
  p.n_logit_bias = static_cast<int32_t>(bias_ids.ElementLength());
  const auto banned = typed_field<Napi::Int32Array>(o, "bannedIds", napi_int32_array, "Int32Array");
  p.banned_ids = banned.Data();
  p.n_banned = static_cast<int32_t>(banned.ElementLength());
  const int32_t vocab = static_cast<int32_t>(logits.ElementLength());
  const Napi::Value mask = o.Get("allowedBitmask");
  if (!mask.IsUndefined() && !mask.IsNull()) {
    const auto words = typed_field<Napi::Uint32Array>(o, "allowedBitmask", napi_uint32_array, "Uint32Array");
    if (words.ElementLength() != (static_cast<size_t>(vocab) + 31) / 32) {
      type_error(env, "allowedBitmask must hold ceil(vocab / 32) words");
    }
    p.allowed_bitmask = words.Data();
  }

  thread_local SamplingScratch scratch;
  thread_local std::vector<float> row;
  row.assign(logits.Data(), logits.Data() + vocab);
  SampleResult r;
  try {
    r = sample_row(row.data(), vocab, p, history, position, scratch);
  } catch (const SamplingError& e) {
    throw js_error(env, e);
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("token", r.token);
  out.Set("logprob", r.logprob);
  Napi::Int32Array top_ids = Napi::Int32Array::New(env, r.n_top);
  Napi::Float32Array top_logprobs = Napi::Float32Array::New(env, r.n_top);
  for (int32_t j = 0; j < r.n_top; ++j) {
    top_ids[j] = r.top_ids[j];
    top_logprobs[j] = r.top_logprobs[j];
  }
  Napi::Object top = Napi::Object::New(env);
  top.Set("ids", top_ids);
  top.Set("logprobs", top_logprobs);
  out.Set("top", top);
  return out;
}

// counterUniform(seed: bigint, choiceIndex: number, position: number, lane: number) -> number
Napi::Value CounterUniformJs(const Napi::CallbackInfo& info) {
  if (!info[0].IsBigInt()) type_error(info.Env(), "seed must be a bigint");
  bool lossless = false;
  const uint64_t seed = info[0].As<Napi::BigInt>().Uint64Value(&lossless);
  if (!lossless) type_error(info.Env(), "seed must fit in 64 unsigned bits");
  const double u = counter_uniform(seed, uint_arg(info[1], "choiceIndex"),
                                   int_arg(info[2], "position"), uint_arg(info[3], "lane"));
  return Napi::Number::New(info.Env(), u);
}

}  // namespace

void register_sampling(Napi::Env env, Napi::Object exports) {
  exports.Set("sampleLogits", Napi::Function::New(env, SampleLogitsJs));
  exports.Set("counterUniform", Napi::Function::New(env, CounterUniformJs));
  exports.Set("PenaltyState", PenaltyStateJs::Define(env));
}

}  // namespace m2
