// Must not compile: the cache policy lacks find.
#include <strata/strata.hpp>

struct NoFind {
  void put(std::string_view, std::string_view, std::optional<strata::TimePoint>) {}
  void erase(std::string_view) {}
  void clear() {}
  std::size_t size() const { return 0; }
};

int main() {
  strata::TieredStore<NoFind, strata::FixedRouter<strata::Tier::hot>, strata::MemoryRepository,
                      strata::NoTier, strata::NoTier>
      store;
  return store.set("k", "v") ? 1 : 0;
}
