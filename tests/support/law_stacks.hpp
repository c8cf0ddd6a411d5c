#pragma once
/// \file
/// The stacks the law tests run over. Each Backends type names the three
/// repositories and makes them against a given clock; a backend issue adds its
/// own Backends type (e.g. Redis as HOT) to the list in laws_test.cpp, and
/// every law then holds for it too.

#include <strata/backends/filesystem.hpp>
#include <strata/backends/sqlite.hpp>
#include <strata/strata.hpp>

#include "fault_injecting.hpp"
#include "temp_dir.hpp"

#include <string>

namespace strata::testing {

struct MemoryBackends {
  static constexpr const char* name = "memory";
  using Hot = MemoryRepository;
  using Warm = MemoryRepository;
  using Cold = MemoryRepository;
  static Hot make_hot(Clock clock) { return Hot(MemoryOptions{.shards = 4, .clock = clock}); }
  static Warm make_warm(Clock clock) { return Warm(MemoryOptions{.shards = 4, .clock = clock}); }
  static Cold make_cold(Clock clock) { return Cold(MemoryOptions{.shards = 4, .clock = clock}); }
};

/// The embedded default's tiers: memory, SQLite, filesystem, each in a fresh
/// directory. Durability is left on: the laws hold for the real thing.
struct EmbeddedBackends : MemoryBackends {  // HOT stays in memory
  static constexpr const char* name = "embedded";
  using Warm = SqliteRepository;
  using Cold = FilesystemRepository;
  static Warm make_warm(Clock clock) {
    return Warm(SqliteOptions{.path = fresh_dir() / "warm.sqlite3", .clock = clock});
  }
  static Cold make_cold(Clock clock) {
    return Cold(FilesystemOptions{.root = fresh_dir() / "cold", .clock = clock});
  }
};

/// Keys "hot:..." live in HOT, "cold:..." in COLD, everything else in WARM.
using LawRouter =
    PrefixRouter<Route<"hot:", Tier::hot>, Route<"cold:", Tier::cold>, Fallback<Tier::warm>>;

/// The stack's invalidation bus: Backends::Bus when it names one, else NoBus.
template <class Backends>
struct law_bus {
  using type = NoBus;
  static NoBus make(const typename Backends::Hot&) { return {}; }
};
template <class Backends>
requires requires { typename Backends::Bus; }
struct law_bus<Backends> {
  using type = typename Backends::Bus;
  static type make(const typename Backends::Hot& hot) { return Backends::make_bus(hot); }
};

// The cache the laws run over: the stack's own `Cache` when it names one.
template <class Backends>
struct law_cache {
  using type = LruCache<>;
};
template <class Backends>
requires requires { typename Backends::Cache; }
struct law_cache<Backends> {
  using type = typename Backends::Cache;
};

template <class Backends, class Cache = typename law_cache<Backends>::type>
using LawStore =
    TieredStore<Cache, LawRouter, FaultInjecting<typename Backends::Hot>,
                FaultInjecting<typename Backends::Warm>, FaultInjecting<typename Backends::Cold>,
                typename law_bus<Backends>::type>;

template <class Backends, class Cache = typename law_cache<Backends>::type>
LawStore<Backends, Cache> make_law_store(Clock clock, StoreOptions options = {}) {
  options.clock = clock;
  using Store = LawStore<Backends, Cache>;
  typename Backends::Hot hot = Backends::make_hot(clock);
  auto bus = law_bus<Backends>::make(hot);  // made for the HOT tier (its Redis, its prefix)
  return Store(options, FaultInjecting<typename Backends::Hot>(std::move(hot)),
               FaultInjecting<typename Backends::Warm>(Backends::make_warm(clock)),
               FaultInjecting<typename Backends::Cold>(Backends::make_cold(clock)), Cache{},
               LawRouter{}, std::move(bus));
}

}  // namespace strata::testing
