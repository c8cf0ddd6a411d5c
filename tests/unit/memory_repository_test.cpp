#include <strata/backends/memory.hpp>
#include <strata/core/concepts.hpp>
#include <strata/core/envelope.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace strata {
namespace {

static_assert(ScannableRepository<MemoryRepository>);

class MemoryRepositoryTest : public ::testing::Test {
 protected:
  void store(std::string_view key, std::string_view bytes, std::optional<TimePoint> expires = {}) {
    const Record record{key, bytes, expires};
    ASSERT_TRUE(repo_.store_many(std::span(&record, 1)).all_stored());
  }
  ManualClock clock_;
  MemoryRepository repo_{MemoryOptions{.shards = 4, .clock = clock_.clock()}};
};

TEST_F(MemoryRepositoryTest, StoresLoadsAndErasesInBatches) {
  const std::vector<Record> records{{"a", "1"}, {"b", "2"}, {"a", "3"}};  // the last "a" wins
  EXPECT_TRUE(repo_.store_many(records).all_stored());
  const std::vector<std::string_view> keys{"a", "b", "c"};
  const LoadResult loaded = repo_.load_many(keys);
  EXPECT_EQ(loaded[0].value, "3");
  EXPECT_EQ(loaded[1].value, "2");
  EXPECT_TRUE(loaded[2].absent());
  EXPECT_EQ(repo_.erase_many(keys).erased, 2u);
  EXPECT_EQ(repo_.load_many(keys).found_count(), 0u);
}

TEST_F(MemoryRepositoryTest, ExpiredRecordsAreAbsentUncountedAndPurged) {
  store("t", "x", clock_.now() + Millis{5});
  store("p", "y");
  clock_.advance(Millis{5});
  const std::vector<std::string_view> keys{"t"};
  EXPECT_TRUE(repo_.load_many(keys)[0].absent());
  EXPECT_TRUE(repo_.scan("", "", 10).records.size() == 1);
  EXPECT_EQ(repo_.purge_expired(), 1u);
  EXPECT_EQ(repo_.size(), 1u);
  store("t2", "x", clock_.now() + Millis{1});
  clock_.advance(Millis{1});
  const std::vector<std::string_view> erase{"t2"};
  EXPECT_EQ(repo_.erase_many(erase).erased, 0u);
}

TEST_F(MemoryRepositoryTest, ScanPagesThroughEveryPrefixedRecordOnce) {
  for (int i = 0; i < 103; ++i) store("p:" + std::to_string(i), "v");
  store("q:0", "v");
  std::set<std::string> seen;
  std::string cursor;
  int pages = 0;
  for (;;) {
    const ScanPage page = repo_.scan("p:", cursor, 10);
    ASSERT_FALSE(page.error);
    EXPECT_LE(page.records.size(), 10u);
    for (const auto& record : page.records)
      EXPECT_TRUE(seen.insert(record.key).second) << record.key;
    ++pages;
    if (page.done) break;
    cursor = page.next_cursor;
  }
  EXPECT_EQ(seen.size(), 103u);
  EXPECT_EQ(pages, 11);
}

TEST_F(MemoryRepositoryTest, ConcurrentBatchesNeverTearAValue) {
  // Readers race a writer; every value read is one that a batch wrote whole.
  const std::vector<std::string> keys{"k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7"};
  std::vector<std::string_view> views(keys.begin(), keys.end());
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int gen = 0; gen < 2000; ++gen) {
      const std::string value = std::to_string(gen);
      std::vector<Record> records;
      for (const auto& key : keys) records.push_back({key, value});
      repo_.store_many(records);
    }
    stop = true;
  });
  while (!stop) {
    const LoadResult loaded = repo_.load_many(views);
    for (const auto& lookup : loaded) {
      EXPECT_FALSE(lookup.failed());
      if (lookup.found()) {
        EXPECT_LT(std::stoi(lookup.value), 2000);
      }
    }
  }
  writer.join();
  const LoadResult last = repo_.load_many(views);
  for (const auto& lookup : last) EXPECT_EQ(lookup.value, "1999");
}

// Batches larger than the inline scratch (16 keys) over more shards than one
// word of lock bits (64): two writers take overlapping shard sets in opposite
// key orders; locking in shard order keeps them from deadlocking, and each
// shard is locked once however many of a batch's keys it holds.
TEST(MemoryRepositoryShards, BatchesOverManyShardsNeitherDeadlockNorLoseKeys) {
  MemoryRepository repo{MemoryOptions{.shards = 300}};  // rounded up to 512
  std::vector<std::string> keys;
  for (int i = 0; i < 40; ++i) keys.push_back("key:" + std::to_string(i));
  const auto writer = [&](bool reversed, const std::string& value) {
    return std::thread([&, reversed, value] {
      for (int round = 0; round < 500; ++round) {
        std::vector<Record> records;
        records.reserve(keys.size() + 1);
        for (const auto& key : keys) records.push_back({key, value});
        records.push_back({keys.front(), value});  // the same shard twice in one batch
        if (reversed) std::reverse(records.begin(), records.end());
        ASSERT_TRUE(repo.store_many(records).all_stored());
      }
    });
  };
  std::thread forward = writer(false, "forward");
  std::thread backward = writer(true, "backward");
  forward.join();
  backward.join();
  std::vector<std::string_view> views(keys.begin(), keys.end());
  const LoadResult loaded = repo.load_many(views);
  for (const Lookup& lookup : loaded)
    EXPECT_TRUE(lookup.value == "forward" || lookup.value == "backward") << lookup.value;
  EXPECT_EQ(repo.size(), keys.size());
  views.push_back("key:0");  // erased once, counted once
  EXPECT_EQ(repo.erase_many(views).erased, keys.size());
  EXPECT_EQ(repo.size(), 0u);
}

}  // namespace
}  // namespace strata
