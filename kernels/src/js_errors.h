// node-addon-api (built with NAPI_CPP_EXCEPTIONS) turns only Napi::Error into a JS exception; a
// std::exception escaping a callback aborts the process. Every model/kernel callback runs its
// body through with_js_errors, which rethrows C++ errors as JS errors carrying a stable `code`.
#pragma once

#include <napi.h>

#include <stdexcept>
#include <string>

#include "collective.h"
#include "sampling.h"

namespace m2 {

inline Napi::Error coded_error(Napi::Env env, const std::string& message, const std::string& code) {
  Napi::Error e = Napi::Error::New(env, message);
  e.Set("code", code);
  return e;
}

/// Runs fn(); std::invalid_argument becomes code `invalid_code`, sampling and collective errors
/// keep their own codes, anything else is ERR_NATIVE.
template <class F>
auto with_js_errors(Napi::Env env, const char* invalid_code, F&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const Napi::Error&) {
    throw;
  } catch (const SamplingError& e) {
    throw coded_error(env, e.what(), e.code());
  } catch (const CollectiveError& e) {
    throw coded_error(env, e.what(), e.code());
  } catch (const std::invalid_argument& e) {
    throw coded_error(env, e.what(), invalid_code);
  } catch (const std::exception& e) {
    throw coded_error(env, e.what(), "ERR_NATIVE");
  }
}

}  // namespace m2
