#pragma once
/// \file
/// detail::peek_liveness: whether an idle client socket is still usable,
/// asked of the kernel without a round trip. A pooled connection that sat
/// idle is checked before reuse; a ping costs a round trip (~50-80 us on
/// loopback, more on a network) on every checkout after an idle second. The
/// kernel already knows when the server closed or reset the connection: a
/// non-blocking MSG_PEEK reads that without consuming anything.

#include "strata/core/config.hpp"

#include <cerrno>  // errno, EAGAIN, EWOULDBLOCK, EINTR

#include <sys/socket.h>  // recv, MSG_PEEK, MSG_DONTWAIT

STRATA_BEGIN_NAMESPACE
namespace detail {

/// What a peek at an idle connection's socket says.
enum class SocketLiveness {
  alive,   ///< open, nothing pending: a request-response connection at rest
  closed,  ///< the server closed or reset it (or it is not a socket): do not reuse
  unsure,  ///< bytes are pending on a connection that should be silent: ask the server
};

/// Peeks at `fd` without blocking and without consuming a byte. A
/// request-response protocol at rest has nothing to read, so pending bytes
/// (PostgreSQL's notice before it terminates a backend, say) are for the
/// caller's protocol to judge, usually by a ping.
inline SocketLiveness peek_liveness(int fd) noexcept {
  if (fd < 0) return SocketLiveness::closed;
  char byte;
  for (;;) {
    const ssize_t n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n > 0) return SocketLiveness::unsure;
    if (n == 0) return SocketLiveness::closed;  // orderly shutdown by the server
    if (errno == EINTR) continue;
    return errno == EAGAIN || errno == EWOULDBLOCK ? SocketLiveness::alive : SocketLiveness::closed;
  }
}

/// The health check of a pooled request-response connection on socket `fd`:
/// the peek's verdict, and `ping()` (a round trip) only when it is unsure.
template <class Ping>
bool idle_connection_usable(int fd, Ping ping) {
  switch (peek_liveness(fd)) {
    case SocketLiveness::alive:
      return true;
    case SocketLiveness::closed:
      return false;
    case SocketLiveness::unsure:
      break;
  }
  return ping();
}

}  // namespace detail
STRATA_END_NAMESPACE
