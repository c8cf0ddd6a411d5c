#include <strata/cache/coherence.hpp>
#include <strata/cache/frequency_sketch.hpp>
#include <strata/cache/lru_cache.hpp>
#include <strata/cache/no_cache.hpp>
#include <strata/cache/read_mostly_mutex.hpp>
#include <strata/cache/s3fifo_cache.hpp>
#include <strata/cache/tinylfu_cache.hpp>
#include <strata/core/concepts.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <random>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

namespace strata {
namespace {

static_assert(CachePolicy<LruCache<>>);
static_assert(CachePolicy<LruCache<OnWrite::invalidate>>);
static_assert(CachePolicy<NoCache>);
static_assert(CachePolicy<S3FifoCache<>>);
static_assert(CachePolicy<S3FifoCache<OnWrite::invalidate>>);
static_assert(S3FifoCache<>::populate_on_write &&
              !S3FifoCache<OnWrite::invalidate>::populate_on_write);
static_assert(LruCache<>::populate_on_write && !LruCache<OnWrite::invalidate>::populate_on_write);
static_assert(CachePolicy<TinyLfuCache<>>);
static_assert(CachePolicy<TinyLfuCache<OnWrite::invalidate>>);
static_assert(TinyLfuCache<>::populate_on_write &&
              !TinyLfuCache<OnWrite::invalidate>::populate_on_write);

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
  EXPECT_EQ(cache.evictions(), 1u);
  cache.erase("k2");  // an erase is no eviction
  EXPECT_EQ(cache.evictions(), 1u);
  cache.put("huge", std::string(64, 'x'), std::nullopt);  // larger than the cache: not cached
  EXPECT_FALSE(cache.find("huge", now));
  EXPECT_TRUE(cache.find("k3", now));
}

// ---- S3FifoCache ----------------------------------------------------------------

std::string numbered(const char* prefix, int i) { return prefix + std::to_string(i); }

TEST(S3FifoCacheTest, AOnePassScanLeavesTheKeysReadAgainInPlaceWhereLruLosesThem) {
  S3FifoCache<> fifo({.max_entries = 100, .max_bytes = 0, .shards = 1});
  LruCache<> lru({.max_entries = 100, .max_bytes = 0, .shards = 1});
  for (int i = 0; i < 50; ++i) {
    fifo.put(numbered("hot", i), "v", std::nullopt);
    lru.put(numbered("hot", i), "v", std::nullopt);
  }
  for (int round = 0; round < 2; ++round)
    for (int i = 0; i < 50; ++i) {
      ASSERT_TRUE(fifo.find(numbered("hot", i), now));
      ASSERT_TRUE(lru.find(numbered("hot", i), now));
    }
  for (int i = 0; i < 1000; ++i) {  // each scanned key written once, never read
    fifo.put(numbered("scan", i), "v", std::nullopt);
    lru.put(numbered("scan", i), "v", std::nullopt);
  }
  int fifo_kept = 0, lru_kept = 0;
  for (int i = 0; i < 50; ++i) {
    fifo_kept += fifo.find(numbered("hot", i), now).has_value();
    lru_kept += lru.find(numbered("hot", i), now).has_value();
  }
  EXPECT_EQ(fifo_kept, 50);
  EXPECT_EQ(lru_kept, 0);
  EXPECT_EQ(fifo.size(), 100u);
}

TEST(S3FifoCacheTest, AKeyBackSoonAfterItsEvictionSkipsProbation) {
  S3FifoCache<> cache({.max_entries = 20, .max_bytes = 0, .shards = 1});  // probation: 2
  cache.put("ghost", "v", std::nullopt);
  for (int i = 0; i < 25; ++i) cache.put(numbered("pass", i), "v", std::nullopt);
  ASSERT_FALSE(cache.find("ghost", now));  // the oldest probationer, unread: evicted
  cache.put("ghost", "v", std::nullopt);   // evicted unread: its hash is a ghost, so main
  for (int i = 0; i < 200; ++i) cache.put(numbered("scan", i), "v", std::nullopt);
  EXPECT_TRUE(cache.find("ghost", now));
  EXPECT_FALSE(cache.find("pass0", now));
}

// ---- TinyLfuCache ---------------------------------------------------------------

// The sketch's three promises: an estimate never falls below the key's
// count since the last halving (a count-min sketch overcounts, never
// under), a halving halves every count, and clear forgets them all.
TEST(FrequencySketchTest, EstimatesNeverUndercountAndAreMostlyExact) {
  detail::FrequencySketch sketch(1024);  // 10240 increments to the first halving
  const auto count = [](int i) { return static_cast<unsigned>(i % 7) + 1; };  // 4000 in all
  for (int i = 0; i < 1000; ++i)
    for (unsigned n = 0; n < count(i); ++n) sketch.increment(detail::key_hash(numbered("k", i)));
  int exact = 0;
  for (int i = 0; i < 1000; ++i) {
    const unsigned estimate = sketch.estimate(detail::key_hash(numbered("k", i)));
    EXPECT_GE(estimate, count(i)) << i;
    exact += estimate == count(i);
  }
  EXPECT_GE(exact, 900);  // four rows of 1024 counters for 1000 keys
}

TEST(FrequencySketchTest, AHalvingHalvesEveryCountAndClearForgetsThem) {
  detail::FrequencySketch sketch(64);  // 640 increments to the first halving
  const std::uint64_t hot = detail::key_hash("hot");
  for (int n = 0; n < 20; ++n) sketch.increment(hot);  // counted up to the cap only
  ASSERT_EQ(sketch.estimate(hot), 15u);
  int others = 0;
  while (sketch.estimate(hot) == 15 && others < 1000)
    sketch.increment(detail::key_hash(numbered("k", others++)));
  EXPECT_LE(others, 640 - 15);          // the halving came no later than its period
  EXPECT_EQ(sketch.estimate(hot), 7u);  // 15 halved, the last increment not its own
  sketch.clear();
  EXPECT_EQ(sketch.estimate(hot), 0u);
  EXPECT_EQ(sketch.estimate(detail::key_hash("k0")), 0u);
}

// One shard of 10 entries, a window of 1.
TinyLfuCache<> small_tinylfu() {
  return TinyLfuCache<>({.max_entries = 10, .max_bytes = 0, .shards = 1, .window_percent = 10});
}

TEST(TinyLfuCacheTest, KeysSeenOnceDoNotDisplaceKeysMissedMoreOftenEvenUnread) {
  TinyLfuCache<> tiny = small_tinylfu();
  LruCache<> lru({.max_entries = 10, .max_bytes = 0, .shards = 1});
  for (int i = 0; i < 10; ++i) {
    for (int miss = 0; miss < 3; ++miss) {  // missed three times (an erase keeps the count)
      tiny.erase(numbered("held", i));
      tiny.put(numbered("held", i), "v", std::nullopt);
    }
    lru.put(numbered("held", i), "v", std::nullopt);
  }
  // Thirty keys, each written once and never read: three times the capacity,
  // and few enough that the sketch neither ages (it halves its counts every
  // 640 misses at this size) nor confuses them with the held keys.
  for (int i = 0; i < 30; ++i) {
    tiny.put(numbered("scan", i), "v", std::nullopt);
    lru.put(numbered("scan", i), "v", std::nullopt);
  }
  // held9, still in the window, tied main's victim and left; main kept the
  // other nine, and the window holds the newest scanned key.
  int tiny_kept = 0, lru_kept = 0;
  for (int i = 0; i < 10; ++i) {
    tiny_kept += tiny.find(numbered("held", i), now).has_value();
    lru_kept += lru.find(numbered("held", i), now).has_value();
  }
  EXPECT_EQ(tiny_kept, 9);
  EXPECT_FALSE(tiny.find("held9", now));
  EXPECT_EQ(lru_kept, 0);
  EXPECT_TRUE(tiny.find("scan29", now));
  EXPECT_EQ(tiny.size(), 10u);
}

TEST(TinyLfuCacheTest, AKeyMissedMoreOftenThanMainsNextVictimTakesItsPlace) {
  TinyLfuCache<> cache = small_tinylfu();
  for (int i = 0; i < 10; ++i) cache.put(numbered("held", i), "v", std::nullopt);
  // Main: held0..held8, each missed once; held0 is its next victim.
  for (int miss = 0; miss < 2; ++miss) {  // missed twice (an erase forgets the entry, not the miss)
    cache.put("popular", "v", std::nullopt);
    cache.erase("popular");
  }
  cache.put("popular", "v", std::nullopt);  // the third miss; held9 lost its turn to it
  EXPECT_FALSE(cache.find("held9", now));
  cache.put("next", "v", std::nullopt);  // popular leaves the window: 3 misses beat held0's 1
  EXPECT_TRUE(cache.find("popular", now));
  EXPECT_FALSE(cache.find("held0", now));
  EXPECT_TRUE(cache.find("held1", now));
  EXPECT_EQ(cache.size(), 10u);
}

TEST(TinyLfuCacheTest, ClearForgetsHowOftenKeysWereMissed) {
  TinyLfuCache<> cache = small_tinylfu();
  for (int miss = 0; miss < 3; ++miss) {
    cache.put("popular", "v", std::nullopt);
    cache.erase("popular");
  }
  cache.clear();
  for (int i = 0; i < 10; ++i) cache.put(numbered("held", i), "v", std::nullopt);
  cache.put("popular", "v", std::nullopt);
  cache.put("next", "v", std::nullopt);  // popular, now seen once, ties held0 and loses
  EXPECT_FALSE(cache.find("popular", now));
  EXPECT_TRUE(cache.find("held0", now));
}

// ---- what every cache promises -------------------------------------------------

template <class Cache>
class EveryCache : public ::testing::Test {};
using Caches = ::testing::Types<LruCache<>, S3FifoCache<>, TinyLfuCache<>>;
TYPED_TEST_SUITE(EveryCache, Caches);

TYPED_TEST(EveryCache, EntriesExpireAtTheirOwnTime) {
  TypeParam cache;
  cache.put("short", "s", now + Millis{10});
  cache.put("forever", "f", std::nullopt);
  EXPECT_TRUE(cache.find("short", now + Millis{9}));
  EXPECT_FALSE(cache.find("short", now + Millis{10}));
  EXPECT_EQ(cache.size(), 1u);  // the expired entry was dropped on sight
  EXPECT_TRUE(cache.find("forever", now + Millis{1'000'000}));
}

TYPED_TEST(EveryCache, PutReplacesKeepsTheTagEraseAndClearRemove) {
  TypeParam cache;
  cache.put("k", "old", std::nullopt, 1);
  cache.put("k", "new", std::nullopt, 7);
  EXPECT_EQ(cache.find("k", now), (CachedValue{"new", 7}));
  EXPECT_EQ(cache.bytes(), 4u);
  cache.erase("k");
  EXPECT_FALSE(cache.find("k", now));
  EXPECT_EQ(cache.bytes(), 0u);
  cache.put("a", "1", std::nullopt);
  cache.clear();
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(cache.bytes(), 0u);
}

TYPED_TEST(EveryCache, ReadHandsALiveValueAndItsTagToTheReaderInPlace) {
  TypeParam cache;
  cache.put("k", "value", std::nullopt, 7);
  cache.put("short", "s", now + Millis{10});
  std::string seen;
  std::uint8_t tag = 0;
  int calls = 0;
  const auto reader = [&](std::string_view value, std::uint8_t codec_tag) {
    seen = value;
    tag = codec_tag;
    ++calls;
  };
  EXPECT_TRUE(cache.read("k", now, reader));
  EXPECT_EQ(seen, "value");
  EXPECT_EQ(tag, 7);
  EXPECT_FALSE(cache.read("absent", now, reader));
  EXPECT_FALSE(cache.read("short", now + Millis{10}, reader));
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(cache.size(), 1u);  // the expired entry was dropped on sight, as find drops it
}

TYPED_TEST(EveryCache, BoundsEntriesAndKeyAndValueBytes) {
  TypeParam by_entries({.max_entries = 64, .max_bytes = 0, .shards = 4});
  TypeParam by_bytes({.max_entries = 0, .max_bytes = 1000, .shards = 4});
  for (int i = 0; i < 5000; ++i) {
    const std::string key = numbered("k", i);
    by_entries.put(key, std::string(static_cast<std::size_t>(i % 40), 'v'), std::nullopt);
    by_bytes.put(key, std::string(static_cast<std::size_t>(i % 40), 'v'), std::nullopt);
    if (i % 3 == 0) {
      by_entries.find(numbered("k", i / 2), now);
      by_bytes.find(numbered("k", i / 2), now);
    }
    ASSERT_LE(by_entries.size(), 64u);
    ASSERT_LE(by_bytes.bytes(), 1000u);
  }
  EXPECT_EQ(by_entries.size(), 64u);
  // Every key put stayed, replaced one, or was evicted: nothing else leaves.
  EXPECT_EQ(by_entries.evictions() + by_entries.size(), 5000u);
  by_bytes.put("huge", std::string(300, 'v'), std::nullopt);  // more than a shard's 250 bytes
  EXPECT_FALSE(by_bytes.find("huge", now));
}

// The same random workload on three caches: one reads its hits in place, one
// copies them out, one is never read. The first two hit alike throughout and
// end holding the same keys; the unread one ends holding other keys.
TYPED_TEST(EveryCache, AReadCountsForEvictionAsAFindDoes) {
  const auto make = [] { return TypeParam({.max_entries = 8, .max_bytes = 0, .shards = 1}); };
  TypeParam by_read = make(), by_find = make(), unread = make();
  std::mt19937 random(11);
  constexpr int keys = 24;
  for (int step = 0; step < 2000; ++step) {
    const std::string key = numbered("k", static_cast<int>(random() % keys));
    if (random() % 2 == 0) {
      for (TypeParam* cache : {&by_read, &by_find, &unread}) cache->put(key, "v", std::nullopt);
    } else {
      const bool read = by_read.read(key, now, [](std::string_view, std::uint8_t) {});
      ASSERT_EQ(read, by_find.find(key, now).has_value()) << "step " << step;
    }
  }
  int unread_differs = 0;
  for (int k = 0; k < keys; ++k) {
    const bool held = by_find.find(numbered("k", k), now).has_value();
    EXPECT_EQ(by_read.read(numbered("k", k), now, [](std::string_view, std::uint8_t) {}), held);
    unread_differs += unread.find(numbered("k", k), now).has_value() != held;
  }
  EXPECT_GT(unread_differs, 0);
}

TYPED_TEST(EveryCache, ShardsServeThreadsWithoutLosingEntries) {
  TypeParam cache({.max_entries = 0, .max_bytes = 0, .shards = 8});
  std::vector<std::thread> threads;
  threads.reserve(4);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&cache, t] {
      for (int i = 0; i < 2000; ++i) {
        const std::string key = std::to_string(t) + ":" + std::to_string(i);
        cache.put(key, key, std::nullopt);
        EXPECT_EQ(cache.find(key, now).value().value, key);
        // Shared reads of another thread's keys while it writes them.
        const std::string other = std::to_string((t + 1) % 4) + ":" + std::to_string(i / 2);
        if (const auto hit = cache.find(other, now)) {
          EXPECT_EQ(hit->value, other);
        }
      }
    });
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(cache.size(), 8000u);
}

