// JS face of the collectives: the `Communicator` wrap class, and the accessor native code
// (the forward pass) uses to reach the m2::Collective behind a Communicator passed in from JS.
#pragma once

#include <napi.h>

#include "collective.h"

namespace m2 {

/// The collective owned by a JS Communicator. Throws a JS TypeError if `value` is not a
/// Communicator and an Error if it was closed. The pointer stays valid until the Communicator
/// is closed or garbage collected: keep the JS object alive (and open) while native code uses it.
Collective* unwrap_collective(const Napi::Value& value);

/// Adds the `Communicator` class to the addon's exports.
void register_collective(Napi::Env env, Napi::Object exports);

}  // namespace m2
