#pragma once
/// \file
/// The laws of the CachePolicy concept (core/concepts.hpp), on a cache alone
/// and under a TieredStore: a downstream cache is checked by
///
///     STRATA_CACHE_LAWS(Mine, MyCache);  // at namespace scope, once per cache
///
/// which runs the cache laws below over `MyCache{}` and every store law
/// (strata/testing/store_laws.hpp) over the in-memory stack with `MyCache` in
/// front of it, the concurrent coherence law included.

#include <strata/core/cached_value.hpp>
#include <strata/core/clock.hpp>
#include <strata/core/concepts.hpp>
#include <strata/testing/store_laws.hpp>

#include <gtest/gtest.h>

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace strata::testing {

/// The in-memory stack with `C` as its cache: the store laws over a cache policy.
template <class C>
struct MemoryBackendsWithCache : MemoryBackends {
  using Cache = C;  ///< the cache under test
};

/// The cache laws' fixture: a default-constructed `C` and a manual clock.
template <class C>
class CacheLaws : public ::testing::Test {
 protected:
  static_assert(CachePolicy<C>, "the type does not model strata::CachePolicy");
  ManualClock clock_;  ///< the time the laws pass to find()
  C cache_{};          ///< the cache under test
};

TYPED_TEST_SUITE_P(CacheLaws);

TYPED_TEST_P(CacheLaws, AnEntryIsFoundWithItsTagUntilItExpires) {
  const TimePoint now = this->clock_.now();
  this->cache_.put("k", "value", now + Millis{100}, 7);
  this->cache_.put("forever", "v", std::nullopt, 0);
  EXPECT_EQ(this->cache_.find("k", now), (CachedValue{"value", 7}));
  EXPECT_EQ(this->cache_.find("k", now + Millis{99}), (CachedValue{"value", 7}));
  EXPECT_EQ(this->cache_.find("k", now + Millis{100}), std::nullopt) << "found at its expiry";
  EXPECT_EQ(this->cache_.find("forever", now + Millis{1'000'000}), (CachedValue{"v", 0}));
  EXPECT_EQ(this->cache_.find("never-put", now), std::nullopt);
}

TYPED_TEST_P(CacheLaws, APutReplacesTheEntry) {
  const TimePoint now = this->clock_.now();
  this->cache_.put("k", "old", std::nullopt, 1);
  this->cache_.put("k", "new", std::nullopt, 2);
  EXPECT_EQ(this->cache_.find("k", now), (CachedValue{"new", 2}));
  EXPECT_EQ(this->cache_.size(), 1u);
}

TYPED_TEST_P(CacheLaws, EraseAndClearLeaveNothingBehind) {
  const TimePoint now = this->clock_.now();
  for (int i = 0; i < 10; ++i) this->cache_.put("k" + std::to_string(i), "v", std::nullopt, 0);
  this->cache_.erase("k3");
  EXPECT_EQ(this->cache_.find("k3", now), std::nullopt) << "an erased entry is still found";
  EXPECT_EQ(this->cache_.size(), 9u);
  this->cache_.erase("k3");  // erasing what is not there is harmless
  this->cache_.erase("never-put");
  EXPECT_EQ(this->cache_.size(), 9u);
  this->cache_.clear();
  EXPECT_EQ(this->cache_.size(), 0u);
  for (int i = 0; i < 10; ++i)
    EXPECT_EQ(this->cache_.find("k" + std::to_string(i), now), std::nullopt) << i;
}

TYPED_TEST_P(CacheLaws, ABatchEraseDropsEveryKeyItIsGivenAndNoOther) {
  // What a batch write does to the keys it writes: erase_many when the cache
  // has one, otherwise one erase per key.
  const TimePoint now = this->clock_.now();
  std::vector<std::string> keys;
  keys.reserve(100);
  for (int i = 0; i < 100; ++i) keys.push_back("k" + std::to_string(i));
  for (const std::string& key : keys) this->cache_.put(key, "v", std::nullopt, 0);
  std::vector<std::string_view> erased(keys.begin(), keys.begin() + 60);
  erased.push_back(keys[5]);      // twice
  erased.push_back("never-put");  // harmless
  detail::erase_from_cache(this->cache_, std::span<const std::string_view>(erased));
  for (int i = 0; i < 100; ++i) {
    if (i < 60)
      EXPECT_EQ(this->cache_.find(keys[i], now), std::nullopt) << keys[i] << " is still found";
    else
      EXPECT_EQ(this->cache_.find(keys[i], now), (CachedValue{"v", 0})) << keys[i] << " is gone";
  }
  EXPECT_EQ(this->cache_.size(), 40u);

  // One entry left, named among many keys that are not cached: it goes too.
  this->cache_.clear();
  this->cache_.put(keys[99], "v", std::nullopt, 0);
  std::vector<std::string_view> batch(keys.begin(), keys.end());
  detail::erase_from_cache(this->cache_, std::span<const std::string_view>(batch));
  EXPECT_EQ(this->cache_.find(keys[99], now), std::nullopt);
  EXPECT_EQ(this->cache_.size(), 0u);
}

REGISTER_TYPED_TEST_SUITE_P(CacheLaws, AnEntryIsFoundWithItsTagUntilItExpires, APutReplacesTheEntry,
                            EraseAndClearLeaveNothingBehind,
                            ABatchEraseDropsEveryKeyItIsGivenAndNoOther);
// Including this header without instantiating the family is no error.
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(CacheLaws);

}  // namespace strata::testing

/// Instantiates the cache laws over one cache type (default-constructed) and the
/// store laws over the in-memory stack in front of which it sits.
#define STRATA_CACHE_LAWS(prefix, ...)                     \
  STRATA_INSTANTIATE_LAWS(CacheLaws, prefix, __VA_ARGS__); \
  STRATA_INSTANTIATE_LAWS(StoreLaws, prefix, MemoryBackendsWithCache<__VA_ARGS__>)
