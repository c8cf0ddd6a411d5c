#pragma once
/// \file
/// The embedded default: durable tiered storage from one include and one
/// directory, no server.
///
///     auto store = strata::open_embedded_store("/var/lib/myapp/state");
///
/// HOT is in memory (MemoryRepository: gone with the process, like a Redis
/// without persistence), WARM is SQLite (`<dir>/warm.sqlite3`), COLD is the
/// filesystem (`<dir>/cold/`), and an LRU cache sits in front. Keys starting
/// with "hot:" live in HOT, "cold:" in COLD, everything else in WARM; pass
/// another router to change that. Requires the strata::sqlite CMake component.

#include "strata/backends/filesystem.hpp"
#include "strata/backends/memory.hpp"
#include "strata/backends/sqlite.hpp"
#include "strata/cache/lru_cache.hpp"
#include "strata/core/config.hpp"
#include "strata/core/error.hpp"
#include "strata/core/store_types.hpp"
#include "strata/routing/prefix_router.hpp"
#include "strata/tiered_store.hpp"

#include <filesystem>    // std::filesystem::path
#include <system_error>  // std::error_code

STRATA_BEGIN_NAMESPACE

/// The embedded stack's default routing: keys starting "hot:" go to HOT, "cold:" to COLD,
/// everything else to WARM.
using EmbeddedRouter =
    PrefixRouter<Route<"hot:", Tier::hot>, Route<"cold:", Tier::cold>, Fallback<Tier::warm>>;

/// The store that needs no server: an LRU cache, HOT in memory, WARM in SQLite, COLD in files. Made
/// by open_embedded_store.
template <class Router = EmbeddedRouter>
using EmbeddedStore =
    TieredStore<LruCache<>, Router, MemoryRepository, SqliteRepository, FilesystemRepository>;

/// What open_embedded_store builds the embedded stack with.
struct EmbeddedOptions {
  StoreOptions store{};  ///< its clock is handed to every tier
  LruOptions cache{};    ///< the LRU cache's capacities
  /// Durability of WARM and COLD: fsync every commit and every object. false
  /// survives a process crash but not a power loss, for many times the rate.
  bool durable = true;
};

/// Opens (creating if needed) the embedded stack rooted at `dir`. Throws
/// strata::Error when the directory or the database cannot be opened.
template <class Router = EmbeddedRouter>
EmbeddedStore<Router> open_embedded_store(const std::filesystem::path& dir,
                                          EmbeddedOptions options = {}, Router router = {}) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    throw Error("strata::open_embedded_store: cannot create '" + dir.string() +
                "': " + ec.message());
  const Clock clock = options.store.clock;
  return EmbeddedStore<Router>(
      options.store, MemoryRepository(MemoryOptions{.shards = 16, .clock = clock}),
      SqliteRepository(SqliteOptions{
          .path = dir / "warm.sqlite3", .clock = clock, .sync_every_commit = options.durable}),
      FilesystemRepository(
          FilesystemOptions{.root = dir / "cold", .clock = clock, .fsync = options.durable}),
      LruCache<>(options.cache), std::move(router));
}

STRATA_END_NAMESPACE
