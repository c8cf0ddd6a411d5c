#pragma once
/// \file
/// Where the integration tests find the Redis that scripts/servers.sh started
/// (127.0.0.1, STRATA_REDIS_PORT or 16379), and options for a repository on
/// it whose keys live under a namespace of their own, so tests running side by
/// side never see each other's keys.

#include <strata/backends/redis.hpp>

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace strata::testing {

inline int redis_port() {
  const char* port = std::getenv("STRATA_REDIS_PORT");
  return port ? std::atoi(port) : 16379;
}

inline RedisOptions redis_test_options(Clock clock = {}) {
  static std::atomic<int> next{0};
  RedisOptions options;
  options.port = redis_port();
  options.key_prefix =
      "strata-test:" + std::to_string(::getpid()) + ":" + std::to_string(next++) + ":";
  options.chunk_size = 1000;  // batches of 10k keys cross chunk boundaries
  options.clock = clock;
  return options;
}

/// The port of the servers a test runs itself (and may kill): not the shared one.
inline int kill_port() {
  const char* port = std::getenv("STRATA_REDIS_KILL_PORT");
  return port ? std::atoi(port) : 16380;
}

/// A redis-server child process this test owns.
class RedisProcess {
 public:
  /// `extra` arguments go to redis-server after the defaults (e.g. requirepass).
  explicit RedisProcess(std::filesystem::path dir, std::vector<std::string> extra = {})
      : dir_(std::move(dir)), extra_(std::move(extra)) {}
  ~RedisProcess() { kill9(); }

  void start() {
    const std::string port = std::to_string(kill_port());
    std::vector<std::string> args{
        "redis-server", "--bind", "127.0.0.1",    "--port",    port,
        "--save",       "",       "--appendonly", "yes",       "--appendfsync",
        "always",       "--dir",  dir_.string(),  "--logfile", (dir_ / "redis.log").string()};
    args.insert(args.end(), extra_.begin(), extra_.end());
    std::vector<char*> argv;
    for (auto& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    ASSERT_EQ(posix_spawnp(&pid_, "redis-server", nullptr, nullptr, argv.data(), environ), 0);
    for (int i = 0; i < 200; ++i) {
      if (ping()) return;
      std::this_thread::sleep_for(Millis{25});
    }
    FAIL() << "redis-server did not come up on 127.0.0.1:" << port;
  }

  void kill9() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  /// Sends `sig` to the server (SIGSTOP and SIGCONT pause and resume it).
  void signal(int sig) const {
    if (pid_ > 0) ::kill(pid_, sig);
  }

  long long dbsize() const {
    redisContext* c = redisConnect("127.0.0.1", kill_port());
    if (c != nullptr && c->err == 0 && !password_.empty()) {
      freeReplyObject(redisCommand(c, "AUTH %s", password_.c_str()));
    }
    long long n = -1;
    if (c != nullptr && c->err == 0) {
      if (auto* r = static_cast<redisReply*>(redisCommand(c, "DBSIZE"))) {
        if (r->type == REDIS_REPLY_INTEGER) n = r->integer;
        freeReplyObject(r);
      }
    }
    redisFree(c);
    return n;
  }

 private:
  bool ping() const { return dbsize() >= 0; }
  /// The password the process's own probes use (when started with requirepass).
 public:
  void probe_password(std::string password) { password_ = std::move(password); }

 private:
  std::string password_;

  std::filesystem::path dir_;
  std::vector<std::string> extra_;
  pid_t pid_ = -1;
};

}  // namespace strata::testing
