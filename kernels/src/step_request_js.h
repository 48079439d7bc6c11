// Reads a JS step request (typed arrays, borrowed without copying) into a StepRequest and
// creates the JS typed arrays the step writes its outputs into. Runs on the JS thread.
#pragma once

#include <napi.h>

#include "model.h"

namespace m2 {

/// Parses `request` for `model`; throws Napi::TypeError / std::invalid_argument with the field
/// name on malformed input. The typed arrays must stay referenced while the step runs.
StepRequest parse_step_request(const Napi::Object& request, const Model& model);

/// Allocates the result object ({ ids, logprobs, topCounts, topIds, topLogprobs, logits?,
/// captured }) and points `out` (and each sequence's capture_out) at its arrays.
Napi::Object make_step_result(Napi::Env env, StepRequest& req, const Model& model, bool return_logits,
                              StepOutputs& out);

}  // namespace m2
