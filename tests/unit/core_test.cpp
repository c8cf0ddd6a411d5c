// Keys, errors, BatchResult, LoadResult, and the small helpers beside them
// (entropy, side calls).
#include <strata/core/batch_result.hpp>
#include <strata/core/entropy.hpp>
#include <strata/core/error.hpp>
#include <strata/core/format.hpp>
#include <strata/core/key.hpp>
#include <strata/core/key_positions.hpp>
#include <strata/core/load_result.hpp>
#include <strata/core/side_call.hpp>
#include <strata/core/stats.hpp>
#include <strata/core/store_types.hpp>
#include <strata/core/tier.hpp>

#include "support/allocation_counter.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace strata {
namespace {

TEST(Key, DocumentedLimitsHold) {
  EXPECT_TRUE(is_valid_key("a"));
  EXPECT_TRUE(is_valid_key("pos:AAPL/2024-01-02#1~"));
  EXPECT_TRUE(is_valid_key(std::string(max_key_bytes, 'x')));
  EXPECT_FALSE(is_valid_key(""));
  EXPECT_FALSE(is_valid_key(std::string(max_key_bytes + 1, 'x')));
  EXPECT_FALSE(is_valid_key("a b"));
  EXPECT_FALSE(is_valid_key("tab\t"));
  EXPECT_FALSE(is_valid_key(std::string("nul\0", 4)));
  EXPECT_FALSE(is_valid_key("del\x7f"));
  EXPECT_FALSE(is_valid_key("\xc3\xa9"));
  EXPECT_EQ(validate_key(""), errc::invalid_key);
  EXPECT_FALSE(validate_key("ok"));
}

TEST(Key, TheWordAtATimeCheckAgreesWithTheByteRuleForEveryByteAtEveryPosition) {
  // Every byte value, at every position of keys from 1 to 40 bytes (the
  // padded word below 8 bytes, whole and overlapping 8-byte words below 16,
  // and from 16 up whole and overlapping 16-byte vectors), against the rule
  // one byte at a time, and against the same check at compile time.
  static_assert(is_valid_key("pos:AAPL/2024-01-02#1~") && !is_valid_key("a b"));
  for (std::size_t size = 1; size <= 40; ++size)
    for (std::size_t at = 0; at < size; ++at)
      for (int byte = 0; byte < 256; ++byte) {
        std::string key(size, 'k');
        key[at] = static_cast<char>(byte);
        ASSERT_EQ(is_valid_key(key), is_key_byte(key[at])) << size << " " << at << " " << byte;
      }
}

TEST(Errors, EveryCodeHasItsOwnActionableMessage) {
  std::set<std::string> messages;
  for (int e = static_cast<int>(errc::invalid_key); e <= static_cast<int>(errc::name_too_long);
       ++e) {
    const std::error_code code = static_cast<errc>(e);
    EXPECT_STREQ(code.category().name(), "strata");
    EXPECT_GT(code.message().size(), 30u) << e;
    messages.insert(code.message());
  }
  EXPECT_EQ(messages.size(), static_cast<std::size_t>(errc::name_too_long));
  EXPECT_NE(std::error_code(errc::invalid_key).message().find("512"), std::string::npos);
  // The messages are a table in the enum's order: each starts with its own code's name.
  const std::pair<errc, std::string> starts[] = {
      {errc::value_too_large, "value too large:"},    {errc::timeout, "timeout:"},
      {errc::tier_not_configured, "tier not config"}, {errc::invalid_ttl, "invalid ttl:"},
      {errc::access_denied, "access denied:"},        {errc::not_found, "not found:"},
      {errc::name_too_long, "name too long"}};
  for (const auto& [code, start] : starts)
    EXPECT_EQ(std::error_code(code).message().rfind(start, 0), 0u) << start;
  EXPECT_EQ(error_category().message(0), "unknown strata error");
  EXPECT_EQ(error_category().message(static_cast<int>(errc::name_too_long) + 1),
            "unknown strata error");
  EXPECT_EQ(error_category().message(-1), "unknown strata error");
}

TEST(BatchResultTest, UnmarkedPositionIsOutcomeUnknownNotStored) {
  BatchResult result(3);
  result.mark_stored(1);
  EXPECT_FALSE(result.stored(0));
  EXPECT_EQ(result.error(0), errc::outcome_unknown);
  EXPECT_TRUE(result.stored(1));
  EXPECT_FALSE(result.error(1));
  EXPECT_EQ(result.stored_count(), 1u);
}

TEST(BatchResultTest, MarksOverrideEachOtherAcrossTheBitmapBoundary) {
  for (std::size_t size : {1u, 63u, 64u, 65u, 1000u}) {
    BatchResult result(size);
    result.mark_all_stored();
    EXPECT_TRUE(result.all_stored()) << size;
    result.mark_failed(size - 1, errc::timeout);
    EXPECT_EQ(result.stored_count(), size - 1);
    EXPECT_EQ(result.error(size - 1), errc::timeout);
    result.mark_stored(size - 1);
    EXPECT_TRUE(result.all_stored());
    EXPECT_FALSE(result.error(size - 1));
  }
}

TEST(BatchResultTest, ConvertsToTheSetOfStoredKeysAndIteratesFailures) {
  const std::vector<std::string> keys{"a", "b", "c", "d"};
  BatchResult result(keys.size());
  result.attach_keys(keys);
  result.mark_stored(0);
  result.mark_failed(1, errc::timeout);
  result.mark_stored(2);
  const std::set<std::string, std::less<>> stored = result;
  EXPECT_EQ(stored, (std::set<std::string, std::less<>>{"a", "c"}));
  std::vector<std::string> failed;
  for (const Failure& f : result.failures())
    failed.push_back(std::string(f.key) + "=" + f.error.message().substr(0, 7));
  EXPECT_EQ(failed, (std::vector<std::string>{"b=timeout", "d=outcome"}));
}

TEST(BatchResultTest, MovedFromIsEmpty) {
  BatchResult a(200);
  a.mark_all_stored();
  BatchResult b = std::move(a);
  EXPECT_EQ(b.stored_count(), 200u);
  EXPECT_EQ(a.size(), 0u);  // NOLINT(bugprone-use-after-move): the documented state
  EXPECT_EQ(a.stored_count(), 0u);
}

TEST(BatchResultTest, SuccessPathAllocatesPerBatchNotPerKey) {
  std::vector<std::string> keys;
  keys.reserve(1000);
  for (int i = 0; i < 1000; ++i)
    keys.push_back("key-number-" + std::to_string(i) + "-long-enough-to-allocate");
  {  // the counter sees allocations at all (plain build and ASan alike)
    const std::size_t start = testing::allocations();
    const std::vector<std::string> probe(3, std::string(64, 'x'));
    EXPECT_GE(testing::allocations() - start, 4u);
    EXPECT_EQ(probe.size(), 3u);
  }
  const std::size_t before = testing::allocations();
  {
    BatchResult result(keys.size());
    result.attach_keys(keys);
    result.mark_all_stored();
    EXPECT_TRUE(result.all_stored());
  }
  EXPECT_LE(testing::allocations() - before, 3u);  // bitmap, key bytes, key offsets
}

TEST(LoadResultTest, AbsentFoundAndFailedAreDistinct) {
  LoadResult result(3);
  result.set_found(0, "v");
  result.set_absent(1);
  result.set_failed(2, errc::backend_unavailable);
  EXPECT_TRUE(result[0].found());
  EXPECT_TRUE(result[1].absent());
  EXPECT_FALSE(result[1].failed());
  EXPECT_TRUE(result[2].failed());
  EXPECT_FALSE(result[2].absent());
  EXPECT_EQ(result.found_count(), 1u);
  EXPECT_EQ(result.count(LookupStatus::failed), 1u);
}

// A result read into again starts as a new one (every slot outcome_unknown,
// no value, no tag) and writes each value into the string that held the last
// one: no allocation while the values fit.
TEST(LoadResultTest, ResetKeepsNothingButTheStringsCapacity) {
  LoadResult result(2);
  const std::string long_value(200, 'x');
  result.set_found_copy(0, long_value, 7);
  result.set_found_copy(1, long_value);
  result.reset(3);
  ASSERT_EQ(result.size(), 3u);
  for (const Lookup& slot : result) {
    EXPECT_TRUE(slot.failed());
    EXPECT_EQ(slot.error, errc::outcome_unknown);
    EXPECT_TRUE(slot.value.empty());
    EXPECT_EQ(slot.codec_tag, 0);
  }
  const auto before = testing::allocations();
  result.reset(2);
  result.set_found_copy(0, std::string_view(long_value).substr(0, 150), 2);
  result.set_absent(1);
  EXPECT_EQ(testing::allocations() - before, 0u);
  EXPECT_TRUE(result[0].found());
  EXPECT_EQ(result[0].value, std::string(150, 'x'));
  EXPECT_EQ(result[0].codec_tag, 2);
  EXPECT_FALSE(result[0].error);
  EXPECT_TRUE(result[1].absent());
  result.reset(0);
  EXPECT_EQ(result.size(), 0u);
}

}  // namespace
}  // namespace strata

