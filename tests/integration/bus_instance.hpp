#pragma once
/// \file
/// One "instance" of a service for the invalidation-bus tests: a store with
/// an LruCache over Redis (HOT, keys "r:...") and PostgreSQL (WARM, every
/// other key), and a RedisBus. The test process is one instance (the reader);
/// tests/integration/bus_writer.cpp is another, run as a separate process.

#include <strata/backends/postgres.hpp>
#include <strata/backends/redis.hpp>
#include <strata/backends/redis_bus.hpp>
#include <strata/strata.hpp>

#include <chrono>
#include <cstdint>
#include <string>

namespace strata::testing {

/// What every instance of one test shares: the servers, the namespace, the bound.
struct InstanceConfig {
  int redis_port = 0;
  std::string key_prefix;   ///< Redis key prefix (and bus channel) of this test
  std::string pg_conninfo;  ///< the shared PostgreSQL
  std::string pg_table;     ///< this test's table
  Millis max_staleness{1000};
};

using InstanceRoutes = PrefixRouter<Route<"r:", Tier::hot>, Fallback<Tier::warm>>;

template <class Bus>
using InstanceStore =
    TieredStore<LruCache<>, InstanceRoutes, RedisRepository, PostgresRepository, NoTier, Bus>;

inline RedisOptions instance_redis(const InstanceConfig& config) {
  RedisOptions options;
  options.port = config.redis_port;
  options.key_prefix = config.key_prefix;
  options.connect_timeout = Millis(500);
  options.command_timeout = Millis(1000);
  return options;
}

inline PostgresOptions instance_postgres(const InstanceConfig& config) {
  PostgresOptions options;
  options.conninfo = config.pg_conninfo;
  options.table = config.pg_table;
  return options;
}

inline RedisBusOptions instance_bus(const InstanceConfig& config) {
  RedisBusOptions options;
  options.server = instance_redis(config);
  options.max_staleness = config.max_staleness;
  options.heartbeat = Millis(200);
  return options;
}

/// A store of this instance, with `bus` (built from instance_bus(config)).
template <class Bus>
std::unique_ptr<InstanceStore<Bus>> make_instance(const InstanceConfig& config, Bus bus) {
  return std::make_unique<InstanceStore<Bus>>(
      StoreOptions{}, RedisRepository(instance_redis(config)),
      PostgresRepository(instance_postgres(config)), NoTier{},
      LruCache<>(LruOptions{.max_entries = 10'000}), InstanceRoutes{}, std::move(bus));
}

/// Nanoseconds on CLOCK_MONOTONIC, which every process on the machine shares:
/// a writer's confirmation and a reader's start compare across processes.
inline std::int64_t monotonic_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace strata::testing
