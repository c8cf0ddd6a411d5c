// Compile-time probe (scripts/bench.sh compile): one TieredStore over memory
// tiers, with the LRU cache and a prefix router, used once. It includes the
// headers it uses, as a user minding build times would; compiled with
// -DSTRATA_PROBE_UMBRELLA it includes strata/strata.hpp instead, the whole
// core (every cache, router and policy), and the script prints both.
#ifdef STRATA_PROBE_UMBRELLA
#include <strata/strata.hpp>
#else
#include <strata/backends/memory.hpp>
#include <strata/cache/lru_cache.hpp>
#include <strata/routing/prefix_router.hpp>
#include <strata/tiered_store.hpp>
#endif

using Router = strata::PrefixRouter<strata::Route<"hot:", strata::Tier::hot>,
                                    strata::Route<"cold:", strata::Tier::cold>,
                                    strata::Fallback<strata::Tier::warm>>;
using Store = strata::TieredStore<strata::LruCache<>, Router, strata::MemoryRepository,
                                  strata::MemoryRepository, strata::MemoryRepository>;

int main() {
  Store store;
  store.set("hot:k", "v");
  return store.get("hot:k").found() ? 0 : 1;
}