namespace strata {
namespace {

TEST(Formatters, ErrorsAndBatchResultsReadWellInALog) {
  EXPECT_EQ(fmt::format("{}", errc::invalid_key).rfind("strata: invalid key: a key must be", 0),
            0u);
  EXPECT_EQ(fmt::format("{}", std::error_code(errc::timeout)).rfind("strata: timeout:", 0), 0u);
  EXPECT_EQ(fmt::format("{}", std::error_code{}), "success");
  EXPECT_EQ(fmt::format("{}", Tier::warm), "warm");

  BatchResult all(2);
  all.mark_all_stored();
  EXPECT_EQ(fmt::format("{}", all), "stored 2 of 2");

  const std::vector<Item> items{{"a", "1"}, {"b", "2"}, {"c", "3"},
                                {"d", "4"}, {"e", "5"}, {"f", "6"}};
  BatchResult some(items.size());
  some.attach_keys(items, &Item::key);
  some.mark_stored(0);
  for (std::size_t i = 1; i < items.size(); ++i) some.mark_failed(i, errc::backend_unavailable);
  const std::string line = fmt::format("{}", some);
  EXPECT_EQ(line.rfind("stored 1 of 6; failed #1 'b': strata: backend unavailable:", 0), 0u)
      << line;
  EXPECT_NE(line.find(", #3 'd': strata: backend unavailable"), std::string::npos) << line;
  EXPECT_EQ(line.find("'e'"), std::string::npos) << line;
  EXPECT_TRUE(line.ends_with(" (+2 more)")) << line;
}

// A backend answer that names keys reaches every position that asked for
// each key, and only those: duplicates, keys left out of the chunk, keys
// nobody asked for, and enough keys to fill the table past its inline size.
TEST(KeyPositions, EveryAnswerReachesEachPositionThatAskedForItsKey) {
  std::vector<std::string> owned;
  owned.reserve(301);
  for (int i = 0; i < 300; ++i) owned.push_back("key:" + std::to_string(i % 250));  // 50 twice
  owned.push_back("left-out");
  const std::vector<std::string_view> keys(owned.begin(), owned.end());
  std::vector<std::size_t> asked;
  for (std::size_t i = 0; i + 1 < keys.size(); ++i) asked.push_back(i);
  detail::KeyPositions index(keys, asked);

  std::vector<int> hits(keys.size(), 0);
  for (int i = 0; i < 250; ++i)
    EXPECT_TRUE(index.for_each("key:" + std::to_string(i), [&](std::size_t p) { ++hits[p]; }));
  for (std::size_t p = 0; p + 1 < keys.size(); ++p) EXPECT_EQ(hits[p], 1) << p;
  EXPECT_EQ(hits.back(), 0);
  EXPECT_FALSE(index.for_each("left-out", [&](std::size_t) { ADD_FAILURE(); }));
  EXPECT_FALSE(index.for_each("never-asked", [&](std::size_t) { ADD_FAILURE(); }));

  detail::KeyPositions none(keys, {});
  EXPECT_FALSE(none.for_each("key:1", [&](std::size_t) { ADD_FAILURE(); }));
}

// A batch sent in key order is placed by following its order while the
// answer does; an answer that skips keys, goes back, or names a key nobody
// asked for is still placed exactly, each position once.
TEST(KeyPositions, AnAscendingBatchIsPlacedExactlyWhateverOrderTheAnswerTakes) {
  std::vector<std::string> owned;
  owned.reserve(200);
  for (int i = 0; i < 200; ++i) owned.push_back(fmt::format("k:{:04}", i));
  const std::vector<std::string_view> keys(owned.begin(), owned.end());
  std::vector<std::size_t> asked;
  for (std::size_t i = 0; i < keys.size(); i += 2) asked.push_back(i);  // every other key

  std::vector<int> hits(keys.size(), 0);
  detail::KeyPositions index(keys, asked);
  const auto count = [&](std::string_view key) {
    return index.for_each(key, [&](std::size_t p) {
      EXPECT_EQ(keys[p], key);
      ++hits[p];
    });
  };
  for (std::size_t i = 0; i < 40; i += 2) EXPECT_TRUE(count(keys[i]));    // in order
  for (std::size_t i = 60; i < 100; i += 2) EXPECT_TRUE(count(keys[i]));  // 40-58 absent
  EXPECT_FALSE(count(keys[101]));                                         // never asked
  EXPECT_FALSE(count("k:9999"));
  for (std::size_t i = 198; i >= 100; i -= 2) EXPECT_TRUE(count(keys[i]));  // backwards
  for (std::size_t i = 40; i < 60; i += 2) EXPECT_TRUE(count(keys[i]));     // late
  for (std::size_t p = 0; p < keys.size(); ++p) EXPECT_EQ(hits[p], p % 2 == 0 ? 1 : 0) << p;
}

TEST(Entropy, SplitMix64StaysWithinItsBoundAndReachesBothEnds) {
  // The published first output for seed 0 (Vigna's splitmix64.c reference).
  EXPECT_EQ(detail::SplitMix64(0).next(), 0xE220A8397B1DCDAFULL);
  detail::SplitMix64 random(20261204);
  std::set<std::uint64_t> seen;
  for (int i = 0; i < 10'000; ++i) {
    const std::uint64_t n = random.up_to(9);
    ASSERT_LE(n, 9U);
    seen.insert(n);
  }
  EXPECT_EQ(seen.size(), 10U);  // every value of [0, 9], both ends included
  EXPECT_EQ(random.up_to(0), 0U);
}

TEST(Entropy, SeedsDifferBetweenCallsAndThreads) {
  EXPECT_NE(detail::entropy64(), detail::entropy64());
  const std::uint64_t here = detail::thread_random().next();
  std::uint64_t there = here;
  std::thread([&] { there = detail::thread_random().next(); }).join();
  EXPECT_NE(here, there);
}

TEST(SideCall, ReturnsTheCallsResultFromAnotherThread) {
  detail::SideCall<std::thread::id> call;
  EXPECT_FALSE(call.started());
  ASSERT_TRUE(call.start([] { return std::this_thread::get_id(); }));
  EXPECT_TRUE(call.started());
  const std::thread::id ran_on = call.get();
  EXPECT_FALSE(call.started());
  EXPECT_NE(ran_on, std::this_thread::get_id());
  EXPECT_NE(ran_on, std::thread::id{});
}

TEST(SideCall, GetRethrowsWhatTheCallThrew) {
  detail::SideCall<int> call;
  ASSERT_TRUE(call.start([]() -> int { throw std::runtime_error("tier exploded"); }));
  EXPECT_THROW(
      {
        try {
          (void)call.get();
        } catch (const std::runtime_error& e) {
          EXPECT_STREQ(e.what(), "tier exploded");
          throw;
        }
      },
      std::runtime_error);
}

TEST(SideCall, ADestroyedCallIsJoinedFirst) {
  int written = 0;
  {
    detail::SideCall<int> call;
    ASSERT_TRUE(call.start([&written] {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      written = 1;
      return written;
    }));
  }  // destroyed without get(): joins, as std::async's future does
  EXPECT_EQ(written, 1);
}

}  // namespace
}  // namespace strata
