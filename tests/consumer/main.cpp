// Built against an installed strata: composes a store and checks one batch
// round trip, exiting non-zero if anything is off.
#include <strata/strata.hpp>

#include <fmt/core.h>

int main() {
  using Store = strata::TieredStore<strata::LruCache<>, strata::FixedRouter<strata::Tier::hot>,
                                    strata::MemoryRepository, strata::NoTier, strata::NoTier>;
  Store store;
  const strata::BatchResult written = store.batch_set({{"a", "1"}, {"b", "2"}});
  const strata::LoadResult read = store.batch_get({"a", "b"});
  const bool ok = written.all_stored() && read[0].value == "1" && read[1].value == "2" &&
                  store.batch_delete({"a", "b"}).erased == 2;
  fmt::print("strata {}.{}.{} consumer: {}\n", STRATA_VERSION_MAJOR, STRATA_VERSION_MINOR,
             STRATA_VERSION_PATCH, ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}
