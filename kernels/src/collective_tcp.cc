// TCP star collective (see collective_tcp.h). Sockets are non-blocking; every send and receive
// loops with poll() bounded by the call's deadline. Frames are a fixed header (call descriptor,
// call sequence number, payload bytes) followed by the payload.
#include "collective_tcp.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "collective_common.h"

namespace m2 {
namespace {

using collective_detail::describe_op;
using collective_detail::monotonic_ns;
using collective_detail::Op;
using collective_detail::op_descriptor;

constexpr uint64_t kMs = 1000000;
constexpr uint64_t kHelloMagic = 0x3130504354324dull;  // "M2TCP01"
constexpr uint64_t kSpinNs = 30000;
constexpr uint64_t kFailureDesc = ~0ull;  // a frame from rank 0 announcing the group failed
constexpr size_t kMaxFailureMessage = 1024;
constexpr size_t kChunkFloats = size_t(1) << 18;     // bounds rank 0's scratch per peer

struct Hello {
  uint64_t magic;
  uint32_t rank;
  uint32_t world_size;
};

/// Splits "host:port" or "[v6]:port".
void split_address(const std::string& address, std::string* host, std::string* port) {
  size_t colon;
  if (!address.empty() && address[0] == '[') {
    const size_t close = address.find(']');
    if (close == std::string::npos || close + 1 >= address.size() || address[close + 1] != ':')
      throw CollectiveError("tcp collective: bad address '" + address + "' (want [v6]:port)");
    *host = address.substr(1, close - 1);
    colon = close + 1;
  } else {
    colon = address.rfind(':');
    if (colon == std::string::npos || colon == 0) throw CollectiveError("tcp collective: bad address '" + address + "' (want host:port)");
    *host = address.substr(0, colon);
  }
  *port = address.substr(colon + 1);
  if (port->empty() || port->find_first_not_of("0123456789") != std::string::npos)
    throw CollectiveError("tcp collective: bad port in address '" + address + "'");
}

addrinfo* resolve(const std::string& address, bool passive, std::string* error) {
  std::string host, port;
  split_address(address, &host, &port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = passive ? AI_PASSIVE : 0;
  addrinfo* result = nullptr;
  const int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &result);
  if (rc != 0) {
    *error = "cannot resolve '" + address + "': " + gai_strerror(rc);
    return nullptr;
  }
  return result;
}

void set_nodelay(int fd) {
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

int remaining_ms(uint64_t deadline) {
  const uint64_t now = monotonic_ns();
  return now >= deadline ? 0 : int((deadline - now + kMs - 1) / kMs);
}

/// Moves exactly `bytes` over a non-blocking socket before `deadline`. Returns 0, ETIMEDOUT,
/// EPIPE (peer closed) or another errno.
int transfer(int fd, void* data, size_t bytes, bool sending, uint64_t deadline) {
  char* p = static_cast<char*>(data);
  const uint64_t spin_until = monotonic_ns() + kSpinNs;
  while (bytes > 0) {
    const ssize_t n = sending ? send(fd, p, bytes, MSG_NOSIGNAL) : recv(fd, p, bytes, 0);
    if (n > 0) {
      p += n;
      bytes -= size_t(n);
      continue;
    }
    if (n == 0) return EPIPE;
    if (errno == EINTR) continue;
    if (errno == ECONNRESET) return EPIPE;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return errno;
    // Small calls answer within microseconds: retrying briefly beats a sleep/wake in poll().
    // Yielding between retries hands the core over when ranks outnumber cores (tests).
    if (monotonic_ns() < spin_until) {
      sched_yield();
      continue;
    }
    pollfd pfd{fd, short(sending ? POLLOUT : POLLIN), 0};
    const int ms = remaining_ms(deadline);
    if (ms == 0) return ETIMEDOUT;
    if (poll(&pfd, 1, ms) < 0 && errno != EINTR) return errno;
  }
  return 0;
}

}  // namespace

TcpCollective::TcpCollective(const TcpCollectiveOptions& o)
    : rank_(o.rank), world_(o.world_size), timeout_ms_(o.timeout_ms), connect_timeout_ms_(o.connect_timeout_ms) {
  if (world_ < 1 || world_ > 1024) throw CollectiveError("tcp collective world size must be 1..1024, got " + std::to_string(world_));
  if (rank_ < 0 || rank_ >= world_)
    throw CollectiveError("tcp collective rank " + std::to_string(rank_) + " is outside 0.." + std::to_string(world_ - 1));
  if (timeout_ms_ <= 0 || connect_timeout_ms_ <= 0) throw CollectiveError("tcp collective timeouts must be positive");
  if (o.addresses.empty()) throw CollectiveError("tcp collective needs rank 0's address (addresses[0] = \"host:port\")");
  if (world_ == 1) return;
  const uint64_t deadline = monotonic_ns() + uint64_t(connect_timeout_ms_) * kMs;
  try {
    if (rank_ == 0)
      listen_and_accept(o.addresses[0], deadline);
    else
      connect_to_root(o.addresses[0], deadline);
  } catch (...) {
    close_sockets();
    throw;
  }
}

TcpCollective::~TcpCollective() { close_sockets(); }

void TcpCollective::close_sockets() {
  for (int& fd : sockets_) {
    if (fd >= 0) close(fd);
    fd = -1;
  }
}

void TcpCollective::listen_and_accept(const std::string& address, uint64_t deadline) {
  std::string error;
  addrinfo* ai = resolve(address, true, &error);
  if (ai == nullptr) throw CollectiveError("tcp collective rank 0: " + error);
  const int listener = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  const int one = 1;
  bool ok = listener >= 0 && setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0 &&
            bind(listener, ai->ai_addr, ai->ai_addrlen) == 0 && listen(listener, world_) == 0;
  const int err = errno;
  freeaddrinfo(ai);
  if (!ok) {
    if (listener >= 0) close(listener);
    throw CollectiveError("tcp collective rank 0: cannot listen on " + address + ": " + std::strerror(err));
  }
  sockets_.assign(size_t(world_), -1);
  try {
    for (int connected = 1; connected < world_;) {
      pollfd pfd{listener, POLLIN, 0};
      const int ms = remaining_ms(deadline);
      if (ms == 0 || poll(&pfd, 1, ms) == 0) {
        std::string missing;
        for (int r = 1; r < world_; ++r)
          if (sockets_[size_t(r)] < 0) missing += (missing.empty() ? "" : ", ") + std::to_string(r);
        throw CollectiveError("tcp collective rank 0 on " + address + ": ranks " + missing + " did not connect within " +
                                  std::to_string(connect_timeout_ms_) + " ms",
                              "ERR_COLLECTIVE_TIMEOUT");
      }
      const int fd = accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) continue;
      set_nodelay(fd);
      Hello hello{};
      // Something that is not a rank (or a rank that died while connecting) is dropped.
      if (transfer(fd, &hello, sizeof(hello), false, std::min(deadline, monotonic_ns() + uint64_t(timeout_ms_) * kMs)) != 0 ||
          hello.magic != kHelloMagic) {
        close(fd);
        continue;
      }
      const int r = int(hello.rank);
      if (int(hello.world_size) != world_ || r <= 0 || r >= world_ || sockets_[size_t(r)] >= 0) {
        close(fd);
        throw CollectiveError("tcp collective rank 0: a peer connected as rank " + std::to_string(r) + " of " +
                              std::to_string(hello.world_size) + ", expected a new rank in 1.." + std::to_string(world_ - 1) +
                              " of " + std::to_string(world_));
      }
      sockets_[size_t(r)] = fd;
      ++connected;
    }
  } catch (...) {
    close(listener);
    throw;
  }
  close(listener);
  const Hello welcome{kHelloMagic, 0, uint32_t(world_)};
  for (int r = 1; r < world_; ++r)
    if (transfer(sockets_[size_t(r)], const_cast<Hello*>(&welcome), sizeof(welcome), true, deadline) != 0)
      throw CollectiveError("tcp collective rank 0: rank " + std::to_string(r) + " went away while the group was forming",
                            "ERR_COLLECTIVE_PEER_LOST");
}

void TcpCollective::connect_to_root(const std::string& address, uint64_t deadline) {
  sockets_.assign(1, -1);
  std::string last_error = "no attempt";
  while (sockets_[0] < 0) {
    if (monotonic_ns() >= deadline)
      throw CollectiveError("tcp collective rank " + std::to_string(rank_) + ": cannot connect to rank 0 at " + address + " within " +
                                std::to_string(connect_timeout_ms_) + " ms (" + last_error + ")",
                            "ERR_COLLECTIVE_TIMEOUT");
    addrinfo* ai = resolve(address, false, &last_error);
    for (addrinfo* a = ai; a != nullptr && sockets_[0] < 0; a = a->ai_next) {
      const int fd = socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (fd < 0) continue;
      int err = connect(fd, a->ai_addr, a->ai_addrlen) == 0 ? 0 : errno;
      if (err == EINPROGRESS) {
        pollfd pfd{fd, POLLOUT, 0};
        socklen_t len = sizeof(err);
        if (poll(&pfd, 1, std::min(remaining_ms(deadline), 1000)) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0) {
        } else {
          err = ETIMEDOUT;
        }
      }
      if (err == 0) {
        sockets_[0] = fd;
      } else {
        last_error = std::strerror(err);
        close(fd);
      }
    }
    if (ai != nullptr) freeaddrinfo(ai);
    if (sockets_[0] < 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));  // rank 0 not listening yet
  }
  set_nodelay(sockets_[0]);
  Hello hello{kHelloMagic, uint32_t(rank_), uint32_t(world_)};
  Hello welcome{};
  if (transfer(sockets_[0], &hello, sizeof(hello), true, deadline) != 0 ||
      transfer(sockets_[0], &welcome, sizeof(welcome), false, deadline) != 0 || welcome.magic != kHelloMagic)
    throw CollectiveError("tcp collective rank " + std::to_string(rank_) + ": rank 0 at " + address +
                          " refused or dropped the connection while the group was forming (wrong world size or duplicate rank?)");
}

