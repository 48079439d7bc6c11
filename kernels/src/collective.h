// The collective interface the native forward pass calls between layers. Implementations:
// shared memory (ranks on one host), TCP (ranks on different hosts), NCCL (GPU, later).
// Every wait has a deadline: a dead or hung peer makes the call throw CollectiveError instead
// of blocking forever.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>

namespace m2 {

/// Thrown by every collective failure. `code()` is stable (surfaced to JS as `err.code`):
/// ERR_COLLECTIVE_TIMEOUT (a deadline passed), ERR_COLLECTIVE_PEER_LOST (a peer died or closed
/// its connection), ERR_COLLECTIVE (setup, protocol or usage errors). After any error the group
/// is broken: later calls throw too, and the group must be rebuilt.
class CollectiveError : public std::runtime_error {
 public:
  explicit CollectiveError(const std::string& what, const char* code = "ERR_COLLECTIVE")
      : std::runtime_error(what), code_(code) {}
  const char* code() const { return code_; }

 private:
  const char* code_;
};

class Collective {
 public:
  virtual ~Collective() = default;
  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  /// In-place sum over all ranks; every rank ends with the same bytes (fixed reduction order).
  virtual void all_reduce_sum(float* data, size_t count) = 0;
  /// Each rank contributes `count` floats; `out` receives world_size * count floats in rank order.
  virtual void all_gather(const float* in, float* out, size_t count) = 0;
  /// Copies `bytes` from `root` to every other rank.
  virtual void broadcast(void* data, size_t bytes, int root) = 0;
  virtual void barrier() = 0;
  /// Nanoseconds spent inside collectives since the last call (step timing).
  virtual unsigned long long take_wait_ns() = 0;
};

}  // namespace m2
