// batch_delete over two network tiers at once (Redis HOT, PostgreSQL WARM):
// the one path where the store erases tiers concurrently (std::async), run
// from several threads at a time, under every sanitizer scripts/test.sh
// builds (ThreadSanitizer included). Every key written to both tiers is gone
// from both, and the counts add up. And the failover drill on the same two
// servers: HOT lost and rebuilt from WARM by both paths, byte-identical.
#include "postgres_server.hpp"
#include "redis_server.hpp"

#include <strata/ops/drill.hpp>
#include <strata/strata.hpp>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace strata::testing {
namespace {

using TwoTierStore =
    TieredStore<LruCache<>, FixedRouter<Tier::hot>, RedisRepository, PostgresRepository, NoTier>;

TEST(TwoNetworkTiers, ConcurrentDeletesEraseEveryKeyFromBothTiers) {
  RedisRepository hot(redis_test_options());
  PostgresRepository warm(postgres_test_options());
  TwoTierStore store(StoreOptions{}, std::move(hot), std::move(warm));
  constexpr int threads = 4, rounds = 10, keys_per_batch = 200;
  std::vector<std::thread> workers;
  std::vector<std::size_t> erased(threads, 0), failures(threads, 0);
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (int r = 0; r < rounds; ++r) {
        std::vector<std::string> keys, values;
        keys.reserve(keys_per_batch);
        values.reserve(keys_per_batch);
        for (int i = 0; i < keys_per_batch; ++i) {
          keys.push_back(fmt::format("both:{}:{}:{}", t, r, i));
          values.push_back(fmt::format("value {} {} {}", t, r, i));
        }
        const TimePoint now = Clock{}.now();
        std::vector<std::string> envelopes;
        envelopes.reserve(keys.size());
        for (std::size_t i = 0; i < keys.size(); ++i)
          envelopes.push_back(encode_envelope(keys[i], {now, now, std::nullopt, 0}, values[i]));
        std::vector<Record> records;
        records.reserve(keys.size());
        for (std::size_t i = 0; i < keys.size(); ++i)
          records.push_back({keys[i], envelopes[i], std::nullopt});
        // The same records in both tiers, as a rehydrate or demote leaves them.
        if (!store.tier<Tier::hot>().store_many(records).all_stored()) ++failures[t];
        if (!store.tier<Tier::warm>().store_many(records).all_stored()) ++failures[t];
        const std::vector<std::string_view> views(keys.begin(), keys.end());
        const DeleteResult deleted = store.batch_delete(views);
        if (!deleted.ok()) ++failures[t];
        erased[t] += deleted.erased;
        const LoadResult hot_after = store.tier<Tier::hot>().load_many(views);
        const LoadResult warm_after = store.tier<Tier::warm>().load_many(views);
        for (std::size_t i = 0; i < views.size(); ++i)
          if (!hot_after[i].absent() || !warm_after[i].absent()) ++failures[t];
      }
    });
  }
  for (auto& w : workers) w.join();
  for (int t = 0; t < threads; ++t) {
    EXPECT_EQ(failures[t], 0u) << "thread " << t;
    EXPECT_EQ(erased[t], 2u * rounds * keys_per_batch) << "thread " << t << ": one per tier";
  }
}

// The seed's drill on real servers: 354 records in PostgreSQL, Redis lost,
// then rebuilt one key at a time and in pages (of 100, so that the page
// stream runs several pages), each path leaving HOT and the cache holding
// exactly what WARM holds.
TEST(TwoNetworkTiers, TheFailoverDrillRebuildsRedisFromPostgresByteForByte) {
  RedisRepository hot(redis_test_options());
  PostgresRepository warm(postgres_test_options());
  TwoTierStore store(StoreOptions{}, std::move(hot), std::move(warm));
  const DrillReport report =
      run_drill(store, DrillOptions{.keys = 354, .page_size = 100, .key_prefix = "drill:it:"});
  EXPECT_EQ(report.keys, 354u);
  EXPECT_EQ(report.sequential_keys, 354u);
  EXPECT_EQ(report.copied, 354u);
  EXPECT_TRUE(report.identical);
  EXPECT_GT(report.batch_ms, 0.0);
  EXPECT_GT(report.sequential_ms, 0.0);
  EXPECT_GT(report.hot_write_ms, 0.0);  // both floors timed
  EXPECT_GT(report.warm_read_ms, 0.0);
}

}  // namespace
}  // namespace strata::testing
