// RedisRepository against the real server: round trips, TTL through PX,
// chunking, scan, and what happens when the server or the credentials are
// wrong. These tests run serially (ctest RUN_SERIAL): some break connections.
#include "redis_server.hpp"
#include "support/temp_dir.hpp"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace strata::testing {
namespace {

/// Runs one command on a connection of its own, as an operator would.
std::string redis_cli(const std::vector<std::string>& args) {
  redisContext* c = redisConnect("127.0.0.1", redis_port());
  EXPECT_TRUE(c != nullptr && c->err == 0) << "no Redis on 127.0.0.1:" << redis_port();
  std::vector<const char*> argv;
  std::vector<std::size_t> lens;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  auto* reply = static_cast<redisReply*>(
      redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data()));
  std::string out;
  if (reply != nullptr) {
    if (reply->str != nullptr) out.assign(reply->str, reply->len);
    if (reply->type == REDIS_REPLY_INTEGER) out = std::to_string(reply->integer);
    freeReplyObject(reply);
  }
  redisFree(c);
  return out;
}

TEST(Redis, TheTestServerIsReachable) {
  RedisRepository repo(redis_test_options());
  EXPECT_FALSE(repo.check_connection()) << "start it with scripts/servers.sh start";
  EXPECT_TRUE(repo.ping());
}

TEST(Redis, StoresLoadsAndErasesAcrossChunksBinarySafe) {
  RedisRepository repo(redis_test_options());
  std::vector<std::string> keys, values;
  for (int i = 0; i < 2500; ++i) {
    keys.push_back("k:" + std::to_string(i));
    values.push_back(std::string("\0\r\n", 3) + std::to_string(i));
  }
  std::vector<Record> records;
  for (std::size_t i = 0; i < keys.size(); ++i) records.push_back({keys[i], values[i]});
  ASSERT_TRUE(repo.store_many(records).all_stored());
  std::vector<std::string_view> views(keys.begin(), keys.end());
  views.push_back("k:missing");
  const LoadResult loaded = repo.load_many(views);
  for (std::size_t i = 0; i < keys.size(); ++i) EXPECT_EQ(loaded[i].value, values[i]);
  EXPECT_TRUE(loaded[keys.size()].absent());
  EXPECT_EQ(repo.erase_many(views).erased, keys.size());
  EXPECT_EQ(repo.load_many(views).found_count(), 0u);
}

