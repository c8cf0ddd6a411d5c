#pragma once
/// \file
/// Where the integration tests find the PostgreSQL that scripts/servers.sh
/// started (127.0.0.1, STRATA_PG_PORT or 16432, password STRATA_PG_PASSWORD or
/// "strata-test"), and options for a repository on a table of its own, so
/// tests running side by side never see each other's rows.

#include <strata/backends/postgres.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <string>

#include <unistd.h>

namespace strata::testing {

inline int postgres_port() {
  const char* port = std::getenv("STRATA_PG_PORT");
  return port ? std::atoi(port) : 16432;
}

inline std::string postgres_password() {
  const char* password = std::getenv("STRATA_PG_PASSWORD");
  return password ? password : "strata-test";
}

inline std::string postgres_conninfo(int port = postgres_port(),
                                     const std::string& password = postgres_password()) {
  return "host=127.0.0.1 port=" + std::to_string(port) +
         " dbname=strata user=postgres password=" + password;
}

/// A table name no other test (or test process) uses.
inline std::string fresh_table() {
  static std::atomic<int> next{0};
  return "t_" + std::to_string(::getpid()) + "_" + std::to_string(next++);
}

inline PostgresOptions postgres_test_options(Clock clock = {}) {
  PostgresOptions options;
  options.conninfo = postgres_conninfo();
  options.table = fresh_table();
  options.chunk_size = 1000;     // batches of 10k keys cross chunk boundaries
  options.copy_threshold = 500;  // and both write paths are exercised
  options.clock = clock;
  return options;
}

}  // namespace strata::testing