void TcpCollective::fail(const std::string& what, const char* code) {
  broken_ = true;
  const std::string message = "tcp collective rank " + std::to_string(rank_) + "/" + std::to_string(world_) + ": " + what;
  if (rank_ == 0) {
    // Live peers wait at a frame boundary: tell them why (best effort) before the sockets close.
    const size_t len = std::min(message.size(), kMaxFailureMessage);
    char buf[sizeof(Frame) + kMaxFailureMessage];
    const Frame frame{kFailureDesc, seq_, len};
    std::memcpy(buf, &frame, sizeof(frame));
    std::memcpy(buf + sizeof(frame), message.data(), len);
    for (int r = 1; r < world_; ++r)
      if (sockets_[size_t(r)] >= 0) send(sockets_[size_t(r)], buf, sizeof(frame) + len, MSG_DONTWAIT | MSG_NOSIGNAL);
  }
  close_sockets();  // peers see the connection drop and fail too
  throw CollectiveError(message, code);
}

void TcpCollective::begin(uint64_t desc) {
  if (broken_) throw CollectiveError("tcp collective rank " + std::to_string(rank_) + " is unusable after an earlier failure");
  desc_ = desc;
  ++seq_;
  deadline_ns_ = monotonic_ns() + uint64_t(timeout_ms_) * kMs;
}

