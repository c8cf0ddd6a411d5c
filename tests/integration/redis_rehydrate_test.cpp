// The seed's outage, for real: rehydrating Redis from a WARM tier while the
// Redis server is killed. The report must name the page that failed and the
// cursor before it; after a restart, a re-run from that cursor completes the
// copy, and every key is in Redis byte for byte, none lost on the way.
#include "redis_server.hpp"
#include "support/temp_dir.hpp"

#include <strata/ops/rehydrate.hpp>
#include <strata/strata.hpp>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace strata::testing {
namespace {

TEST(RedisRehydrate, AServerKilledMidwayIsAFailedRangeAndARerunCompletesIt) {
  RedisProcess server(fresh_dir());
  server.start();
  if (HasFatalFailure()) return;
  RedisOptions options = redis_test_options();
  options.port = kill_port();
  options.command_timeout = Millis{1000};
  RedisRepository hot(options);

  MemoryRepository warm;
  std::map<std::string, std::string> expected;
  std::vector<Record> records;
  const TimePoint now = Clock{}.now();
  for (int i = 0; i < 20'000; ++i) {
    const std::string key = fmt::format("outage:{:06}", i);
    expected.emplace(
        key, encode_envelope(key, {now, now, std::nullopt, 0}, fmt::format("position {}", i)));
  }
  for (const auto& [key, envelope] : expected) records.push_back({key, envelope, std::nullopt});
  ASSERT_TRUE(warm.store_many(records).all_stored());

  // Kill -9 the server once five pages are in: the sixth cannot be written.
  RehydrateOptions rehydrate_options{.scan = {.page_size = 1000},
                                     .on_progress = [&](const RehydrateProgress& p) {
                                       if (p.pages == 5) server.kill9();
                                     }};
  const RehydrateReport failed = rehydrate(warm, hot, rehydrate_options);
  EXPECT_FALSE(failed.complete);
  // Refused, timed out, or cut after sending (the write may have landed): a
  // destination failure in every case, never blamed on the records.
  EXPECT_TRUE(failed.error == errc::backend_unavailable || failed.error == errc::timeout ||
              failed.error == errc::outcome_unknown)
      << failed.error.message();
  ASSERT_TRUE(failed.failed_range);
  EXPECT_EQ(failed.failed_range->first_key, "outage:005000");
  EXPECT_EQ(failed.failed_range->last_key, "outage:005999");
  EXPECT_EQ(failed.failed_range->keys, 1000u);
  EXPECT_EQ(failed.copied, 5000u);
  EXPECT_EQ(failed.cursor, "outage:004999");

  server.start();  // appendfsync always: what Redis acknowledged is back
  if (HasFatalFailure()) return;
  rehydrate_options.on_progress = nullptr;
  rehydrate_options.scan.cursor = failed.cursor;
  const RehydrateReport rerun = rehydrate(warm, hot, rehydrate_options);
  EXPECT_TRUE(rerun.ok()) << rerun.error.message();
  EXPECT_EQ(rerun.copied, 15'000u);

  std::vector<std::string_view> keys;
  for (const auto& [key, envelope] : expected) keys.push_back(key);
  const LoadResult in_redis = hot.load_many(keys);
  std::size_t identical = 0;
  for (std::size_t i = 0; i < keys.size(); ++i)
    identical += in_redis[i].found() && in_redis[i].value == expected[std::string(keys[i])];
  EXPECT_EQ(identical, expected.size());  // none lost, none altered
}

}  // namespace
}  // namespace strata::testing