// The shard lock: a writer's two stores are never seen half done by a
// reader, and writers exclude each other. (A broken lock shows here as a torn
// pair or a lost increment, and under ThreadSanitizer as a race.)
TEST(ReadMostlyMutexTest, ReadersNeverSeeAWriteHalfDoneAndWritersExcludeEachOther) {
  detail::ReadMostlyMutex mutex;
  std::uint64_t first = 0, second = 0;  // equal whenever the lock is free
  std::atomic<bool> writing{true};
  std::atomic<std::uint64_t> torn{0}, reads{0};
  std::vector<std::thread> threads;
  threads.reserve(3);
  for (int t = 0; t < 3; ++t)
    threads.emplace_back([&] {
      while (writing.load() || reads.load() == 0) {
        std::shared_lock lock(mutex);
        if (first != second) ++torn;
        ++reads;
      }
    });
  constexpr std::uint64_t writes_per_writer = 20'000;
  const auto writer = [&] {
    for (std::uint64_t i = 0; i < writes_per_writer; ++i) {
      std::unique_lock lock(mutex);
      ++first;
      std::this_thread::yield();  // widen the window a broken lock would expose
      ++second;
    }
  };
  std::thread other_writer(writer);
  writer();
  other_writer.join();
  writing = false;
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(torn.load(), 0u);
  EXPECT_GT(reads.load(), 0u);
  EXPECT_EQ(first, 2 * writes_per_writer);
  EXPECT_EQ(second, 2 * writes_per_writer);
}

