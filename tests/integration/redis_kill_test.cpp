// kill -9 of Redis in the middle of a large batch_set, then a restart: strata
// must have been exactly honest about what was stored. This test runs its own
// redis-server (appendonly yes, appendfsync always, so every acknowledged EXEC
// is on disk) on 127.0.0.1:STRATA_REDIS_KILL_PORT (default 16380), and really
// kills it.
#include "redis_server.hpp"
#include "support/temp_dir.hpp"

#include <strata/strata.hpp>

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

namespace strata::testing {
namespace {

TEST(RedisKill, AcknowledgedWritesSurviveKillNineAndFailuresAreAbsent) {
  constexpr std::size_t keys_per_batch = 200'000;
  constexpr std::size_t chunk = 5'000;
  constexpr int trials_wanted = 3;

  int conclusive = 0;
  for (int attempt = 0; attempt < 10 && conclusive < trials_wanted; ++attempt) {
    RedisProcess server(fresh_dir());
    server.start();
    if (HasFatalFailure()) return;

    RedisOptions options = redis_test_options();
    options.port = kill_port();
    options.chunk_size = chunk;
    options.command_timeout = Millis{2000};
    using Store = TieredStore<LruCache<>, FixedRouter<Tier::hot>, RedisRepository, NoTier, NoTier>;
    Store store(StoreOptions{}, RedisRepository(options), NoTier{}, NoTier{},
                LruCache<>(LruOptions{.max_entries = 0, .max_bytes = 0}));

    std::vector<std::string> keys, values;
    keys.reserve(keys_per_batch);
    values.reserve(keys_per_batch);
    for (std::size_t i = 0; i < keys_per_batch; ++i) {
      keys.push_back("kill:" + std::to_string(attempt) + ":" + std::to_string(i));
      values.push_back("value-" + std::to_string(i) + std::string(32, 'v'));
    }
    std::vector<Item> items;
    items.reserve(keys_per_batch);
    for (std::size_t i = 0; i < keys_per_batch; ++i) items.push_back({keys[i], values[i]});

    // Kill the server once 25%, 45%, 65%... of the batch has landed, plus an
    // odd amount, so that trials break different chunks at different points.
    const auto kill_at =
        static_cast<long long>(keys_per_batch * (5 + 4 * attempt % 15) / 20 + 1234);
    std::thread killer([&] {
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
      while (std::chrono::steady_clock::now() < deadline && server.dbsize() < kill_at)
        std::this_thread::sleep_for(Millis{1});
      server.kill9();
    });
    const BatchResult result = store.batch_set(items);
    killer.join();

    const std::size_t stored = result.stored_count();
    if (stored == 0 || stored == keys_per_batch) continue;  // the kill missed the batch: retry
    ++conclusive;

    // What the cache holds now must all be in storage after the restart.
    std::vector<bool> cached(keys_per_batch);
    const TimePoint now = Clock{}.now();
    for (std::size_t i = 0; i < keys_per_batch; ++i) {
      cached[i] = store.cache().find(keys[i], now).has_value();
      if (cached[i]) {
        EXPECT_TRUE(result.stored(i)) << keys[i] << " is cached but was not reported stored";
      }
    }

    server.start();  // replays the append-only file
    if (HasFatalFailure()) return;
    std::size_t unknown_present = 0, unknown_total = 0;
    for (std::size_t first = 0; first < keys_per_batch; first += chunk) {
      const std::vector<std::string_view> views(
          keys.begin() + static_cast<std::ptrdiff_t>(first),
          keys.begin() + static_cast<std::ptrdiff_t>(first + chunk));
      const LoadResult loaded = store.tier<Tier::hot>().load_many(views);
      std::size_t present = 0;
      for (std::size_t j = 0; j < chunk; ++j) {
        const std::size_t i = first + j;
        ASSERT_FALSE(loaded[j].failed()) << loaded[j].error.message();
        if (loaded[j].found()) {
          ++present;
          const DecodedEnvelope decoded = decode_envelope(views[j], loaded[j].value);
          ASSERT_TRUE(decoded) << keys[i];
          EXPECT_EQ(decoded.envelope.value, values[i]) << keys[i];
        }
        if (cached[i]) {
          EXPECT_TRUE(loaded[j].found()) << keys[i] << " is cached but not stored";
        }
        if (result.stored(i)) {
          EXPECT_TRUE(loaded[j].found()) << keys[i] << " was reported stored";
        } else if (result.error(i) != errc::outcome_unknown) {
          EXPECT_FALSE(loaded[j].found()) << keys[i] << " was reported failed";
        }
      }
      if (result.error(first) == errc::outcome_unknown) {
        unknown_total += chunk;
        unknown_present += present;
        // MULTI/EXEC: the chunk in flight landed whole or not at all.
        EXPECT_TRUE(present == 0 || present == chunk) << present << " of the unknown chunk";
      }
    }
    EXPECT_LE(unknown_total, chunk);  // at most the one chunk in flight
    std::printf("trial %d: %zu of %zu keys stored before kill -9; unknown chunk %s\n", conclusive,
                stored, keys_per_batch,
                unknown_total == 0 ? "none"
                : unknown_present  ? "landed"
                                   : "lost");
  }
  EXPECT_EQ(conclusive, trials_wanted) << "the kill never landed mid-batch";
}

/// CONFIG SET on the test's own server.
void config_set(const char* name, const char* value) {
  redisContext* c = redisConnect("127.0.0.1", kill_port());
  ASSERT_TRUE(c != nullptr && c->err == 0);
  auto* reply = static_cast<redisReply*>(redisCommand(c, "CONFIG SET %s %s", name, value));
  ASSERT_TRUE(reply != nullptr && reply->type == REDIS_REPLY_STATUS) << name;
  freeReplyObject(reply);
  redisFree(c);
}

TEST(RedisFault, AServerOutOfMemoryRefusesWholeTransactionsAndStoresThemWhenMemoryIsBack) {
  RedisProcess server(fresh_dir(), {"--maxmemory-policy", "noeviction"});
  server.start();
  if (HasFatalFailure()) return;
  RedisOptions options = redis_test_options();
  options.port = kill_port();
  options.chunk_size = 500;
  RedisRepository repo(options);

  std::vector<std::string> keys, values;
  for (int i = 0; i < 1200; ++i) {
    keys.push_back("oom:" + std::to_string(i));
    values.push_back("value " + std::to_string(i));
  }
  const TimePoint later = Clock{}.now() + std::chrono::minutes(1);
  std::vector<Record> records;
  for (std::size_t i = 0; i < keys.size(); ++i)  // MSET and SET PX in every chunk
    records.push_back({keys[i], values[i], i % 3 == 0 ? std::optional(later) : std::nullopt});
  const std::span<const Record> first_ten(records.data(), 10);
  ASSERT_TRUE(repo.store_many(first_ten).all_stored());

  // Below what the server already uses: every write is refused with OOM when
  // queued, so each chunk's EXEC is EXECABORT: nothing of it applied.
  config_set("maxmemory", "1");
  const BatchResult refused = repo.store_many(records);
  for (std::size_t i = 0; i < records.size(); ++i)
    ASSERT_EQ(refused.error(i), errc::backend_unavailable) << keys[i];
  EXPECT_EQ(server.dbsize(), 10);
  // Reads and deletes need no memory: they go on.
  const std::vector<std::string_view> views(keys.begin(), keys.begin() + 10);
  const LoadResult loaded = repo.load_many(views);
  for (std::size_t i = 0; i < views.size(); ++i) EXPECT_EQ(loaded[i].value, values[i]);
  EXPECT_EQ(repo.erase_many(std::span(views).subspan(0, 1)).erased, 1u);

  config_set("maxmemory", "0");
  EXPECT_TRUE(repo.store_many(records).all_stored());
  EXPECT_EQ(server.dbsize(), static_cast<long long>(records.size()));
}

}  // namespace
}  // namespace strata::testing
