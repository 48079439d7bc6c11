// Collective for ranks on different hosts (or one host, for tests): a star over TCP. Rank 0
// listens and every other rank connects to it; rank 0 receives all contributions, reduces them
// in rank order and sends the result back, so every rank gets the same bytes. Every frame
// carries the call it belongs to, so ranks in different calls fail instead of mixing data.
// Waits are poll() with the call's deadline; a peer that dies closes its socket and fails the
// call at once, and any failure closes this rank's sockets so the whole group fails fast.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "collective.h"

namespace m2 {

struct TcpCollectiveOptions {
  int rank = 0;
  int world_size = 1;
  /// "host:port" per rank ("[v6]:port" for IPv6); only addresses[0] is used: rank 0 listens on
  /// it and the others connect to it. A single address is accepted too.
  std::vector<std::string> addresses;
  int timeout_ms = 5000;
  /// Deadline for the whole group to connect (rank 0 may start after the others).
  int connect_timeout_ms = 30000;
};

class TcpCollective final : public Collective {
 public:
  /// Blocks until all ranks are connected (or throws at connect_timeout_ms).
  explicit TcpCollective(const TcpCollectiveOptions& options);
  ~TcpCollective() override;
  TcpCollective(const TcpCollective&) = delete;
  TcpCollective& operator=(const TcpCollective&) = delete;

  int rank() const override { return rank_; }
  int world_size() const override { return world_; }
  void all_reduce_sum(float* data, size_t count) override;
  void all_gather(const float* in, float* out, size_t count) override;
  void broadcast(void* data, size_t bytes, int root) override;
  void barrier() override;
  unsigned long long take_wait_ns() override { return wait_ns_.exchange(0); }

 private:
  struct Frame {
    uint64_t desc;
    uint64_t seq;
    uint64_t bytes;
  };
  void listen_and_accept(const std::string& address, uint64_t deadline_ns);
  void connect_to_root(const std::string& address, uint64_t deadline_ns);
  /// Sends one frame (header + payload) of the current call to `peer` (rank; socket index).
  void send_frame(int peer, const void* data, size_t bytes);
  /// Receives one frame of the current call from `peer` into `data` (exactly `bytes`).
  void recv_frame(int peer, void* data, size_t bytes);
  void send_all(int peer, const void* data, size_t bytes);
  void recv_all(int peer, void* data, size_t bytes);
  void wait_io(int peer, short events);
  void begin(uint64_t desc);
  [[noreturn]] void fail(const std::string& what, const char* code);
  void close_sockets();
  int& socket_of(int peer) { return rank_ == 0 ? sockets_[size_t(peer)] : sockets_[0]; }

  int rank_;
  int world_;
  int timeout_ms_;
  int connect_timeout_ms_;
  /// Rank 0: one socket per rank (index 0 unused); other ranks: sockets_[0] is rank 0.
  std::vector<int> sockets_;
  std::vector<float> scratch_;
  uint64_t desc_ = 0;
  uint64_t seq_ = 0;
  uint64_t deadline_ns_ = 0;
  bool broken_ = false;
  std::atomic<unsigned long long> wait_ns_{0};
};

}  // namespace m2
