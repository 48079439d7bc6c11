// Reads a JS step request (typed arrays, borrowed without copying) into a StepRequest and
// creates the JS typed arrays the step writes its outputs into. Runs on the JS thread.
#pragma once

#include <napi.h>

#include "model.h"

namespace m2 {

/// The `shape` and `limits` options of a model constructor (NativeModelShape/Limits in
/// kernels/model.ts); throws Napi::TypeError naming a missing field.
ModelShape parse_model_shape(const Napi::Object& shape);
ModelLimits parse_model_limits(const Napi::Object& limits);

/// Parses `request` for `model`; throws Napi::TypeError / std::invalid_argument with the field
/// name on malformed input. The typed arrays must stay referenced while the step runs.
StepRequest parse_step_request(const Napi::Object& request, const ModelShape& shape);
inline StepRequest parse_step_request(const Napi::Object& request, const Model& model) {
  return parse_step_request(request, model.shape());
}

/// Allocates the result object ({ ids, logprobs, topCounts, topIds, topLogprobs, logits?,
/// captured }) and points `out` (and each sequence's capture_out) at its arrays.
Napi::Object make_step_result(Napi::Env env, StepRequest& req, const ModelShape& shape, bool return_logits,
                              StepOutputs& out);
inline Napi::Object make_step_result(Napi::Env env, StepRequest& req, const Model& model, bool return_logits,
                                     StepOutputs& out) {
  return make_step_result(env, req, model.shape(), return_logits, out);
}

}  // namespace m2
