// The asynchronous half of every model binding's step(): the forward pass runs on a libuv worker
// thread, off the event loop, writing into result arrays made on the JS thread; the promise
// settles back on it. ModelT is the CPU Model or the GpuModel: anything with step(), release()
// and shape(). The model must already be claimed (one step at a time); the worker releases it.
#pragma once

#include <napi.h>

#include <string>

#include "js_errors.h"
#include "step.h"
#include "step_request_js.h"

namespace m2 {

template <class ModelT>
class StepWorker : public Napi::AsyncWorker {
 public:
  /// `failure_code`: the `code` of errors that are neither sampling nor collective errors.
  StepWorker(Napi::Env env, const char* resource, const char* failure_code, Napi::Object self, ModelT& model,
             Napi::Object request, StepRequest req)
      : Napi::AsyncWorker(env, resource), deferred_(Napi::Promise::Deferred::New(env)), model_(model),
        req_(std::move(req)), failure_code_(failure_code) {
    self_ = Napi::Persistent(self);
    request_ = Napi::Persistent(request);
    Napi::Value logits = request.Get("returnLogits");
    result_ = Napi::Persistent(
        make_step_result(env, req_, model.shape(), !logits.IsUndefined() && logits.ToBoolean(), out_));
  }

  Napi::Promise promise() { return deferred_.Promise(); }

  void Execute() override {
    try {
      timings_ = model_.step(req_, out_);
    } catch (const SamplingError& e) {
      code_ = e.code();
      SetError(e.what());
    } catch (const CollectiveError& e) {
      code_ = e.code();
      SetError(e.what());
    } catch (const std::exception& e) {
      code_ = failure_code_;
      SetError(e.what());
    }
  }

  void OnOK() override {
    model_.release();
    Napi::Object result = result_.Value();
    result.Set("forwardNs", Napi::Number::New(Env(), static_cast<double>(timings_.forward_ns)));
    result.Set("collectiveNs", Napi::Number::New(Env(), static_cast<double>(timings_.collective_ns)));
    deferred_.Resolve(result);
  }

  void OnError(const Napi::Error& e) override {
    model_.release();
    deferred_.Reject(coded_error(Env(), e.Message(), code_).Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  ModelT& model_;
  StepRequest req_;
  StepOutputs out_;
  StepTimings timings_;
  std::string failure_code_;
  std::string code_;
  // Keep the model wrapper and the request's typed arrays alive while the step reads them.
  Napi::ObjectReference self_, request_, result_;
};

}  // namespace m2
