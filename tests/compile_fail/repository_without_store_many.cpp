// Must not compile: the HOT repository lacks store_many. ctest checks that the
// compiler's message names the missing member.
#include <strata/strata.hpp>

struct NoStoreMany {
  static constexpr bool atomic_batches = true;
  strata::LoadResult load_many(std::span<const std::string_view> keys) {
    return strata::LoadResult(keys.size());
  }
  std::size_t erase_many(std::span<const std::string_view>) { return 0; }
};

int main() {
  strata::TieredStore<strata::NoCache, strata::FixedRouter<strata::Tier::hot>, NoStoreMany,
                      strata::NoTier, strata::NoTier>
      store;
  return store.set("k", "v") ? 1 : 0;
}
