// Compile-time probe (scripts/bench.sh compile): one TieredStore over memory
// tiers, with the LRU cache and a prefix router, used once.
#include <strata/strata.hpp>

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
