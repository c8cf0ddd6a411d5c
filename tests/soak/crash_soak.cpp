// Crash soaks (scripts/soak.sh; not part of CI): per backend, trials of a
// randomised crash during a large batch, and a pool hammered while its server
// is paused. Loopback only, bounded in trials and time.
//
// A trial: a TieredStore (LruCache in front of one network tier) writes a
// batch of random size, random values and a random mix of TTLs; at a random
// moment the server is crashed (Redis: SIGKILL of a server with appendonly
// yes, appendfsync always; PostgreSQL: pg_ctl -m immediate, or
// pg_terminate_backend of every session; S3: the connections cut and the
// server killed). After the restart the server's contents are compared with
// the BatchResult and with what the store's cache serves:
//  - a key reported stored is there, byte for byte (else: divergence);
//  - a key that failed with an error other than outcome_unknown is absent;
//  - an outcome_unknown group (a chunk of chunk_size records for Redis and
//    PostgreSQL, one object for S3) landed whole or not at all, never partly;
//  - the cache never serves a value the server does not hold.
// Each backend prints one row: trials, keys stored / failed / unknown, unknown
// groups landed whole / absent, divergences (must be 0).
//
//   STRATA_SOAK_TRIALS (default 100), STRATA_SOAK_POOL_SECONDS (default 60)
#include "postgres_server.hpp"
#include "redis_server.hpp"
#include "s3_server.hpp"
#include "support/temp_dir.hpp"
#include "tcp_cutter.hpp"

#include <strata/strata.hpp>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace strata::testing {
namespace {

int env_int(const char* name, int fallback) {
  const char* value = std::getenv(name);
  return value ? std::atoi(value) : fallback;
}

/// What the trials of one backend add up to.
struct Tally {
  std::size_t trials = 0, stored = 0, failed = 0, unknown = 0;
  std::size_t unknown_groups_whole = 0, unknown_groups_absent = 0;
  std::size_t divergences = 0;

  void print(const char* backend) const {
    fmt::print(
        "soak {:<10} trials {:>4} | keys stored {:>9} failed {:>8} outcome_unknown {:>7} | unknown "
        "groups landed whole {:>4}, absent {:>4} | divergences {}\n",
        backend, trials, stored, failed, unknown, unknown_groups_whole, unknown_groups_absent,
        divergences);
  }
};

/// One trial's batch: keys, values and TTLs drawn from `rng`.
struct Batch {
  std::vector<std::string> keys, values;
  std::vector<Item> items;