void TcpCollective::send_all(int peer, const void* data, size_t bytes) {
  const int err = transfer(socket_of(peer), const_cast<void*>(data), bytes, true, deadline_ns_);
  if (err == 0) return;
  const std::string during = " during " + describe_op(desc_);
  if (err == ETIMEDOUT) fail("timed out after " + std::to_string(timeout_ms_) + " ms sending to rank " + std::to_string(peer) + during, "ERR_COLLECTIVE_TIMEOUT");
  if (err == EPIPE) fail("rank " + std::to_string(peer) + " closed the connection" + during + " (process exited or failed)", "ERR_COLLECTIVE_PEER_LOST");
  fail("send to rank " + std::to_string(peer) + " failed" + during + ": " + std::strerror(err), "ERR_COLLECTIVE_PEER_LOST");
}

void TcpCollective::recv_all(int peer, void* data, size_t bytes) {
  const int err = transfer(socket_of(peer), data, bytes, false, deadline_ns_);
  if (err == 0) return;
  const std::string during = " during " + describe_op(desc_);
  if (err == ETIMEDOUT) fail("timed out after " + std::to_string(timeout_ms_) + " ms waiting for rank " + std::to_string(peer) + during, "ERR_COLLECTIVE_TIMEOUT");
  if (err == EPIPE) fail("rank " + std::to_string(peer) + " closed the connection" + during + " (process exited or failed)", "ERR_COLLECTIVE_PEER_LOST");
  fail("receive from rank " + std::to_string(peer) + " failed" + during + ": " + std::strerror(err), "ERR_COLLECTIVE_PEER_LOST");
}