// A batch's writes grouped by coherence stripe, input order kept within a
// stripe (so a key written twice settles last-wins): the same order as a
// stable sort, on both sides of the size where the counting sort takes over.
TEST(CoherenceStripesTest, OrderByStripeIsAStableSortByStripe) {
  std::mt19937 random(7);
  for (const std::size_t open : {0, 1, 2, 255, 256, 257, 1000, 20'000}) {
    std::vector<std::uint16_t> stripe(3 * open + 1);
    for (auto& s : stripe)  // few stripes for small batches, so that runs form
      s = static_cast<std::uint16_t>(random() %
                                     (open < 300 ? 7 : detail::CoherenceStripes::stripe_count));
    std::vector<std::uint32_t> order;  // ascending input positions, with gaps
    for (std::uint32_t i = 0; order.size() < open;
         i += 1 + static_cast<std::uint32_t>(random() % 3))
      order.push_back(i);
    std::vector<std::uint32_t> expected = order;
    std::stable_sort(expected.begin(), expected.end(),
                     [&](std::uint32_t a, std::uint32_t b) { return stripe[a] < stripe[b]; });
    detail::order_by_stripe(order.data(), stripe.data(), open);
    EXPECT_EQ(order, expected) << open << " positions";
  }
}

TEST(NoCacheTest, HoldsNothing) {
  NoCache cache;
  cache.put("k", "v", std::nullopt);
  EXPECT_FALSE(cache.find("k", now));
  EXPECT_EQ(cache.size(), 0u);
}

}  // namespace
}  // namespace strata
