// The first strata program: compose a store, write a batch, read what was
// stored, delete it. Runs with no servers: every tier is in memory.
#include <strata/strata.hpp>

#include <fmt/core.h>

int main() {
  using namespace strata;
  using Store = TieredStore<LruCache<>,  // in-process cache
                            PrefixRouter<Route<"pos:", Tier::hot>, Fallback<Tier::warm>>,
                            MemoryRepository, MemoryRepository, NoTier>;  // HOT, WARM, no COLD
  Store store;

  const BatchResult written = store.batch_set({
      {"pos:AAPL", "100"},
      {"pos:MSFT", "-20", Millis{60'000}},  // expires in a minute
      {"fills:2024-01-02", "[...]"},        // no route matches: WARM
      {"bad key", "rejected alone"},        // spaces are not allowed in keys
  });
  fmt::print("stored {} of {}\n", written.stored_count(), written.size());
  for (const Failure& failure : written.failures())
    fmt::print("  {} failed: {}\n", failure.key, failure.error.message());

  const LoadResult read = store.batch_get({"pos:AAPL", "pos:MSFT", "pos:TSLA"});
  for (const Lookup& lookup : read)
    fmt::print("  {}\n", lookup.found()    ? lookup.value
                         : lookup.failed() ? lookup.error.message()
                                           : "absent");

  const DeleteResult deleted = store.batch_delete({"pos:AAPL", "pos:MSFT", "fills:2024-01-02"});
  fmt::print("deleted {}\n{}\n", deleted.erased, store.stats());
  return deleted.ok() ? 0 : 1;
}