void TcpCollective::send_frame(int peer, const void* data, size_t bytes) {
  const Frame frame{desc_, seq_, bytes};
  if (bytes <= 64 * 1024) {  // one segment on the wire for the latency-bound small calls
    char buf[sizeof(Frame) + 64 * 1024];
    std::memcpy(buf, &frame, sizeof(frame));
    if (bytes > 0) std::memcpy(buf + sizeof(frame), data, bytes);
    send_all(peer, buf, sizeof(frame) + bytes);
    return;
  }
  send_all(peer, &frame, sizeof(frame));
  send_all(peer, data, bytes);
}

void TcpCollective::recv_frame(int peer, void* data, size_t bytes) {
  Frame frame{};
  recv_all(peer, &frame, sizeof(frame));
  if (frame.desc == kFailureDesc && rank_ != 0) {
    std::string why(std::min<uint64_t>(frame.bytes, kMaxFailureMessage), '\0');
    recv_all(peer, &why[0], why.size());
    fail("the group failed: " + why, "ERR_COLLECTIVE_PEER_LOST");
  }
  if (frame.desc != desc_ || frame.seq != seq_ || frame.bytes != bytes)
    fail("ranks disagree on the call: rank " + std::to_string(peer) + " sent " + describe_op(frame.desc) + " #" + std::to_string(frame.seq) +
             ", this rank is in " + describe_op(desc_) + " #" + std::to_string(seq_),
         "ERR_COLLECTIVE");
  if (bytes > 0) recv_all(peer, data, bytes);
}

void TcpCollective::all_reduce_sum(float* data, size_t count) {
  begin(op_descriptor(Op::kAllReduceSum, 0, count));
  collective_detail::WaitTimer timer(wait_ns_);
  if (world_ == 1) return;
  std::vector<const float*> src(static_cast<size_t>(world_));
  size_t off = 0;
  do {
    const size_t n = std::min(kChunkFloats, count - off);
    float* chunk = data + off;
    if (rank_ != 0) {
      send_frame(0, chunk, n * sizeof(float));
      recv_frame(0, chunk, n * sizeof(float));
    } else {
      scratch_.resize(size_t(world_ - 1) * kChunkFloats);
      src[0] = chunk;
      for (int r = 1; r < world_; ++r) {
        float* part = scratch_.data() + size_t(r - 1) * kChunkFloats;
        recv_frame(r, part, n * sizeof(float));
        src[size_t(r)] = part;
      }
      collective_detail::sum_in_rank_order(chunk, src.data(), world_, n);
      for (int r = 1; r < world_; ++r) send_frame(r, chunk, n * sizeof(float));
    }
    off += n;
  } while (off < count);
}

void TcpCollective::all_gather(const float* in, float* out, size_t count) {
  begin(op_descriptor(Op::kAllGather, 0, count));
  collective_detail::WaitTimer timer(wait_ns_);
  const size_t bytes = count * sizeof(float);
  if (rank_ != 0) {
    send_frame(0, in, bytes);
    recv_frame(0, out, bytes * size_t(world_));
    return;
  }
  if (bytes > 0) std::memmove(out, in, bytes);
  for (int r = 1; r < world_; ++r) recv_frame(r, out + size_t(r) * count, bytes);
  for (int r = 1; r < world_; ++r) send_frame(r, out, bytes * size_t(world_));
}

void TcpCollective::broadcast(void* data, size_t bytes, int root) {
  if (root < 0 || root >= world_)
    throw CollectiveError("broadcast root " + std::to_string(root) + " is outside 0.." + std::to_string(world_ - 1));
  begin(op_descriptor(Op::kBroadcast, root, bytes));
  collective_detail::WaitTimer timer(wait_ns_);
  if (rank_ == 0) {
    if (root != 0) recv_frame(root, data, bytes);
    for (int r = 1; r < world_; ++r)
      if (r != root) send_frame(r, data, bytes);
  } else if (rank_ == root) {
    send_frame(0, data, bytes);
  } else {
    recv_frame(0, data, bytes);
  }
}

void TcpCollective::barrier() {
  begin(op_descriptor(Op::kBarrier, 0, 0));
  collective_detail::WaitTimer timer(wait_ns_);
  if (rank_ != 0) {
    send_frame(0, nullptr, 0);
    recv_frame(0, nullptr, 0);
    return;
  }
  for (int r = 1; r < world_; ++r) recv_frame(r, nullptr, 0);
  for (int r = 1; r < world_; ++r) send_frame(r, nullptr, 0);
}

}  // namespace m2