TEST(Redis, ExpiryTravelsAsPxAndTheServerHonoursIt) {
  RedisOptions options = redis_test_options();
  RedisRepository repo(options);
  const TimePoint now = Clock{}.now();
  const std::vector<Record> records{{"short", "a", now + Millis{150}},
                                    {"long", "b", now + Millis{60'000}},
                                    {"past", "c", now - Millis{1}}};
  ASSERT_TRUE(repo.store_many(records).all_stored());
  const std::string pttl = redis_cli({"PTTL", options.key_prefix + "long"});
  EXPECT_GT(std::stoll(pttl), 50'000);
  EXPECT_EQ(redis_cli({"EXISTS", options.key_prefix + "past"}), "0");
  std::this_thread::sleep_for(Millis{300});
  const std::vector<std::string_view> keys{"short", "long"};
  const LoadResult loaded = repo.load_many(keys);
  EXPECT_TRUE(loaded[0].absent());
  EXPECT_EQ(loaded[1].value, "b");
}

TEST(Redis, ScanWalksEveryPrefixedKeyWithRedisCursor) {
  RedisRepository repo(redis_test_options());
  std::vector<std::string> keys;
  keys.reserve(301);
  for (int i = 0; i < 300; ++i) keys.push_back("p*[x]:" + std::to_string(i));  // glob characters
  keys.push_back("q:0");
  std::vector<Record> records;
  records.reserve(keys.size());
  for (const auto& key : keys) records.push_back({key, "v"});
  ASSERT_TRUE(repo.store_many(records).all_stored());
  std::set<std::string> seen;
  std::string cursor;
  for (int pages = 0;; ++pages) {
    ASSERT_LT(pages, 10'000);
    const ScanPage page = repo.scan("p*[x]:", cursor, 50);
    ASSERT_FALSE(page.error);
    for (const auto& record : page.records) seen.insert(record.key);
    if (page.done) break;
    cursor = page.next_cursor;
  }
  EXPECT_EQ(seen.size(), 300u);
  EXPECT_FALSE(seen.contains("q:0"));
}

TEST(Redis, ScanPagesHoldAtMostTheLimitAndLoseNothing) {
  // The review's case: 200 keys scanned with limit 7 gave pages of 8 (Redis
  // treats COUNT as a hint). Every page holds at most the limit; the surplus
  // comes on the next one, none twice.
  RedisRepository repo(redis_test_options());
  std::vector<std::string> keys;
  keys.reserve(200);
  for (int i = 0; i < 200; ++i) keys.push_back("lim:" + std::to_string(i));
  std::vector<Record> records;
  records.reserve(keys.size());
  for (const auto& key : keys) records.push_back({key, "v"});
  ASSERT_TRUE(repo.store_many(records).all_stored());
  for (const std::size_t limit : {1u, 7u, 64u}) {
    std::multiset<std::string> seen;
    std::string cursor;
    for (int pages = 0;; ++pages) {
      ASSERT_LT(pages, 10'000);
      const ScanPage page = repo.scan("lim:", cursor, limit);
      ASSERT_FALSE(page.error) << page.error.message();
      EXPECT_LE(page.records.size(), limit);
      for (const auto& record : page.records) seen.insert(record.key);
      if (page.done) break;
      cursor = page.next_cursor;
    }
    EXPECT_EQ(seen.size(), 200u) << limit;
    EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), 200u) << limit;
  }
}

TEST(Redis, AKeyOfAnotherTypeIsCorruptNotAbsentAndAScanSaysSo) {
  // Someone else's hash and list under strata's prefix: MGET answers nil for
  // them as for a missing key; strata must not read them as absent.
  const RedisOptions options = redis_test_options();
  RedisRepository repo(options);
  const std::vector<Record> records{{"ft:string", "v"}};
  ASSERT_TRUE(repo.store_many(records).all_stored());
  ASSERT_EQ(redis_cli({"HSET", options.key_prefix + "ft:hash", "field", "v"}), "1");
  ASSERT_EQ(redis_cli({"RPUSH", options.key_prefix + "ft:list", "v"}), "1");
  const std::vector<std::string_view> keys{"ft:hash", "ft:string", "ft:missing", "ft:list"};
  const LoadResult loaded = repo.load_many(keys);
  EXPECT_EQ(loaded[0].error, errc::corrupt_record);
  EXPECT_EQ(loaded[1].value, "v");
  EXPECT_TRUE(loaded[2].absent());
  EXPECT_EQ(loaded[3].error, errc::corrupt_record);
  // A batch of misses alone stays absent (EXISTS counts none).
  const std::vector<std::string_view> missing{"ft:missing", "ft:missing-2"};
  EXPECT_EQ(repo.load_many(missing).count(LookupStatus::absent), 2u);
  // A scan does not drop them silently: the page holding them is an error.
  const auto scan_all = [&repo] {
    ScanPage all;
    for (std::string cursor;;) {
      ScanPage page = repo.scan("ft:", cursor, 100);
      if (page.error) return page;
      for (auto& record : page.records) all.records.push_back(std::move(record));
      if (page.done) return all;
      cursor = page.next_cursor;
    }
  };
  EXPECT_EQ(scan_all().error, errc::corrupt_record);
  redis_cli({"DEL", options.key_prefix + "ft:hash", options.key_prefix + "ft:list"});
  const ScanPage all = scan_all();
  EXPECT_FALSE(all.error);
  EXPECT_EQ(all.records.size(), 1u);
}

TEST(Redis, AnUnreachableServerIsAnErrorWithinTheTimeout) {
  RedisOptions options = redis_test_options();
  options.port = 1;  // nothing listens there
  options.connect_timeout = Millis{200};
  RedisRepository repo(options);
  const auto start = std::chrono::steady_clock::now();
  const Record record{"k", "v"};
  const BatchResult result = repo.store_many(std::span(&record, 1));
  EXPECT_EQ(result.error(0), errc::backend_unavailable);
  const std::string_view key = "k";
  EXPECT_EQ(repo.load_many(std::span(&key, 1))[0].error, errc::backend_unavailable);
  EXPECT_EQ(repo.erase_many(std::span(&key, 1)).error, errc::backend_unavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

TEST(Redis, RefusedCredentialsAreAccessDenied) {
  // The test server has no password, so any AUTH is refused: the error a
  // wrong password gives against a server that has one.
  RedisOptions options = redis_test_options();
  options.password = "not-the-password";
  RedisRepository repo(options);
  EXPECT_EQ(repo.check_connection(), errc::access_denied);
  const Record record{"k", "v"};
  EXPECT_EQ(repo.store_many(std::span(&record, 1)).error(0), errc::access_denied);
}

TEST(Redis, TheNextCallReconnectsAfterTheServerDropsConnections) {
  RedisOptions options = redis_test_options();
  options.pool.health_check_after = Millis{1'000'000};  // no ping: the first call meets the break
  RedisRepository repo(options);
  const Record record{"k", "v"};
  ASSERT_TRUE(repo.store_many(std::span(&record, 1)).all_stored());
  redis_cli({"CLIENT", "KILL", "TYPE", "normal"});  // the server drops every client
  const std::string_view key = "k";
  const LoadResult broken = repo.load_many(std::span(&key, 1));
  EXPECT_EQ(broken[0].error, errc::backend_unavailable);  // reported, not hidden
  const LoadResult again = repo.load_many(std::span(&key, 1));
  EXPECT_EQ(again[0].value, "v");  // the broken connection was discarded
  EXPECT_GE(repo.pool_stats().discarded, 1u);
}

TEST(Redis, AHealthCheckedPoolHidesADroppedIdleConnection) {
  RedisOptions options = redis_test_options();
  options.pool.health_check_after = Millis{0};
  RedisRepository repo(options);
  const Record record{"k", "v"};
  ASSERT_TRUE(repo.store_many(std::span(&record, 1)).all_stored());
  redis_cli({"CLIENT", "KILL", "TYPE", "normal"});
  const std::string_view key = "k";
  EXPECT_EQ(repo.load_many(std::span(&key, 1))[0].value, "v");
}

// With a check at every checkout (health_check_after 0), a connection at
// rest is judged by a peek at its socket, not a PING: no PING reaches the
// server, and one the server dropped meanwhile is still replaced unseen.
TEST(Redis, TheHealthCheckCostsNoRoundTripOnAConnectionAtRest) {
  RedisOptions options = redis_test_options();
  options.pool.health_check_after = Millis{0};
  RedisRepository repo(options);
  const Record record{"k", "v"};
  ASSERT_TRUE(repo.store_many(std::span(&record, 1)).all_stored());
  const auto pings = [] {
    const std::string stats = redis_cli({"INFO", "commandstats"});
    const std::size_t at = stats.find("cmdstat_ping:calls=");
    return at == std::string::npos ? 0L : std::stol(stats.substr(at + 19));
  };
  const long before = pings();
  const std::string_view key = "k";
  for (int i = 0; i < 20; ++i) ASSERT_EQ(repo.load_many(std::span(&key, 1))[0].value, "v");
  EXPECT_EQ(pings(), before);
  redis_cli({"CLIENT", "KILL", "TYPE", "normal"});
  EXPECT_EQ(repo.load_many(std::span(&key, 1))[0].value, "v");  // the dead one was replaced
  EXPECT_EQ(repo.pool_stats().discarded, 1u);
}

TEST(Redis, AWrongPasswordIsAccessDeniedAndTheRightOneWorks) {
  RedisProcess server(fresh_dir(), {"--requirepass", "s3cret"});
  server.probe_password("s3cret");
  server.start();
  if (HasFatalFailure()) return;
  RedisOptions options = redis_test_options();
  options.port = kill_port();
  options.password = "wrong";
  RedisRepository wrong(options);
  EXPECT_EQ(wrong.check_connection(), errc::access_denied);
  const Record record{"k", "v"};
  EXPECT_EQ(wrong.store_many(std::span(&record, 1)).error(0), errc::access_denied);
  // No password at all against a server that wants one (NOAUTH) is refused
  // credentials too, not "could not be reached"; with a database, as well.
  options.password.clear();
  for (const int db : {0, 3}) {
    options.db = db;
    RedisRepository none(options);
    EXPECT_EQ(none.check_connection(), errc::access_denied) << db;
    const std::string_view key = "k";
    EXPECT_EQ(none.load_many(std::span(&key, 1))[0].error, errc::access_denied) << db;
  }
  options.db = 0;
  options.password = "s3cret";
  RedisRepository right(options);
  EXPECT_TRUE(right.store_many(std::span(&record, 1)).all_stored());
}

TEST(Redis, TheNextCallReconnectsAfterAServerRestart) {
  RedisProcess server(fresh_dir());
  server.start();
  if (HasFatalFailure()) return;
  RedisOptions options = redis_test_options();
  options.port = kill_port();
  options.pool.health_check_after = Millis{1'000'000};
  RedisRepository repo(options);
  const Record record{"k", "v"};
  ASSERT_TRUE(repo.store_many(std::span(&record, 1)).all_stored());
  server.kill9();
  server.start();  // the append-only file brings "k" back
  if (HasFatalFailure()) return;
  const std::string_view key = "k";
  const LoadResult first = repo.load_many(std::span(&key, 1));  // meets the dead connection
  EXPECT_TRUE(first[0].failed());
  EXPECT_EQ(repo.load_many(std::span(&key, 1))[0].value, "v");  // reconnected
}

TEST(Redis, PoolExhaustionIsReportedWithinTheCheckoutTimeout) {
  RedisOptions options = redis_test_options();
  options.pool = PoolOptions{.size = 1, .max_overflow = 0, .checkout_timeout = Millis{100}};
  options.command_timeout = Millis{5000};
  RedisRepository repo(options);
  ASSERT_FALSE(repo.check_connection());
  redis_cli({"CLIENT", "PAUSE", "700"});  // the server holds every command for 0.7 s
  std::thread holder([&] {
    const std::string_view key = "k";
    repo.load_many(std::span(&key, 1));  // holds the only connection while paused
  });
  std::this_thread::sleep_for(Millis{100});
  const auto start = std::chrono::steady_clock::now();
  const std::string_view key = "k";
  const LoadResult starved = repo.load_many(std::span(&key, 1));
  const auto waited = std::chrono::steady_clock::now() - start;
  holder.join();
  EXPECT_EQ(starved[0].error, errc::pool_exhausted);
  EXPECT_LT(waited, Millis{600});  // gave up at the checkout timeout, not after the pause
}

}  // namespace
}  // namespace strata::testing
