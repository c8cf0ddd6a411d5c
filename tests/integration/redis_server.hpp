#pragma once
/// \file
/// Where the integration tests find the Redis that scripts/servers.sh started
/// (127.0.0.1, STRATA_REDIS_PORT or 16379), and options for a repository on
/// it whose keys live under a namespace of their own, so tests running side by
/// side never see each other's keys.

#include <strata/backends/redis.hpp>

#include <atomic>
#include <cstdlib>
#include <string>

#include <unistd.h>

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

}  // namespace strata::testing
