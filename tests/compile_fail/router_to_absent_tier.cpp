// Must not compile: the router can send keys to COLD, which this store lacks.
#include <strata/strata.hpp>

int main() {
  using Routes = strata::PrefixRouter<strata::Route<"old:", strata::Tier::cold>,
                                      strata::Fallback<strata::Tier::hot>>;
  strata::TieredStore<strata::NoCache, Routes, strata::MemoryRepository, strata::NoTier,
                      strata::NoTier>
      store;
  return store.set("k", "v") ? 1 : 0;
}
