// PostgresRepository against the real server scripts/servers.sh started:
// hostile keys and table names, the two write paths, duplicates, expiry,
// scan, purge, concurrent migration by several processes, and what a wrong
// password or an unreachable server looks like.
#include "postgres_server.hpp"

#include <strata/core/any_repository.hpp>
#include <strata/strata.hpp>

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

namespace strata::testing {
namespace {

using Clock_ = std::chrono::steady_clock;

std::vector<Record> records_of(const std::vector<std::string>& keys,
                               const std::vector<std::string>& envelopes,
                               std::optional<TimePoint> expires_at = std::nullopt) {
  std::vector<Record> records;
  for (std::size_t i = 0; i < keys.size(); ++i)
    records.push_back({keys[i], envelopes[i], expires_at});
  return records;
}

LoadResult load(PostgresRepository& repo, const std::vector<std::string>& keys) {
  const std::vector<std::string_view> views(keys.begin(), keys.end());
  return repo.load_many(views);
}

TEST(Postgres, HostileKeysRoundTripOrFailAloneAndTheTableSurvives) {
  using Store = TieredStore<NoCache, FixedRouter<Tier::warm>, NoTier, PostgresRepository, NoTier>;
  Store store(StoreOptions{}, NoTier{}, PostgresRepository(postgres_test_options()), NoTier{});
  ASSERT_FALSE(store.set("before", "kept"));

  const std::string max_key(max_key_bytes, '~');
  const std::vector<std::string> good{"quote'd",      "double\"quote", "back\\slash", "semi;colon",
                                      "';DROP_TABLE", "$1::text",      "%_like*?[",   max_key};
  const std::vector<std::string> bad{"'; DROP TABLE strata_records; --", "ключ",
                                     std::string("nul\0in", 6),
                                     std::string(max_key_bytes + 1, 'k')};
  std::vector<std::string> values;
  std::vector<Item> items;
  values.reserve(good.size());
  items.reserve(good.size() + bad.size());
  for (const auto& key : good) values.push_back(std::string("v\0\xff\r\n'", 6) + key);
  for (std::size_t i = 0; i < good.size(); ++i) items.push_back({good[i], values[i]});
  for (const auto& key : bad) items.push_back({key, "never"});

  const BatchResult result = store.batch_set(items);
  for (std::size_t i = 0; i < good.size(); ++i) EXPECT_TRUE(result.stored(i)) << good[i];
  for (std::size_t i = good.size(); i < items.size(); ++i)
    EXPECT_EQ(result.error(i), errc::invalid_key) << items[i].key;

  const LoadResult loaded = store.batch_get(good);
  for (std::size_t i = 0; i < good.size(); ++i) {
    ASSERT_TRUE(loaded[i].found()) << good[i];
    EXPECT_EQ(loaded[i].value, values[i]) << good[i];
  }
  EXPECT_EQ(store.get("before").value, "kept");
  EXPECT_EQ(store.tier<Tier::warm>().scan("", "", 100).records.size(), good.size() + 1);
}

TEST(Postgres, HostileTableNamesAreRejectedAtConstruction) {
  for (const std::string& name :
       std::vector<std::string>{"x; DROP TABLE strata_records", "a\"b", "", "1abc", "sp ace",
                                "dash-ed", "ключ", std::string(49, 't')}) {
    PostgresOptions options = postgres_test_options();
    options.table = name;
    EXPECT_THROW(PostgresRepository{options}, ConfigError) << name;
  }
  PostgresOptions options = postgres_test_options();
  options.table = "Mixed_Case_" + options.table;  // quoted, so the case is kept
  PostgresRepository repo(options);
  const Record record{"k", "v", std::nullopt};
  EXPECT_TRUE(repo.store_many(std::span(&record, 1)).all_stored());
}

// A load of thousands of keys, in one query or in chunks: every position
// gets its own key's answer whichever query carried it, in descending and in
// ascending key order (the row placement's two paths), with duplicates,
// absent keys and an invalid key among them, into a new result and into one
// that held an earlier answer.
TEST(Postgres, ALargeLoadAnswersEveryPositionWithItsOwnKey) {
  for (std::size_t chunk : {std::size_t{100'000}, std::size_t{6'000}}) {
    PostgresOptions options = postgres_test_options();
    options.load_chunk_size = chunk;  // 10,000 keys in one query, or in two
    PostgresRepository repo(options);
    std::vector<std::string> stored, envelopes;
    for (int i = 0; i < 9'000; ++i) {
      stored.push_back(fmt::format("part:{:05}", i));
      envelopes.push_back(fmt::format("e{}", i * 7));
    }
    ASSERT_TRUE(repo.store_many(records_of(stored, envelopes)).all_stored());

    std::vector<std::string> keys;  // descending, every tenth followed by an absent key
    for (int i = 8'999; i >= 0; --i) {
      keys.push_back(stored[static_cast<std::size_t>(i)]);
      if (i % 10 == 0) keys.push_back(fmt::format("part:absent:{}", i));
    }
    for (int i = 0; i < 50; ++i) keys.push_back(stored[static_cast<std::size_t>(i) * 3]);
    keys.push_back("bad key");
    ASSERT_GE(keys.size(), 9'000u + 900u + 50u);

    const auto check = [&](const LoadResult& got, const std::vector<std::string>& asked) {
      ASSERT_EQ(got.size(), asked.size());
      for (std::size_t i = 0; i < asked.size(); ++i) {
        const std::string& key = asked[i];
        if (key == "bad key") {
          EXPECT_EQ(got[i].error, errc::invalid_key);
        } else if (key.starts_with("part:absent:")) {
          EXPECT_TRUE(got[i].absent()) << key;
        } else {
          const std::size_t n = std::stoul(key.substr(5));
          ASSERT_TRUE(got[i].found()) << key << " (chunk " << chunk << ")";
          EXPECT_EQ(got[i].value, envelopes[n]) << key;
        }
      }
    };
    check(load(repo, keys), keys);
    // In ascending order, into a result that held the answer above.
    std::vector<std::string> ascending = keys;
    std::sort(ascending.begin(), ascending.end());
    ascending.erase(std::unique(ascending.begin(), ascending.end()), ascending.end());
    LoadResult reused = load(repo, keys);
    const std::vector<std::string_view> views(ascending.begin(), ascending.end());
    repo.load_many_into(views, reused);
    check(reused, ascending);

    // The same through AnyRepository, which forwards the in-place forms.
    AnyRepository any(PostgresRepository(options), "postgres");
    any.load_many_into(std::span<const std::string_view>(views).first(100), reused);
    check(reused, std::vector<std::string>(ascending.begin(), ascending.begin() + 100));
    ScanPage page = any.scan("part:", "", 5'000);
    any.scan_into("part:0000", "", 5'000, page);
    ASSERT_EQ(page.records.size(), 10u);  // part:00000 .. part:00009
    EXPECT_EQ(page.records[9].envelope, envelopes[9]);

    const std::vector<std::string_view> all(stored.begin(), stored.end());
    EXPECT_EQ(repo.erase_many(all).erased, stored.size());
  }
}

TEST(Postgres, BothWritePathsStoreTheSameRowsAndTheLastDuplicateWins) {
  PostgresOptions by_unnest = postgres_test_options(), by_copy = postgres_test_options();
  by_unnest.copy_threshold = 1'000'000;
  by_copy.copy_threshold = 1;
  PostgresRepository unnest(by_unnest), copy(by_copy);

  std::vector<std::string> keys, envelopes;
  for (int i = 0; i < 2500; ++i) {                   // three chunks of 1000
    keys.push_back("k" + std::to_string(i % 2000));  // the last 500 overwrite the first
    envelopes.push_back("e" + std::to_string(i) + std::string(i % 7, '\0'));
  }
  const auto expiry = TimePoint{Millis{4'102'444'800'000}};  // 2100
  auto records = records_of(keys, envelopes);
  for (std::size_t i = 0; i < records.size(); i += 3) records[i].expires_at = expiry;
  EXPECT_TRUE(unnest.store_many(records).all_stored());
  EXPECT_TRUE(copy.store_many(records).all_stored());

  // Within one chunk too: the later write of a key wins.
  const std::vector<Record> twice{{"dup", "first", std::nullopt}, {"dup", "second", std::nullopt}};
  EXPECT_TRUE(unnest.store_many(twice).all_stored());
  EXPECT_TRUE(copy.store_many(twice).all_stored());
  keys.push_back("dup");

  const LoadResult a = load(unnest, keys), b = load(copy, keys);
  for (std::size_t i = 0; i < keys.size(); ++i) {
    ASSERT_TRUE(a[i].found() && b[i].found()) << keys[i];
    EXPECT_EQ(a[i].value, b[i].value) << keys[i];
  }
  EXPECT_EQ(a[0].value, envelopes[2000]);  // k0 was written at 0 and again at 2000
  EXPECT_EQ(a[1999].value, envelopes[1999]);
  EXPECT_EQ(a[keys.size() - 1].value, "second");
}

TEST(Postgres, ConcurrentWritersOfTheSameKeysAllSucceed) {
  // Each chunk is one INSERT ... ON CONFLICT DO UPDATE, or a COPY while the
  // keys written last were new: a writer whose COPY meets keys another one
  // inserted meanwhile (unique_violation), or whose upsert deadlocks, is
  // rolled back and upserts again; none fails.
  for (const std::size_t copy_threshold : {std::size_t{1}, std::size_t{1'000'000}}) {
    SCOPED_TRACE(copy_threshold == 1 ? "COPY path" : "upsert path");
    PostgresOptions options = postgres_test_options();
    options.copy_threshold = copy_threshold;
    PostgresRepository repo(options);
    std::vector<std::string> keys, envelopes;
    for (int i = 0; i < 300; ++i) {
      keys.push_back("race:" + std::to_string(i));
      envelopes.push_back("e" + std::to_string(i));
    }
    const std::vector<Record> records = records_of(keys, envelopes);
    std::atomic<int> failures{0};
    std::vector<std::thread> writers;
    writers.reserve(4);
    for (int w = 0; w < 4; ++w)
      writers.emplace_back([&] {
        for (int round = 0; round < 25; ++round)
          failures += static_cast<int>(repo.store_many(records).failed_count());
      });
    for (auto& writer : writers) writer.join();
    EXPECT_EQ(failures.load(), 0);
    const LoadResult loaded = load(repo, keys);
    EXPECT_EQ(loaded.found_count(), keys.size());
  }
}

TEST(Postgres, ExpiryEraseCountScanAndPurgeFollowTheRepositoryClock) {
  ManualClock clock;
  PostgresRepository repo(postgres_test_options(clock.clock()));
  std::vector<Record> records;
  std::vector<std::string> keys;
  keys.reserve(31);
  for (int i = 0; i < 30; ++i) keys.push_back("s:" + std::to_string(100 + i));
  keys.push_back("other");
  std::vector<std::string> envelopes;  // Records borrow their bytes: these outlive them
  envelopes.reserve(keys.size());
  for (const auto& key : keys) envelopes.push_back("env" + key);
  for (std::size_t i = 0; i < keys.size(); ++i)
    records.push_back({keys[i], envelopes[i],
                       i % 3 == 0 ? std::optional(clock.now() + Millis{1000}) : std::nullopt});
  ASSERT_TRUE(repo.store_many(records).all_stored());

  // Pages of 7 over the prefix, in key order, every key once.
  std::vector<std::string> seen;
  std::string cursor;
  for (int page = 0; page < 10; ++page) {
    ScanPage p = repo.scan("s:", cursor, 7);
    ASSERT_FALSE(p.error);
    for (auto& r : p.records) {
      EXPECT_EQ(r.envelope, "env" + r.key);
      seen.push_back(r.key);
    }
    if (p.done) break;
    cursor = p.next_cursor;
  }
  EXPECT_EQ(seen, std::vector<std::string>(keys.begin(), keys.end() - 1));

  clock.advance(Millis{1000});  // a third of them expire, exactly now
  EXPECT_TRUE(load(repo, {"s:100"})[0].absent());
  EXPECT_TRUE(load(repo, {"s:101"})[0].found());
  EXPECT_EQ(repo.scan("s:", "", 100).records.size(), 20u);
  const std::vector<std::string_view> erase{"s:100", "s:101", "s:102", "nope"};
  EXPECT_EQ(repo.erase_many(erase).erased, 2u);  // s:100 had expired: not counted
  EXPECT_EQ(repo.purge_expired(), 10u);          // the other expired ones, "other" among them
  EXPECT_EQ(repo.scan("", "", 100).records.size(), 31u - 3u - 10u);
}

TEST(Postgres, ProcessesOpeningAtOnceMigrateExactlyOnce) {
  const std::string table = fresh_table();
  std::vector<pid_t> children;
  for (int i = 0; i < 4; ++i) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      int status = 0;
      try {
        PostgresOptions options = postgres_test_options();
        options.table = table;
        PostgresRepository repo(options);
        const std::string key = "from-" + std::to_string(i);
        const Record record{key, "x", std::nullopt};
        status = repo.store_many(std::span(&record, 1)).all_stored() ? 0 : 2;
      } catch (...) {
        status = 1;
      }
      ::_exit(status);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  }
  PostgresOptions options = postgres_test_options();
  options.table = table;
  PostgresRepository repo(options);
  EXPECT_EQ(repo.scan("from-", "", 10).records.size(), 4u);
}

TEST(Postgres, AWrongPasswordIsAccessDeniedAndNoMessageCarriesAPassword) {
  const std::string wrong = "Wr0ng-Secret-Pw";
  PostgresOptions options = postgres_test_options();
  options.conninfo = postgres_conninfo(postgres_port(), wrong);
  try {
    PostgresRepository repo(options);
    FAIL() << "opened with a wrong password";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("access denied"), std::string::npos) << what;
    EXPECT_NE(what.find("authentication failed"), std::string::npos) << what;
    EXPECT_EQ(what.find(wrong), std::string::npos) << what;
  }
  // A conninfo that does not parse: libpq would quote it, password and all.
  options.conninfo = "host=127.0.0.1 password=" + wrong + " port";
  try {
    PostgresRepository repo(options);
    FAIL() << "a broken conninfo was accepted";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()).find(wrong), std::string::npos) << e.what();
  }
}

TEST(Postgres, AnUnreachableServerFailsWithinTheConnectTimeout) {
  PostgresOptions options = postgres_test_options();
  options.conninfo = postgres_conninfo(1, "pw-never-shown");  // nothing listens on port 1
  options.connect_timeout = Millis{1000};
  const auto start = Clock_::now();
  try {
    PostgresRepository repo(options);
    FAIL() << "connected to a closed port";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("backend unavailable"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find("pw-never-shown"), std::string::npos) << e.what();
  }
  EXPECT_LT(Clock_::now() - start, std::chrono::seconds(10));
}

TEST(Postgres, PoolExhaustionIsReportedWithinTheCheckoutTimeout) {
  PostgresOptions options = postgres_test_options();
  options.pool = PoolOptions{.size = 1, .max_overflow = 0, .checkout_timeout = Millis{200}};
  options.statement_timeout = Millis{0};
  PostgresRepository repo(options);
  const Record record{"a", "b", std::nullopt};
  ASSERT_TRUE(repo.store_many(std::span(&record, 1)).all_stored());

  // Hold the only connection in a long statement: a lock another session keeps.
  PGconn* locker = PQconnectdb(postgres_conninfo().c_str());
  ASSERT_EQ(PQstatus(locker), CONNECTION_OK);
  const std::string lock = "BEGIN; LOCK TABLE \"" + repo.table() + "\" IN ACCESS EXCLUSIVE MODE";
  PQclear(PQexec(locker, lock.c_str()));
  std::thread blocked([&] { repo.load_many(std::vector<std::string_view>{"a"}); });
  std::this_thread::sleep_for(Millis{300});  // the load holds the connection, waiting on the lock
  const auto start = Clock_::now();
  const BatchResult result = repo.store_many(std::span(&record, 1));
  const auto waited = Clock_::now() - start;
  EXPECT_EQ(result.error(0), errc::pool_exhausted);
  EXPECT_GE(waited, Millis{150});
  EXPECT_LT(waited, std::chrono::seconds(5));
  PQclear(PQexec(locker, "COMMIT"));
  blocked.join();
  PQfinish(locker);
  EXPECT_TRUE(repo.store_many(std::span(&record, 1)).all_stored());
}

}  // namespace
}  // namespace strata::testing
