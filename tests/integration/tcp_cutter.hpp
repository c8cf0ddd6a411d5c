#pragma once
/// \file
/// TcpCutter: a loopback TCP relay in front of a real server that a test can
/// cut (connections in flight are dropped, new ones refused) and restore.
///
/// Why not just kill the server: s3rver 3.7.1 answers a PUT before its write
/// to disk has finished (filesystem.js resolves on the hashing stream's
/// 'finish', not the file's), so a SIGKILL can lose objects it acknowledged,
/// which no client can account for. Cutting the network first, letting the
/// server settle, then killing and restarting it, breaks the client's
/// requests for real while the server keeps what it acknowledged, as S3 does.

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "support/loopback.hpp"

namespace strata::testing {

class TcpCutter {
 public:
  explicit TcpCutter(int upstream_port) : upstream_port_(upstream_port) {
    if (::pipe(wake_) != 0) throw std::runtime_error("pipe failed");
    listen_fd_ = open_listener(0);
    thread_ = std::thread([this] { relay(); });
  }
  ~TcpCutter() {
    command(Command::stop);
    thread_.join();
    ::close(wake_[0]);
    ::close(wake_[1]);
  }
  TcpCutter(const TcpCutter&) = delete;
  TcpCutter& operator=(const TcpCutter&) = delete;

  int port() const noexcept { return port_; }
  /// Drops every relayed connection and refuses new ones.
  void cut() { command(Command::cut); }
  /// Accepts connections again, on the same port.
  void restore() { command(Command::restore); }

 private:
  enum class Command { none, cut, restore, stop };

  void command(Command c) {
    std::unique_lock lock(mutex_);
    pending_ = c;
    const char byte = 1;
    (void)::write(wake_[1], &byte, 1);
    done_.wait(lock, [&] { return pending_ == Command::none; });
  }

  int open_listener(int port) { return listen_on_loopback(port, port_); }

  void accept_one() {
    const int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) return;
    const int upstream = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const sockaddr_in addr = loopback_address(upstream_port_);
    if (::connect(upstream, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(upstream);
      ::close(client);  // the server is down: so is the relay
      return;
    }
    const int one = 1;
    ::setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ::setsockopt(upstream, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    pairs_.emplace_back(client, upstream);
  }

  void drop_all() {
    for (const auto& [a, b] : pairs_) {
      ::shutdown(a, SHUT_RDWR);
      ::close(a);
      ::close(b);
    }
    pairs_.clear();
  }

  /// Copies what `from` has to `to`; false when the connection is over.
  static bool forward(int from, int to) {
    char buffer[64 * 1024];
    const ssize_t n = ::recv(from, buffer, sizeof buffer, 0);
    if (n <= 0) return false;
    for (ssize_t sent = 0; sent < n;) {
      const ssize_t k = ::send(to, buffer + sent, static_cast<std::size_t>(n - sent), MSG_NOSIGNAL);
      if (k <= 0) return false;
      sent += k;
    }
    return true;
  }

  void relay() {
    for (;;) {
      std::vector<pollfd> fds{{wake_[0], POLLIN, 0}};
      if (listen_fd_ >= 0) fds.push_back({listen_fd_, POLLIN, 0});
      for (const auto& [a, b] : pairs_) {
        fds.push_back({a, POLLIN, 0});
        fds.push_back({b, POLLIN, 0});
      }
      const std::size_t polled = pairs_.size();
      if (::poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR) return;
      if (fds[0].revents != 0) {
        char byte;
        (void)::read(wake_[0], &byte, 1);
        std::lock_guard lock(mutex_);
        const Command c = std::exchange(pending_, Command::none);
        if (c == Command::cut || c == Command::stop) {
          if (listen_fd_ >= 0) ::close(std::exchange(listen_fd_, -1));
          drop_all();
        } else if (c == Command::restore && listen_fd_ < 0) {
          listen_fd_ = open_listener(port_);
        }
        done_.notify_all();
        if (c == Command::stop) return;
        continue;  // the fd set changed
      }
      std::size_t at = 1;
      if (listen_fd_ >= 0 && fds[at++].revents != 0) accept_one();
      std::vector<std::pair<int, int>> kept;
      for (std::size_t p = 0; p < polled; ++p, at += 2) {
        const auto [a, b] = pairs_[p];
        bool open = true;
        if (fds[at].revents != 0) open = forward(a, b);
        if (open && fds[at + 1].revents != 0) open = forward(b, a);
        if (open) {
          kept.emplace_back(a, b);
        } else {
          ::close(a);
          ::close(b);
        }
      }
      // A connection accepted this round was appended after the polled ones.
      for (std::size_t p = polled; p < pairs_.size(); ++p) kept.push_back(pairs_[p]);
      pairs_ = std::move(kept);
    }
  }

  int upstream_port_;
  int port_ = 0;
  int listen_fd_ = -1;
  int wake_[2]{-1, -1};
  std::vector<std::pair<int, int>> pairs_;
  std::mutex mutex_;
  std::condition_variable done_;
  Command pending_ = Command::none;
  std::thread thread_;
};

}  // namespace strata::testing
