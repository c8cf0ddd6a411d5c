// Composes a store from the components this package links (core: the memory
// tier and the LRU cache; sqlite: the WARM tier), writes a batch, reads it
// back, and exits non-zero if anything did not round-trip.
#include <strata/backends/sqlite.hpp>
#include <strata/strata.hpp>

#include <cstdio>
#include <filesystem>

int main() {
  using namespace strata;
  const auto path = std::filesystem::temp_directory_path() / "strata-test-package.sqlite3";
  std::filesystem::remove(path);
  using Store =
      TieredStore<LruCache<>, PrefixRouter<Route<"hot:", Tier::hot>, Fallback<Tier::warm>>,
                  MemoryRepository, SqliteRepository, NoTier>;
  Store store(StoreOptions{}, MemoryRepository{}, SqliteRepository(SqliteOptions{.path = path}));
  const BatchResult written = store.batch_set({{"hot:a", "1"}, {"warm:b", "2"}});
  const LoadResult read = store.batch_get({"hot:a", "warm:b"});
  const bool ok = written.all_stored() && read[0].value == "1" && read[1].value == "2";
  std::printf("strata %d.%d.%d: %s\n", STRATA_VERSION_MAJOR, STRATA_VERSION_MINOR,
              STRATA_VERSION_PATCH, ok ? "ok" : "FAILED");
  std::filesystem::remove(path);
  return ok ? 0 : 1;
}
