// TieredStore behaviour beyond the laws: fallback policies, cache policies,
// counters, and composition with absent tiers.
#include <strata/strata.hpp>

#include "support/law_stacks.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

namespace strata::testing {
namespace {

TEST(Store, AbsentTiersCostNothingAndRouteNowhere) {
  using HotOnly = TieredStore<NoCache, FixedRouter<Tier::hot>, MemoryRepository, NoTier, NoTier>;
  static_assert(std::is_empty_v<NoTier>);
  HotOnly store;
  EXPECT_FALSE(store.set("k", "v"));
  EXPECT_EQ(store.get("k").value, "v");
  EXPECT_EQ(store.erase("k").erased, 1u);
  EXPECT_TRUE(store.get("k").absent());
}

// A store with no cache and one tier answers a single set or get on a path
// of its own (no batch bookkeeping: issue 21). It must answer exactly as a
// batch of one does, in every outcome, and count the same.
TEST(Store, ACachelessOneTierStoreAnswersSingleCallsExactlyAsBatchesOfOne) {
  using Bare =
      TieredStore<NoCache, RuntimePrefixRouter, FaultInjecting<MemoryRepository>, NoTier, NoTier>;
  ManualClock clock;
  const auto make = [&] {
    return std::make_unique<Bare>(
        StoreOptions{
            .max_value_bytes = 16, .read_fallback = ReadFallback::none, .clock = clock.clock()},
        FaultInjecting<MemoryRepository>(MemoryRepository(MemoryOptions{.clock = clock.clock()})),
        NoTier{}, NoTier{}, NoCache{}, RuntimePrefixRouter({{"cold:", Tier::cold}}, Tier::hot));
  };
  auto single = make(), batch = make();
  const std::vector<Item> items{{"k", "value", Millis{0}, 0},
                                {"tagged", "t", Millis{0}, 3},
                                {"brief", "b", Millis{10}, 0},
                                {"bad key", "v", Millis{0}, 0},
                                {"big", std::string_view("seventeen bytes!!"), Millis{0}, 0},
                                {"negative", "v", Millis{-1}, 0},
                                {"badtag", "v", Millis{0}, 16},
                                {"cold:x", "v", Millis{0}, 0}};
  for (const Item& item : items)
    EXPECT_EQ(single->set(item.key, item.value, item.ttl, item.codec_tag),
              batch->batch_set({item}).error(0))
        << item.key;
  // A corrupt envelope under one key, in both.
  std::string corrupt = encode_envelope("rotten", {clock.now(), clock.now(), std::nullopt, 0}, "x");
  corrupt.back() ^= 1;
  const Record rotten{"rotten", corrupt, std::nullopt};
  ASSERT_TRUE(single->tier<Tier::hot>().store_many(std::span(&rotten, 1)).all_stored());
  ASSERT_TRUE(batch->tier<Tier::hot>().store_many(std::span(&rotten, 1)).all_stored());
  clock.advance(Millis{10});  // "brief" has expired

  const auto same = [&](std::string_view key) {
    const Lookup one = single->get(key);
    const Lookup of_batch = batch->batch_get({key})[0];
    EXPECT_EQ(one.status, of_batch.status) << key;
    EXPECT_EQ(one.value, of_batch.value) << key;
    EXPECT_EQ(one.error, of_batch.error) << key;
    EXPECT_EQ(one.codec_tag, of_batch.codec_tag) << key;
    return one;
  };
  EXPECT_EQ(same("k").value, "value");
  EXPECT_EQ(same("tagged").codec_tag, 3);
  EXPECT_TRUE(same("brief").absent());
  EXPECT_TRUE(same("never").absent());
  EXPECT_EQ(same("bad key").error, errc::invalid_key);
  EXPECT_EQ(same("cold:x").error, errc::tier_not_configured);
  EXPECT_EQ(same("rotten").error, errc::checksum_mismatch);
  single->tier<Tier::hot>().set_unavailable(true);
  batch->tier<Tier::hot>().set_unavailable(true);
  EXPECT_EQ(same("k").error, errc::backend_unavailable);
  EXPECT_EQ(single->set("k", "v"), batch->batch_set({{"k", "v"}}).error(0));

  const StoreStats a = single->stats(), b = batch->stats();
  EXPECT_EQ(a[Tier::hot].calls, b[Tier::hot].calls);
  EXPECT_EQ(a[Tier::hot].keys, b[Tier::hot].keys);
  EXPECT_EQ(a[Tier::hot].failures, b[Tier::hot].failures);
  EXPECT_EQ(a[Tier::hot].checksum_errors, b[Tier::hot].checksum_errors);
  EXPECT_EQ(a[Tier::hot].checksum_errors, 1u);
}

// The single set encodes an envelope of up to 512 bytes on the stack and a
// larger one on the heap: on either side of that edge (a 56-byte header, so
// values of 456 and 457 bytes) it stores exactly the record a batch of one
// stores. A TTL of zero never expires, so it is valid whatever the time.
TEST(Store, ASingleSetStoresTheBatchesRecordOnEitherSideOfTheStackEnvelope) {
  using Bare = TieredStore<NoCache, FixedRouter<Tier::hot>, MemoryRepository, NoTier, NoTier>;
  ManualClock clock;
  const auto make = [&] {
    return std::make_unique<Bare>(StoreOptions{.clock = clock.clock()},
                                  MemoryRepository(MemoryOptions{.clock = clock.clock()}));
  };
  auto single = make(), batch = make();
  std::vector<std::string> keys;
  for (const std::size_t size : {0u, 1u, 455u, 456u, 457u, 458u, 4096u, 100'000u}) {
    std::string value(size, '\0');
    for (std::size_t i = 0; i < size; ++i) value[i] = static_cast<char>('a' + (i * 7 + size) % 26);
    const std::string key = "size:" + std::to_string(size);
    keys.push_back(key);
    ASSERT_FALSE(single->set(key, value, Millis{60'000}, 2)) << size;
    ASSERT_TRUE(batch->batch_set({{key, value, Millis{60'000}, 2}}).all_stored()) << size;
    const Lookup found = single->get(key);
    EXPECT_EQ(found.value, value) << size;
    EXPECT_EQ(found.codec_tag, 2) << size;
  }
  const std::vector<std::string_view> views(keys.begin(), keys.end());
  const LoadResult ours = single->tier<Tier::hot>().load_many(views);
  const LoadResult theirs = batch->tier<Tier::hot>().load_many(views);
  for (std::size_t i = 0; i < views.size(); ++i) {
    ASSERT_TRUE(ours[i].found()) << views[i];
    EXPECT_EQ(ours[i].value, theirs[i].value) << views[i];  // the same envelope, byte for byte
  }

  clock.set(latest_expiry + Millis{1});
  EXPECT_FALSE(single->set("forever", "v"));
  EXPECT_TRUE(batch->batch_set({{"forever", "v"}}).all_stored());
  EXPECT_EQ(single->set("brief", "v", Millis{1}), errc::invalid_ttl);
  EXPECT_EQ(batch->batch_set({{"brief", "v", Millis{1}}}).error(0), errc::invalid_ttl);
  EXPECT_EQ(single->get("forever").value, "v");
}

TEST(Store, RuntimeRouteToAnAbsentTierFailsThatItemAlone) {
  using Store = TieredStore<LruCache<>, RuntimePrefixRouter, MemoryRepository, NoTier, NoTier>;
  Store store(StoreOptions{}, MemoryRepository{}, NoTier{}, NoTier{}, LruCache<>{},
              RuntimePrefixRouter({{"cold:", Tier::cold}}, Tier::hot));
  const BatchResult result = store.batch_set({{"hot", "1"}, {"cold:x", "2"}});
  EXPECT_TRUE(result.stored(0));
  EXPECT_EQ(result.error(1), errc::tier_not_configured);
  EXPECT_EQ(store.get("cold:x").error, errc::tier_not_configured);
}

TEST(Store, FallbackOnMissReadsLowerTiersOnlyWhenAsked) {
  ManualClock clock;
  auto strict = make_law_store<MemoryBackends>(clock.clock());
  auto falling =
      make_law_store<MemoryBackends>(clock.clock(), {.read_fallback = ReadFallback::on_miss});
  const std::string envelope =
      encode_envelope("hot:old", {clock.now(), clock.now(), std::nullopt, 0}, "archived");
  const Record record{"hot:old", envelope, std::nullopt};
  ASSERT_TRUE(strict.tier<Tier::cold>().store_many(std::span(&record, 1)).all_stored());
  ASSERT_TRUE(falling.tier<Tier::cold>().store_many(std::span(&record, 1)).all_stored());

  EXPECT_TRUE(strict.get("hot:old").absent());
  EXPECT_EQ(falling.get("hot:old").value, "archived");
  EXPECT_EQ(falling.cache().find("hot:old", clock.now()).value().value, "archived");
}

TEST(Store, FallbackOnErrorKeepsTheErrorWhenNoLowerTierHasTheKey) {
  ManualClock clock;
  auto store = make_law_store<MemoryBackends>(clock.clock(),
                                              {.read_fallback = ReadFallback::on_miss_or_error});
  ASSERT_FALSE(store.set("hot:a", "1"));
  const std::string envelope =
      encode_envelope("hot:a", {clock.now(), clock.now(), std::nullopt, 0}, "copy");
  const Record record{"hot:a", envelope, std::nullopt};
  ASSERT_TRUE(store.tier<Tier::warm>().store_many(std::span(&record, 1)).all_stored());
  store.cache().clear();
  store.tier<Tier::hot>().set_unavailable(true);

  const LoadResult read = store.batch_get({"hot:a", "hot:missing"});
  EXPECT_EQ(read[0].value, "copy");  // HOT is down, WARM answers
  EXPECT_TRUE(read[1].failed());     // nobody has it, but HOT could not say: not "absent"
  EXPECT_EQ(read[1].error, errc::backend_unavailable);
}

TEST(Store, InvalidatingCachePolicyFillsOnReadOnly) {
  ManualClock clock;
  auto store = make_law_store<MemoryBackends, LruCache<OnWrite::invalidate>>(clock.clock());
  ASSERT_FALSE(store.set("w:k", "v"));
  EXPECT_FALSE(store.cache().find("w:k", clock.now()));
  EXPECT_EQ(store.get("w:k").value, "v");
  EXPECT_EQ(store.cache().find("w:k", clock.now()).value().value, "v");
  ASSERT_FALSE(store.set("w:k", "v2"));
  EXPECT_FALSE(store.cache().find("w:k", clock.now()));  // invalidated, not stale
}

TEST(Store, CountersCountPerTierAndFormatForALog) {
  ManualClock clock;
  auto store = make_law_store<MemoryBackends>(clock.clock());
  store.tier<Tier::cold>().set_unavailable(true);
  store.batch_set({{"hot:1", "a"}, {"cold:1", "b"}, {"w:1", "c"}});
  store.batch_get({"hot:1", "nope"});
  const StoreStats stats = store.stats();
  EXPECT_EQ(stats[Tier::hot].calls, 1u);
  EXPECT_EQ(stats[Tier::cold].failures, 1u);
  EXPECT_EQ(stats.cache_hits, 1u);
  EXPECT_EQ(stats.cache_misses, 1u);
  EXPECT_EQ(stats[Tier::warm].calls, 2u);  // the store and the miss's load
  const std::string line = fmt::format("{}", stats);
  EXPECT_NE(line.find("cache 1 hits / 1 misses"), std::string::npos) << line;
  EXPECT_NE(line.find("cold 1 calls 1 keys 1 failed"), std::string::npos) << line;
  EXPECT_EQ(fmt::format("{}", Tier::warm), "warm");
}

template <class Store>
concept HasStats = requires(const Store& store) {
  store.stats();
};

// Counting is a policy: StripedStats (the default) loses no count when threads
// share stripes or not; NoStats compiles out and takes stats() with it.
TEST(Store, StripedCountersAreExactAcrossThreadsAndNoStatsHasNone) {
  using Counting = TieredStore<NoCache, FixedRouter<Tier::hot>, MemoryRepository, NoTier, NoTier>;
  using Silent = TieredStore<NoCache, FixedRouter<Tier::hot>, MemoryRepository, NoTier, NoTier,
                             NoBus, NoStats>;
  static_assert(std::is_same_v<Counting::stats_type, StripedStats>);
  static_assert(HasStats<Counting> && !HasStats<Silent>);
  static_assert(StatsPolicy<NoStats> && StatsPolicy<StripedStats> && !StatsPolicy<int>);

  Counting store;
  constexpr int threads = 20;  // more than the 16 stripes: some threads share one
  constexpr int calls = 500;
  std::vector<std::thread> workers;
  workers.reserve(threads);
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&store, t] {
      const std::string key = "k" + std::to_string(t);
      for (int i = 0; i < calls; ++i) {
        ASSERT_FALSE(store.set(key, "v"));
        ASSERT_TRUE(store.get(key).found());
        ASSERT_EQ(store.get("bad key").error, errc::invalid_key);  // no tier call, no count
      }
    });
  }
  for (auto& worker : workers) worker.join();
  const StoreStats stats = store.stats();
  EXPECT_EQ(stats[Tier::hot].calls, 2u * threads * calls);
  EXPECT_EQ(stats[Tier::hot].keys, 2u * threads * calls);
  EXPECT_EQ(stats[Tier::hot].failures, 0u);
  EXPECT_EQ(stats[Tier::warm].calls, 0u);

  Silent silent;
  EXPECT_FALSE(silent.set("k", "v"));
  EXPECT_EQ(silent.get("k").value, "v");
}

TEST(Store, ASingleTierBatchReportsEveryOutcomeInPlace) {
  // All keys in one tier: the store decodes that tier's answer in place.
  ManualClock clock;
  auto store = make_law_store<MemoryBackends, NoCache>(clock.clock());
  ASSERT_TRUE(store.batch_set({{"w:found", "v"}, {"w:expiring", "x", Millis{5}}}).all_stored());
  const Record junk{"w:junk", "definitely not an envelope, but long enough", std::nullopt};
  ASSERT_TRUE(store.tier<Tier::warm>().store_many(std::span(&junk, 1)).all_stored());
  clock.advance(Millis{5});

  const LoadResult read =
      store.batch_get({"w:found", "w:missing", "w:junk", "w:expiring", "w:found"});
  ASSERT_EQ(read.size(), 5u);
  EXPECT_EQ(read[0].value, "v");
  EXPECT_TRUE(read[1].absent());
  EXPECT_EQ(read[2].error, errc::corrupt_record);
  EXPECT_TRUE(read[3].absent());
  EXPECT_EQ(read[4].value, "v");
  EXPECT_EQ(store.stats()[Tier::warm].failures, 1u);
}

TEST(Store, ABatchCachesEveryKeyItStored) {
  // A batch's keys share coherence stripes with each other; that must not
  // count as a conflicting write and cost them their cache entries.
  ManualClock clock;
  auto store = make_law_store<MemoryBackends>(clock.clock());
  std::vector<std::string> keys, values;
  for (int i = 0; i < 5000; ++i) {
    keys.push_back("w:" + std::to_string(i));
    values.push_back("v" + std::to_string(i));
  }
  std::vector<Item> items;
  for (std::size_t i = 0; i < keys.size(); ++i) items.push_back({keys[i], values[i]});
  ASSERT_TRUE(store.batch_set(items).all_stored());
  EXPECT_EQ(store.cache().size(), keys.size());
  store.cache().clear();
  ASSERT_EQ(store.batch_get(keys).found_count(), keys.size());
  EXPECT_EQ(store.cache().size(), keys.size());  // and a batch read fills every miss
}

/// An LruCache that counts the erases of each key, one by one or in a batch.
template <OnWrite Policy>
class EraseCountingCache : public LruCache<Policy> {
 public:
  void erase(std::string_view key) {
    count(std::span<const std::string_view>(&key, 1));
    LruCache<Policy>::erase(key);
  }
  void erase_many(std::span<const std::string_view> keys) {
    count(keys);
    LruCache<Policy>::erase_many(keys);
  }
  /// Keys erased a number of times other than `times`, and keys never erased
  /// among `keys`.
  std::vector<std::string> erased_other_than(const std::vector<std::string>& keys, int times) {
    const std::lock_guard lock(*mutex_);
    std::vector<std::string> wrong;
    for (const std::string& key : keys)
      if (erases_[key] != times) wrong.push_back(fmt::format("{} x{}", key, erases_[key]));
    erases_.clear();
    return wrong;
  }

 private:
  void count(std::span<const std::string_view> keys) {
    const std::lock_guard lock(*mutex_);
    for (const std::string_view key : keys) ++erases_[std::string(key)];
  }

  std::unique_ptr<std::mutex> mutex_ = std::make_unique<std::mutex>();
  std::map<std::string, int, std::less<>> erases_;
};

template <class Cache>
void expect_each_write_erases_each_key_once() {
  using Store = TieredStore<Cache, PrefixRouter<Route<"w:", Tier::warm>, Fallback<Tier::hot>>,
                            MemoryRepository, MemoryRepository, NoTier>;
  Store store;
  std::vector<std::string> keys, values;  // an Item views its key and value
  std::vector<Item> items;
  for (int i = 0; i < 600; ++i) keys.push_back("w:" + std::to_string(i));
  for (const std::string& key : keys) values.push_back("v" + key);
  for (std::size_t i = 0; i < keys.size(); ++i) items.push_back({keys[i], values[i]});
  items.push_back({keys[7], "again"});  // a duplicate key: only its last write is sent

  ASSERT_TRUE(store.batch_set(items).all_stored());
  EXPECT_EQ(store.cache().erased_other_than(keys, 1), std::vector<std::string>{});
  ASSERT_EQ(store.batch_get(keys).found_count(), keys.size());  // fills the cache
  ASSERT_TRUE(store.batch_set(items).all_stored());             // over cached keys
  EXPECT_EQ(store.cache().erased_other_than(keys, 1), std::vector<std::string>{});
  EXPECT_EQ(store.get(keys[7]).value, "again");

  std::vector<Record> records;
  std::vector<std::string> envelopes;
  envelopes.reserve(keys.size());
  const TimePoint now = Clock{}.now();
  for (const std::string& key : keys) {
    envelopes.push_back(encode_envelope(key, EnvelopeMeta{now, now, std::nullopt, 0}, "r"));
    records.push_back(Record{key, envelopes.back(), std::nullopt});
  }
  ASSERT_EQ(store.batch_get(keys).found_count(), keys.size());
  ASSERT_TRUE(store.template store_records<Tier::warm>(records).all_stored());
  EXPECT_EQ(store.cache().erased_other_than(keys, 1), std::vector<std::string>{});
  const LoadResult reread = store.batch_get(keys);  // every key invalidated, read from WARM
  for (std::size_t i = 0; i < keys.size(); ++i) EXPECT_EQ(reread[i].value, "r") << keys[i];

  std::vector<std::string_view> views(keys.begin(), keys.end());
  ASSERT_EQ(store.batch_delete(views).invalid_keys.size(), 0u);
  EXPECT_EQ(store.cache().erased_other_than(keys, 1), std::vector<std::string>{});
  EXPECT_EQ(store.batch_get(keys).found_count(), 0u);
}

TEST(Store, ABatchErasesEachKeyFromTheCacheOnce) {
  // A write erases its keys when it begins; nothing can cache them until it
  // ends, so a second erase then would only cost a hash and a lock per key
  // (ADR 3's amendment).
  expect_each_write_erases_each_key_once<EraseCountingCache<OnWrite::populate>>();
  expect_each_write_erases_each_key_once<EraseCountingCache<OnWrite::invalidate>>();
}

TEST(Store, VerifiedRecordsStillHaveTheirKeysChecked) {
  // rehydrate's path skips the second decode, not the key check: a bad key
  // fails alone and the rest is stored with the expiry it carries.
  TieredStore<LruCache<>, FixedRouter<Tier::hot>, MemoryRepository, NoTier, NoTier> store;
  const TimePoint now = Clock{}.now();
  const EnvelopeMeta meta{now, now, now + std::chrono::hours(1), 3};
  const std::string good = encode_envelope("good", meta, "value");
  const std::string bad = encode_envelope("bad key", meta, "value");
  const Record records[] = {{"good", good, meta.expires_at}, {"bad key", bad, meta.expires_at}};
  const BatchResult stored = store.store_records<Tier::hot>(records, envelopes_verified);
  EXPECT_TRUE(stored.stored(0));
  EXPECT_EQ(stored.error(1), errc::invalid_key);
  const Lookup read = store.get("good");
  EXPECT_EQ(read.value, "value");
  EXPECT_EQ(read.codec_tag, 3);
  const LoadResult raw = store.tier<Tier::hot>().load_many(std::vector<std::string_view>{"good"});
  EXPECT_EQ(raw[0].value, good);  // verbatim
}

/// Reports nothing for any position, as a buggy backend might.
struct Forgetful {
  static constexpr bool atomic_batches = false;
  BatchResult store_many(std::span<const Record> records) { return BatchResult(records.size()); }
  LoadResult load_many(std::span<const std::string_view> keys) { return LoadResult(keys.size()); }
  std::size_t erase_many(std::span<const std::string_view>) { return 0; }
};

TEST(Store, ARepositoryThatForgetsAPositionReportsOutcomeUnknown) {
  TieredStore<LruCache<>, FixedRouter<Tier::hot>, Forgetful, NoTier, NoTier> store;
  const BatchResult result = store.batch_set({{"k", "v"}});
  EXPECT_EQ(result.error(0), errc::outcome_unknown);
  EXPECT_FALSE(store.cache().find("k", Clock{}.now()));

  // Nor does an unfilled load position claim "absent", which nobody said.
  const Lookup got = store.get("k");
  EXPECT_TRUE(got.failed());
  EXPECT_EQ(got.error, errc::outcome_unknown);
}

TEST(Store, AFailureAlwaysSaysWhy) {
  LoadResult loaded(3);
  for (const Lookup& lookup : loaded) {
    EXPECT_TRUE(lookup.failed());
    EXPECT_EQ(lookup.error, errc::outcome_unknown);
  }
  loaded.set_failed(1, {});
  EXPECT_EQ(loaded[1].error, errc::outcome_unknown);
  loaded.set_absent(2);
  EXPECT_TRUE(loaded[2].absent());

  BatchResult stored(2);
  stored.mark_failed(0, {});
  EXPECT_EQ(stored.error(0), errc::outcome_unknown);
}

}  // namespace
}  // namespace strata::testing
