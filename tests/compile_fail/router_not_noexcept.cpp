// Must not compile: a router's call operator must be noexcept and return Tier.
#include <strata/strata.hpp>

struct Throwing {
  strata::Tier operator()(std::string_view) const { return strata::Tier::hot; }
};

int main() {
  strata::TieredStore<strata::NoCache, Throwing, strata::MemoryRepository, strata::NoTier,
                      strata::NoTier>
      store;
  return store.set("k", "v") ? 1 : 0;
}