  Batch(std::mt19937_64& rng, int trial, std::size_t max_keys) {
    // Log-uniform sizes: as many small batches as large ones.
    const double exponent =
        std::uniform_real_distribution<double>(0, std::log(double(max_keys)))(rng);
    const auto n = static_cast<std::size_t>(std::exp(exponent));
    const int ttl_percent = std::uniform_int_distribution<int>(0, 100)(rng);
    keys.reserve(n);
    values.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      keys.push_back(fmt::format("soak:{}:{:06}", trial, i));
      std::string value(16 + rng() % 180, ' ');
      for (char& ch : value) ch = static_cast<char>(rng() & 0xFF);
      values.push_back(std::move(value));
    }
    items.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      const bool expires = static_cast<int>(rng() % 100) < ttl_percent;
      items.push_back({keys[i], values[i], expires ? Millis{600'000} : Millis{0}});
    }
  }
};

/// Compares what the server holds after the crash with what the batch was
/// told, group by group (`group_size` records; 1 for a backend without
/// multi-key atomicity), and what the store's cache serves.
template <class Store, class Repo>
void check_trial(const Batch& batch, const BatchResult& result, Store& store, Repo& fresh,
                 std::size_t group_size, Tally& tally) {
  const std::vector<std::string_view> views(batch.keys.begin(), batch.keys.end());
  const LoadResult held = fresh.load_many(views);
  std::map<std::size_t, std::pair<std::size_t, std::size_t>> unknown_groups;  // present, absent
  for (std::size_t i = 0; i < views.size(); ++i) {
    if (held[i].failed()) {
      ++tally.divergences;  // the restarted server must answer
      continue;
    }
    const bool present = held[i].found() &&
                         decode_envelope(views[i], held[i].value).envelope.value == batch.values[i];
    if (result.stored(i)) {
      ++tally.stored;
      if (!present) ++tally.divergences;
    } else if (result.error(i) == errc::outcome_unknown) {
      ++tally.unknown;
      auto& [in, out] = unknown_groups[i / group_size];
      ++(present ? in : out);
    } else {
      ++tally.failed;
      if (held[i].found()) ++tally.divergences;
    }
  }
  for (const auto& [group, counts] : unknown_groups) {
    if (counts.first > 0 && counts.second > 0)
      ++tally.divergences;  // partly landed
    else
      ++(counts.first > 0 ? tally.unknown_groups_whole : tally.unknown_groups_absent);
  }
  // What the store serves (its cache first) agrees with the server.
  const auto served = store.batch_get(views);
  for (std::size_t i = 0; i < views.size(); ++i) {
    if (!served[i].found()) continue;
    if (!held[i].found() || served[i].value != batch.values[i]) ++tally.divergences;
  }
  ++tally.trials;
  fresh.erase_many(views);
}

using Lru = LruCache<>;

/// Writes the batch through `store` on another thread, calls `crash` after a
/// random delay below `max_delay`, and returns what the batch reported.
template <class Store, class Crash>
BatchResult crash_during(Store& store, const Batch& batch, std::mt19937_64& rng,
                         std::chrono::microseconds max_delay, Crash crash) {
  BatchResult result;
  std::thread writer([&] { result = store.batch_set(batch.items); });
  std::this_thread::sleep_for(std::chrono::microseconds(rng() % max_delay.count()));
  crash();
  writer.join();
  return result;
}

TEST(Soak, RedisKilledMidBatch) {
  const int trials = env_int("STRATA_SOAK_TRIALS", 100);
  RedisProcess server(fresh_dir());
  server.start();
  ASSERT_FALSE(HasFatalFailure());
  std::mt19937_64 rng(19);
  Tally tally;
  for (int t = 0; t < trials; ++t) {
    RedisOptions options = redis_test_options();
    options.port = kill_port();
    options.chunk_size = 10'000;
    using Store = TieredStore<Lru, FixedRouter<Tier::hot>, RedisRepository, NoTier, NoTier>;
    Store store(StoreOptions{}, RedisRepository(options));
    const Batch batch(rng, t, 200'000);
    const BatchResult result =
        crash_during(store, batch, rng, std::chrono::microseconds(batch.keys.size() * 20 + 5000),
                     [&] { server.kill9(); });
    server.start();
    ASSERT_FALSE(HasFatalFailure());
    RedisRepository fresh(options);
    check_trial(batch, result, store, fresh, options.chunk_size, tally);
  }
  tally.print("redis");
  EXPECT_EQ(tally.divergences, 0u);
}

TEST(Soak, PostgresCrashedMidBatch) {
  const int trials = env_int("STRATA_SOAK_TRIALS", 100);
  PostgresProcess server;
  server.start();
  std::mt19937_64 rng(20);
  Tally tally;
  PostgresOptions options = postgres_test_options();
  options.conninfo = server.conninfo();
  options.chunk_size = 10'000;
  for (int t = 0; t < trials; ++t) {
    using Store = TieredStore<Lru, FixedRouter<Tier::warm>, NoTier, PostgresRepository, NoTier>;
    Store store(StoreOptions{}, NoTier{}, PostgresRepository(options));
    const Batch batch(rng, t, 200'000);
    const bool terminate = t % 2 == 1;  // every other trial ends the sessions instead
    const auto crash = [&] {
      if (!terminate) return server.stop_immediately();
      (void)std::system(
          fmt::format("psql '{}' -qc \"SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                      "WHERE datname = 'strata' AND pid <> pg_backend_pid()\" >/dev/null 2>&1",
                      options.conninfo)
              .c_str());
    };
    const BatchResult result = crash_during(
        store, batch, rng, std::chrono::microseconds(batch.keys.size() * 10 + 2000), crash);
    if (!terminate) server.start();
    PostgresRepository fresh(options);
    check_trial(batch, result, store, fresh, options.chunk_size, tally);
  }
  tally.print("postgres");
  EXPECT_EQ(tally.divergences, 0u);
}

TEST(Soak, S3CutAndKilledMidBatch) {
  const int trials = env_int("STRATA_SOAK_TRIALS", 100);
  S3rverProcess server;
  server.start();
  TcpCutter cutter(s3_fault_port());
  std::mt19937_64 rng(21);
  Tally tally;
  for (int t = 0; t < trials; ++t) {
    S3Options options = s3_test_options({}, cutter.port());
    options.retry.max_attempts = 1;
    using Store = TieredStore<Lru, FixedRouter<Tier::cold>, NoTier, NoTier, S3Repository>;
    Store store(StoreOptions{}, NoTier{}, NoTier{}, S3Repository(options));
    // One PUT per key and s3rver takes about 1.5k a second: up to 2000 keys.
    const Batch batch(rng, t, 2000);
    const BatchResult result =
        crash_during(store, batch, rng, std::chrono::microseconds(batch.keys.size() * 600 + 1000),
                     [&] { cutter.cut(); });
    // The server settles what it acknowledged, then dies and comes back.
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    server.kill();
    server.start();
    cutter.restore();
    S3Repository fresh(options);
    check_trial(batch, result, store, fresh, 1, tally);
  }
  tally.print("s3");
  EXPECT_EQ(tally.divergences, 0u);
}

TEST(Soak, EightThreadsOnAPoolOfFourWhileTheServerPauses) {
  const int seconds = env_int("STRATA_SOAK_POOL_SECONDS", 60);
  RedisProcess server(fresh_dir());
  server.start();
  ASSERT_FALSE(HasFatalFailure());
  RedisOptions options = redis_test_options();
  options.port = kill_port();
  options.pool = PoolOptions{.size = 4, .max_overflow = 0, .checkout_timeout = Millis{500}};
  options.command_timeout = Millis{300};
  RedisRepository repo(options);
  const Millis limit = options.pool.checkout_timeout + options.command_timeout + Millis{700};
  std::atomic<bool> stop{false};
  std::atomic<std::size_t> calls{0}, errors{0}, over_time{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      const std::string key = fmt::format("pool:{}", t);
      const std::vector<Record> one{{key, "v", std::nullopt}};
      const std::vector<std::string_view> keys{key};
      for (int i = 0; !stop.load(); ++i) {
        const auto started = std::chrono::steady_clock::now();
        const bool ok =
            i % 2 == 0 ? repo.store_many(one).all_stored() : !repo.load_many(keys)[0].failed();
        if (std::chrono::steady_clock::now() - started > limit) ++over_time;
        ++calls;
        if (!ok) ++errors;
      }
    });
  }
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  int pauses = 0;
  redisContext* admin = redisConnect("127.0.0.1", kill_port());
  while (std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    // Alternately: CLIENT PAUSE (the server stops answering clients) and
    // SIGSTOP/SIGCONT of the whole process.
    if (pauses++ % 2 == 0) {
      freeReplyObject(redisCommand(admin, "CLIENT PAUSE 600 ALL"));
    } else {
      server.signal(SIGSTOP);
      std::this_thread::sleep_for(std::chrono::milliseconds(600));
      server.signal(SIGCONT);
    }
  }
  redisFree(admin);
  stop = true;
  for (auto& t : threads) t.join();
  const PoolStats stats = repo.pool_stats();
  fmt::print(
      "soak pool: 8 threads, pool of 4, {} s, {} pauses: {} calls, {} failed while paused, {} over "
      "{} ms; afterwards {} open, {} leased, {} created, {} discarded\n",
      seconds, pauses, calls.load(), errors.load(), over_time.load(), limit.count(), stats.open,
      stats.open - stats.idle, stats.created, stats.discarded);
  EXPECT_EQ(over_time.load(), 0u) << "a call outlived its timeouts";
  EXPECT_EQ(stats.open - stats.idle, 0u) << "a leased connection leaked";
  EXPECT_LE(stats.open, 4u);
  EXPECT_GT(calls.load(), errors.load()) << "nothing succeeded between the pauses";
  // The pool still works.
  EXPECT_TRUE(repo.store_many(std::vector<Record>{{"pool:after", "v", std::nullopt}}).all_stored());
}

}  // namespace
}  // namespace strata::testing
