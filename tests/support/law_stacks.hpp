#pragma once
/// \file
/// The project's own stacks for the store laws beyond the kit's
/// MemoryBackends (strata/testing/law_stack.hpp): the embedded default.

#include <strata/backends/filesystem.hpp>
#include <strata/backends/sqlite.hpp>
#include <strata/strata.hpp>

#include <strata/testing/law_stack.hpp>
#include "temp_dir.hpp"

#include <string>

namespace strata::testing {

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

}  // namespace strata::testing
