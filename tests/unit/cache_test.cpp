#include <strata/cache/lru_cache.hpp>
#include <strata/cache/no_cache.hpp>
#include <strata/core/concepts.hpp>

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace strata {
namespace {

static_assert(CachePolicy<LruCache<>>);
static_assert(CachePolicy<LruCache<OnWrite::invalidate>>);
static_assert(CachePolicy<NoCache>);
static_assert(LruCache<>::populate_on_write && !LruCache<OnWrite::invalidate>::populate_on_write);

const TimePoint now{Millis{1'000'000}};

TEST(LruCacheTest, EvictsTheLeastRecentlyUsedEntryAtEntryCapacity) {
  LruCache<> cache({.max_entries = 3, .max_bytes = 0, .shards = 1});
  cache.put("a", "1", std::nullopt);
  cache.put("b", "2", std::nullopt);
  cache.put("c", "3", std::nullopt);
  ASSERT_TRUE(cache.find("a", now));  // a is now the most recent
  cache.put("d", "4", std::nullopt);
  EXPECT_FALSE(cache.find("b", now));
  EXPECT_EQ(cache.find("a", now).value().value, "1");
  EXPECT_EQ(cache.find("d", now).value().value, "4");
  EXPECT_EQ(cache.size(), 3u);
}

TEST(LruCacheTest, BoundsKeyAndValueBytes) {
  LruCache<> cache({.max_entries = 0, .max_bytes = 10, .shards = 1});
  cache.put("k1", "1234", std::nullopt);  // 6 bytes
  cache.put("k2", "12", std::nullopt);    // 4 bytes: exactly full
  EXPECT_EQ(cache.bytes(), 10u);
  cache.put("k3", "1", std::nullopt);  // evicts k1
  EXPECT_FALSE(cache.find("k1", now));
  EXPECT_LE(cache.bytes(), 10u);
  cache.put("huge", std::string(64, 'x'), std::nullopt);  // larger than the cache: not cached
  EXPECT_FALSE(cache.find("huge", now));
  EXPECT_TRUE(cache.find("k3", now));
}

TEST(LruCacheTest, EntriesExpireAtTheirOwnTime) {
  LruCache<> cache;
  cache.put("short", "s", now + Millis{10});
  cache.put("forever", "f", std::nullopt);
  EXPECT_TRUE(cache.find("short", now + Millis{9}));
  EXPECT_FALSE(cache.find("short", now + Millis{10}));
  EXPECT_EQ(cache.size(), 1u);  // the expired entry was dropped on sight
  EXPECT_TRUE(cache.find("forever", now + Millis{1'000'000}));
}

TEST(LruCacheTest, PutReplacesEraseAndClearRemove) {
  LruCache<> cache;
  cache.put("k", "old", std::nullopt);
  cache.put("k", "new", std::nullopt);
  EXPECT_EQ(cache.find("k", now).value().value, "new");
  EXPECT_EQ(cache.bytes(), 4u);
  cache.erase("k");
  EXPECT_FALSE(cache.find("k", now));
  cache.put("a", "1", std::nullopt);
  cache.clear();
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(cache.bytes(), 0u);
}

TEST(LruCacheTest, ShardsServeThreadsWithoutLosingEntries) {
  LruCache<> cache({.max_entries = 0, .max_bytes = 0, .shards = 8});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&cache, t] {
      for (int i = 0; i < 2000; ++i) {
        const std::string key = std::to_string(t) + ":" + std::to_string(i);
        cache.put(key, key, std::nullopt);
        EXPECT_EQ(cache.find(key, now).value().value, key);
      }
    });
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(cache.size(), 8000u);
}

TEST(NoCacheTest, HoldsNothing) {
  NoCache cache;
  cache.put("k", "v", std::nullopt);
  EXPECT_FALSE(cache.find("k", now));
  EXPECT_EQ(cache.size(), 0u);
}

}  // namespace
}  // namespace strata
