#include "step_request_js.h"

#include <string>

namespace m2 {
namespace {

template <class T, napi_typedarray_type kType>
const T* typed(const Napi::Object& o, const char* key, size_t expected, bool optional, size_t* length = nullptr) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) {
    if (optional) return nullptr;
    throw Napi::TypeError::New(o.Env(), std::string("step: '") + key + "' is required");
  }
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != kType)
    throw Napi::TypeError::New(o.Env(), std::string("step: '") + key + "' has the wrong typed-array type");
  auto arr = v.As<Napi::TypedArrayOf<T>>();
  if (length) *length = arr.ElementLength();
  else if (arr.ElementLength() != expected)
    throw Napi::TypeError::New(o.Env(), std::string("step: '") + key + "' needs " + std::to_string(expected) +
                                            " elements, got " + std::to_string(arr.ElementLength()));
  return arr.Data();
}

const int32_t* int32s(const Napi::Object& o, const char* key, size_t* length, bool optional) {
  return typed<int32_t, napi_int32_array>(o, key, 0, optional, length);
}

double number(const Napi::Object& o, const char* key, double fallback) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return fallback;
  if (!v.IsNumber()) throw Napi::TypeError::New(o.Env(), std::string("step: '") + key + "' must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

uint64_t seed_of(const Napi::Object& o) {
  Napi::Value v = o.Get("seed");
  if (v.IsBigInt()) {
    bool lossless = true;
    return v.As<Napi::BigInt>().Uint64Value(&lossless);
  }
  return static_cast<uint64_t>(number(o, "seed", 0));
}

SamplingParams parse_sampling(const Napi::Object& o, int vocab) {
  SamplingParams p;
  p.temperature = static_cast<float>(number(o, "temperature", 0));
  p.top_k = static_cast<int32_t>(number(o, "topK", 0));
  p.top_p = static_cast<float>(number(o, "topP", 1));
  p.min_p = static_cast<float>(number(o, "minP", 0));
  p.repetition_penalty = static_cast<float>(number(o, "repetitionPenalty", 1));
  p.presence_penalty = static_cast<float>(number(o, "presencePenalty", 0));
  p.frequency_penalty = static_cast<float>(number(o, "frequencyPenalty", 0));
  p.seed = seed_of(o);
  p.choice_index = static_cast<uint32_t>(number(o, "choiceIndex", 0));
  p.logprobs = static_cast<int32_t>(number(o, "logprobs", -1));
  size_t n_bias = 0, n_values = 0, n_banned = 0, n_words = 0;
  p.logit_bias_ids = int32s(o, "logitBiasIds", &n_bias, true);
  p.logit_bias_values = typed<float, napi_float32_array>(o, "logitBiasValues", 0, true, &n_values);
  if (n_bias != n_values) throw Napi::TypeError::New(o.Env(), "step: logitBiasIds and logitBiasValues differ in length");
  p.n_logit_bias = static_cast<int32_t>(n_bias);
  p.banned_ids = int32s(o, "bannedIds", &n_banned, true);
  p.n_banned = static_cast<int32_t>(n_banned);
  p.allowed_bitmask = typed<uint32_t, napi_uint32_array>(o, "allowedBitmask", 0, true, &n_words);
  if (p.allowed_bitmask && n_words < static_cast<size_t>(vocab + 31) / 32)
    throw Napi::TypeError::New(o.Env(), "step: allowedBitmask needs ceil(vocab / 32) words");
  return p;
}

}  // namespace

StepRequest parse_step_request(const Napi::Object& r, const ModelShape& shape) {
  StepRequest req;
  size_t n = 0;
  req.positions = int32s(r, "positions", &n, false);
  req.n_tokens = static_cast<int>(n);
  req.tokens = typed<int32_t, napi_int32_array>(r, "tokens", n, true);
  req.hidden_in = typed<float, napi_float32_array>(r, "hiddenStates", n * shape.hidden, true);
  req.slots = typed<int32_t, napi_int32_array>(r, "slotMapping", n, false);
  Napi::Value sample = r.Get("sample");
  req.sample = sample.IsUndefined() || sample.ToBoolean();
  Napi::Value seqs = r.Get("sequences");
  if (!seqs.IsArray()) throw Napi::TypeError::New(r.Env(), "step: 'sequences' must be an array");
  Napi::Array list = seqs.As<Napi::Array>();
  int start = 0;
  for (uint32_t i = 0; i < list.Length(); ++i) {
    Napi::Value item = list.Get(i);
    if (!item.IsObject()) throw Napi::TypeError::New(r.Env(), "step: each sequence must be an object");
    Napi::Object o = item.As<Napi::Object>();
    StepSequence s;
    s.id = static_cast<int64_t>(number(o, "id", -1));
    s.start = start;
    s.count = static_cast<int>(number(o, "numTokens", 0));
    start += s.count;
    size_t len = 0;
    s.block_table = int32s(o, "blockTable", &len, false);
    s.n_blocks = static_cast<int>(len);
    s.outputs = int32s(o, "outputRows", &len, false);
    s.n_outputs = static_cast<int>(len);
    if (s.count > 0)
      s.tree_mask = typed<uint8_t, napi_uint8_array>(o, "treeMask", static_cast<size_t>(s.count) * s.count, true);
    s.prompt_len = static_cast<int>(number(o, "promptLen", 0));
    Napi::Value sampling = o.Get("sampling");
    if (sampling.IsObject()) s.sampling = parse_sampling(sampling.As<Napi::Object>(), shape.vocab);
    s.capture_layers = int32s(o, "captureLayers", &len, true);
    s.n_capture = s.capture_layers ? static_cast<int>(len) : 0;
    req.seqs.push_back(s);
  }
  return req;
}

Napi::Object make_step_result(Napi::Env env, StepRequest& req, const ModelShape& shape, bool return_logits,
                              StepOutputs& out) {
  size_t n_out = 0;
  for (const StepSequence& s : req.seqs) n_out += s.n_outputs;
  Napi::Object result = Napi::Object::New(env);
  auto ids = Napi::Int32Array::New(env, n_out);
  auto logprobs = Napi::Float32Array::New(env, n_out);
  auto counts = Napi::Int32Array::New(env, n_out);
  auto top_ids = Napi::Int32Array::New(env, n_out * kMaxLogprobs);
  auto top_logprobs = Napi::Float32Array::New(env, n_out * kMaxLogprobs);
  result.Set("ids", ids);
  result.Set("logprobs", logprobs);
  result.Set("topCounts", counts);
  result.Set("topIds", top_ids);
  result.Set("topLogprobs", top_logprobs);
  out = StepOutputs{ids.Data(), logprobs.Data(), counts.Data(), top_ids.Data(), top_logprobs.Data(), nullptr};
  if (return_logits) {
    auto logits = Napi::Float32Array::New(env, n_out * shape.vocab);
    result.Set("logits", logits);
    out.logits = logits.Data();
  }
  Napi::Array captured = Napi::Array::New(env, req.seqs.size());
  for (uint32_t i = 0; i < req.seqs.size(); ++i) {
    StepSequence& s = req.seqs[i];
    if (s.n_capture == 0) {
      captured.Set(i, env.Null());
      continue;
    }
    auto buf = Napi::Float32Array::New(env, static_cast<size_t>(s.n_capture) * s.count * shape.hidden);
    s.capture_out = buf.Data();
    captured.Set(i, buf);
  }
  result.Set("captured", captured);
  return result;
}

}  // namespace m2
