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
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include <pwd.h>
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
  options.chunk_size = 1000;       // batches of 10k keys cross chunk boundaries
  options.load_chunk_size = 1000;  // and so do loads
  options.copy_threshold = 500;    // and both write paths are exercised
  options.clock = clock;
  return options;
}

/// The port of the servers a test runs itself (and may stop): not the shared one.
inline int fault_port() {
  const char* port = std::getenv("STRATA_PG_FAULT_PORT");
  return port ? std::atoi(port) : 16433;
}

/// A throwaway PostgreSQL 15 cluster this test owns, on 127.0.0.1:fault_port(),
/// with the same database, user and password as the shared one. initdb and
/// the server refuse to run as root, so as root they run as the postgres user
/// (the directory is under /tmp, which that user can reach).
class PostgresProcess {
 public:
  PostgresProcess() {
    std::string pattern = "/tmp/strata-pg-fault-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = pattern;
    std::ofstream(dir_ / "pwfile") << postgres_password() << "\n";
    if (::geteuid() == 0) {
      const passwd* pw = ::getpwnam("postgres");
      if (pw == nullptr) throw std::runtime_error("no postgres user: install postgresql-15");
      for (const auto& path : {dir_, dir_ / "pwfile"})
        if (::chown(path.c_str(), pw->pw_uid, pw->pw_gid) != 0)
          throw std::runtime_error("chown failed");
    }
    run(bin("initdb") + " -D " + data() + " -U postgres --pwfile=" + (dir_ / "pwfile").string() +
        " --auth-host=scram-sha-256 --auth-local=trust -E UTF8 --locale=C.UTF-8 --no-sync" + " >" +
        (dir_ / "initdb.log").string() + " 2>&1");
  }
  ~PostgresProcess() {
    stop_immediately();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  PostgresProcess(const PostgresProcess&) = delete;
  PostgresProcess& operator=(const PostgresProcess&) = delete;

  void start() {
    run(bin("pg_ctl") + " -D " + data() + " -l " + (dir_ / "postgres.log").string() +
        " -w -t 30 -o '-c listen_addresses=127.0.0.1 -p " + std::to_string(fault_port()) + " -k " +
        dir_.string() + "' start >/dev/null");
    if (!created_) {
      run("psql -h " + dir_.string() + " -p " + std::to_string(fault_port()) +
          " -U postgres -d postgres -qc 'CREATE DATABASE strata' >/dev/null");
      created_ = true;
    }
  }
  /// pg_ctl -m immediate: every backend is killed at once, no checkpoint; the
  /// next start recovers from the WAL, as after a crash.
  void stop_immediately() {
    if (std::filesystem::exists(dir_ / "data" / "postmaster.pid"))
      (void)std::system(
          as_postgres(bin("pg_ctl") + " -D " + data() + " -m immediate -w stop >/dev/null 2>&1")
              .c_str());
  }
  std::string conninfo() const { return postgres_conninfo(fault_port()); }

 private:
  static std::string bin(const char* tool) {
    return std::string("/usr/lib/postgresql/15/bin/") + tool;
  }
  std::string data() const { return (dir_ / "data").string(); }
  static std::string as_postgres(const std::string& command) {
    return ::geteuid() == 0 ? "runuser -u postgres -- sh -c \"" + command + "\"" : command;
  }
  void run(const std::string& command) const {
    if (std::system(as_postgres(command).c_str()) != 0)
      throw std::runtime_error("failed: " + command + " (logs in " + dir_.string() + ")");
  }

  std::filesystem::path dir_;
  bool created_ = false;
};

}  // namespace strata::testing
