// StripedMetrics: what a store with it records per tier and operation after a
// known workload, that totals are exact under concurrent recording, and that
// a NoMetrics store has no metrics() to call.
#include <strata/strata.hpp>

#include <gtest/gtest.h>

#include <numeric>
#include <string>
#include <thread>
#include <vector>

namespace strata::testing {
namespace {

using Router =
    PrefixRouter<Route<"hot:", Tier::hot>, Route<"cold:", Tier::cold>, Fallback<Tier::warm>>;
using MeteredStore = TieredStore<LruCache<>, Router, MemoryRepository, MemoryRepository,
                                 MemoryRepository, NoBus, StripedStats, StripedMetrics>;
using PlainStore = TieredStore<LruCache<>, Router, MemoryRepository, MemoryRepository,
                               MemoryRepository, NoBus, StripedStats, NoMetrics>;

template <class Store>
constexpr bool has_metrics = requires(const Store& store) {
  store.metrics();
};
static_assert(has_metrics<MeteredStore> && !has_metrics<PlainStore>,
              "only a recording store has metrics()");
static_assert(MetricsPolicy<NoMetrics> && MetricsPolicy<StripedMetrics>);

std::uint64_t bucket_total(const LatencyHistogram& h) {
  return std::accumulate(h.buckets.begin(), h.buckets.end(), std::uint64_t{0});
}

TEST(Metrics, AStoreRecordsEachTierCallWithItsKeys) {
  MeteredStore store;
  std::vector<std::string> keys;
  keys.reserve(30);
  for (int i = 0; i < 30; ++i) keys.push_back((i % 3 == 0 ? "hot:" : "w:") + std::to_string(i));
  std::vector<Item> items;
  items.reserve(keys.size());
  for (const auto& key : keys) items.push_back({key, "v"});
  ASSERT_TRUE(store.batch_set(items).all_stored());  // hot: 10 keys, warm: 20, one call each
  store.cache().clear();
  const std::vector<std::string_view> views(keys.begin(), keys.end());
  ASSERT_EQ(store.batch_get(views).found_count(), 30u);
  ASSERT_EQ(store.batch_delete(views).erased, 30u);  // visits every tier

  const MetricsSnapshot m = store.metrics();
  EXPECT_EQ(m(Tier::hot, TierOperation::store_many).count, 1u);
  EXPECT_EQ(m(Tier::hot, TierOperation::store_many).keys, 10u);
  EXPECT_EQ(m(Tier::warm, TierOperation::store_many).keys, 20u);
  EXPECT_EQ(m(Tier::cold, TierOperation::store_many).count, 0u);  // nothing routed there
  EXPECT_EQ(m(Tier::hot, TierOperation::load_many).keys, 10u);
  EXPECT_EQ(m(Tier::warm, TierOperation::load_many).keys, 20u);
  for (Tier tier : all_tiers) {
    EXPECT_EQ(m(tier, TierOperation::erase_many).count, 1u) << to_string(tier);
    EXPECT_EQ(m(tier, TierOperation::erase_many).keys, 30u) << to_string(tier);
    for (TierOperation op : all_tier_operations) {
      const LatencyHistogram& h = m(tier, op);
      EXPECT_EQ(bucket_total(h), h.count) << "every call lands in a finite bucket";
      EXPECT_EQ(h.sum_ns > 0, h.count > 0);
    }
  }
}

TEST(Metrics, BucketsAreUpperBoundsInPowersOfTwoMicroseconds) {
  StripedMetrics metrics;
  using std::chrono::nanoseconds;
  metrics.record(Tier::hot, TierOperation::load_many, nanoseconds{0}, 1);              // <= 1 us
  metrics.record(Tier::hot, TierOperation::load_many, nanoseconds{1000}, 1);           // <= 1 us
  metrics.record(Tier::hot, TierOperation::load_many, nanoseconds{1001}, 1);           // <= 2 us
  metrics.record(Tier::hot, TierOperation::load_many, nanoseconds{3'000'000}, 1);      // <= 4096 us
  metrics.record(Tier::hot, TierOperation::load_many, nanoseconds{9'000'000'000}, 1);  // > 8.4 s
  const LatencyHistogram h = metrics.snapshot()(Tier::hot, TierOperation::load_many);
  EXPECT_EQ(h.buckets[0], 2u);
  EXPECT_EQ(h.buckets[1], 1u);
  EXPECT_EQ(h.buckets[12], 1u);
  EXPECT_EQ(bucket_total(h), 4u);  // the longest is in count only (+Inf)
  EXPECT_EQ(h.count, 5u);
  EXPECT_EQ(h.sum_ns, 9'003'002'001u);
  EXPECT_DOUBLE_EQ(LatencyHistogram::upper_bound_seconds(12), 4096e-6);
}

TEST(Metrics, ConcurrentRecordingLosesNothing) {
  StripedMetrics metrics;
  constexpr int threads = 8, calls = 20'000;
  std::vector<std::thread> workers;
  workers.reserve(threads);
  for (int t = 0; t < threads; ++t)
    workers.emplace_back([&] {
      for (int i = 0; i < calls; ++i)
        metrics.record(Tier::warm, TierOperation::store_many, std::chrono::nanoseconds{500}, 3);
    });
  for (auto& worker : workers) worker.join();
  const LatencyHistogram h = metrics.snapshot()(Tier::warm, TierOperation::store_many);
  EXPECT_EQ(h.count, std::uint64_t{threads} * calls);
  EXPECT_EQ(h.keys, std::uint64_t{threads} * calls * 3);
  EXPECT_EQ(h.buckets[0], h.count);
}

}  // namespace
}  // namespace strata::testing
