// RedisClusterRepository on the real cluster scripts/servers.sh started
// (3 masters + 3 replicas): the law suite with the cluster as HOT, keys over
// every slot, hash tags, a slot migrated under a stream of batches, and a
// master killed with SIGKILL in the middle of a large batch.
#include "redis_topology.hpp"

#include <strata/backends/redis_cluster.hpp>
#include <strata/backends/redis_slot.hpp>
#include <strata/testing/repository_laws.hpp>
#include <strata/testing/store_laws.hpp>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace strata::testing {

struct RedisClusterHotBackends : MemoryBackends {  // WARM and COLD stay in memory
  static constexpr const char* name = "redis-cluster";
  using Hot = RedisClusterRepository;
  static Hot make_hot(Clock clock) { return Hot(cluster_test_options(clock)); }
};

/// The cluster repository under the repository laws; Redis expires by its
/// own clock, so the expiry law runs in real time.
struct RedisClusterRepositorySetup : TierSetup<RedisClusterHotBackends, Tier::hot> {
  static constexpr bool server_expiry = true;
};

namespace {

/// Records for `keys`, each value random bytes (any byte, including \0 and \r\n).
std::vector<std::string> random_values(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::string> values(n);
  for (std::string& v : values) {
    v.resize(1 + rng() % 200);
    for (char& ch : v) ch = static_cast<char>(rng() & 0xFF);
  }
  return values;
}

/// stem0, stem1, ... stem(n-1).
std::vector<std::string> numbered(const std::string& stem, int n) {
  std::vector<std::string> keys;
  keys.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) keys.push_back(stem + std::to_string(i));
  return keys;
}

std::vector<Record> records_of(const std::vector<std::string>& keys,
                               const std::vector<std::string>& values) {
  std::vector<Record> records;
  for (std::size_t i = 0; i < keys.size(); ++i)
    records.push_back({keys[i], values[i], std::nullopt});
  return records;
}

class RedisClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    restart_dead_nodes("cluster", cluster_ports());
    ASSERT_TRUE(eventually(cluster_whole, std::chrono::seconds(30)))
        << "the cluster on 127.0.0.1:" << cluster_first_port()
        << " is not whole (scripts/servers.sh start cluster)";
  }
};

TEST_F(RedisClusterTest, TenThousandKeysOverEverySlotRoundTripByteExactly) {
  RedisClusterRepository repo(cluster_test_options());
  ASSERT_FALSE(repo.check_connection());
  EXPECT_EQ(repo.masters().size(), 3u);
  const std::vector<std::string> keys = numbered("spread:", 10'000);
  const std::vector<std::string> values = random_values(keys.size(), 7);
  const BatchResult stored = repo.store_many(records_of(keys, values));
  ASSERT_TRUE(stored.all_stored()) << stored.error(0).message();

  std::set<std::uint16_t> slots;
  for (const std::string& key : keys)
    slots.insert(redis_hash_slot(repo.options().node.key_prefix + key));
  EXPECT_GT(slots.size(), 7000u);  // 10k keys reach most of the 16384 slots

  const std::vector<std::string_view> views(keys.begin(), keys.end());
  const LoadResult loaded = repo.load_many(views);
  for (std::size_t i = 0; i < keys.size(); ++i) {
    ASSERT_TRUE(loaded[i].found()) << keys[i];
    ASSERT_EQ(loaded[i].value, values[i]) << keys[i];
  }
  // The slot strata computes is the server's, and each key is on the master
  // strata sent it to: a plain GET there answers it, no MOVED.
  for (std::size_t i = 0; i < keys.size(); i += 37) {
    const std::string full = repo.options().node.key_prefix + keys[i];
    const detail::RedisReplyPtr slot = redis_at(cluster_first_port(), {"CLUSTER", "KEYSLOT", full});
    ASSERT_TRUE(slot && slot->type == REDIS_REPLY_INTEGER);
    EXPECT_EQ(slot->integer, redis_hash_slot(full)) << full;
    const std::string master = repo.master_of(keys[i]);
    const int port = std::atoi(master.substr(master.rfind(':') + 1).c_str());
    EXPECT_EQ(text_of(redis_at(port, {"GET", full})), values[i]) << full << " on " << master;
  }
  EXPECT_EQ(repo.erase_many(views).erased, keys.size());
  const LoadResult gone = repo.load_many(views);
  for (std::size_t i = 0; i < keys.size(); ++i) EXPECT_TRUE(gone[i].absent()) << keys[i];
}

TEST_F(RedisClusterTest, HashTaggedKeysLandOnOneMaster) {
  RedisClusterRepository repo(cluster_test_options());
  const std::vector<std::string> keys = numbered("{account-42}:position:", 500);
  const std::vector<std::string> values = random_values(keys.size(), 11);
  ASSERT_TRUE(repo.store_many(records_of(keys, values)).all_stored());
  const std::string master = repo.master_of(keys[0]);
  const int port = std::atoi(master.substr(master.rfind(':') + 1).c_str());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    EXPECT_EQ(repo.master_of(keys[i]), master);
    EXPECT_EQ(text_of(redis_at(port, {"GET", repo.options().node.key_prefix + keys[i]})),
              values[i]);
  }
  // One slot, so one MSET: the other masters hold none of these keys.
  const std::uint16_t slot = redis_hash_slot(repo.options().node.key_prefix + keys[0]);
  const detail::RedisReplyPtr count =
      redis_at(port, {"CLUSTER", "COUNTKEYSINSLOT", std::to_string(slot)});
  ASSERT_TRUE(count && count->type == REDIS_REPLY_INTEGER);
  EXPECT_GE(count->integer, 500);
}

TEST_F(RedisClusterTest, AKeyOfAnotherTypeIsCorruptNotAbsent) {
  RedisClusterRepository repo(cluster_test_options());
  const std::string full = repo.options().node.key_prefix + "a-hash";
  const int port = cluster_owner_port(redis_hash_slot(full));
  ASSERT_EQ(redis_at(port, {"HSET", full, "field", "value"})->integer, 1);
  const std::vector<std::string_view> keys{"a-hash", "missing"};
  const LoadResult loaded = repo.load_many(keys);
  EXPECT_EQ(loaded[0].error, errc::corrupt_record);
  EXPECT_TRUE(loaded[1].absent());
  redis_at(port, {"DEL", full});  // not strata's: the store cannot erase it for us
}

TEST_F(RedisClusterTest, ScanCursorsNameTheirMaster) {
  RedisClusterRepository repo(cluster_test_options());
  const std::vector<std::string> keys = numbered("scan:", 300);
  ASSERT_TRUE(repo.store_many(records_of(keys, random_values(keys.size(), 5))).all_stored());
  // Page by page over every master, each key once.
  std::set<std::string> seen;
  std::string cursor;
  for (int pages = 0; pages < 1000; ++pages) {
    ScanPage page = repo.scan("scan:", cursor, 50);
    ASSERT_FALSE(page.error) << page.error.message();
    for (const auto& r : page.records) EXPECT_TRUE(seen.insert(std::string(r.key)).second);
    if (page.done) break;
    cursor = page.next_cursor;
  }
  EXPECT_EQ(seen.size(), keys.size());
  // A cursor this repository did not make is refused, not guessed at.
  EXPECT_EQ(repo.scan("scan:", "not-a-cursor", 10).error, errc::invalid_key);
  // A master that left (a failover): the scan goes on with the next address.
  const std::string first = repo.masters().front();
  const ScanPage after_gone = repo.scan("scan:", "127.0.0.1:1#0", 1000);
  EXPECT_FALSE(after_gone.error);
  EXPECT_TRUE(after_gone.done || after_gone.next_cursor.starts_with(first) ||
              !after_gone.records.empty());
  // Past the last master: done, nothing more.
  const ScanPage past = repo.scan("scan:", "255.255.255.255:65535#0", 10);
  EXPECT_TRUE(past.done);
  EXPECT_TRUE(past.records.empty());
  const std::vector<std::string_view> views(keys.begin(), keys.end());
  EXPECT_EQ(repo.erase_many(views).erased, keys.size());
}

TEST_F(RedisClusterTest, AWrongPasswordIsAccessDeniedForEveryKey) {
  RedisClusterOptions options = cluster_test_options();
  options.node.password = "not-the-password";  // the test cluster has none: AUTH is refused
  RedisClusterRepository repo(options);
  EXPECT_EQ(repo.check_connection(), errc::access_denied);
  EXPECT_FALSE(repo.ping());
  const std::vector<std::string> keys = numbered("denied:", 10);
  const BatchResult stored = repo.store_many(records_of(keys, random_values(keys.size(), 2)));
  for (std::size_t i = 0; i < keys.size(); ++i) EXPECT_EQ(stored.error(i), errc::access_denied);
}

TEST_F(RedisClusterTest, NoClusterBehindTheSeedsIsBackendUnavailable) {
  // One seed refuses connections, the other is a redis-server without
  // cluster support (CLUSTER SLOTS is an error there).
  RedisClusterOptions options = cluster_test_options();
  options.seeds = {{"127.0.0.1", 1}, {"127.0.0.1", redis_port()}};
  options.retry_budget = Millis{200};
  RedisClusterRepository repo(options);
  EXPECT_EQ(repo.check_connection(), errc::backend_unavailable);
  const std::vector<std::string> keys = numbered("nowhere:", 20);
  const BatchResult stored = repo.store_many(records_of(keys, random_values(keys.size(), 1)));
  for (std::size_t i = 0; i < keys.size(); ++i)
    EXPECT_EQ(stored.error(i), errc::backend_unavailable) << keys[i];
  const std::vector<std::string_view> views(keys.begin(), keys.end());
  const LoadResult loaded = repo.load_many(views);
  for (std::size_t i = 0; i < keys.size(); ++i)
    EXPECT_EQ(loaded[i].error, errc::backend_unavailable);
  EXPECT_EQ(repo.erase_many(views).error, errc::backend_unavailable);
  EXPECT_EQ(repo.scan("", "", 10).error, errc::backend_unavailable);
  EXPECT_TRUE(repo.masters().empty());
}

TEST_F(RedisClusterTest, TooFewReplicaAcknowledgementsAreOutcomeUnknownNotFailed) {
  // Each master has one replica: WAIT 2 can confirm one at most.
  RedisClusterOptions options = cluster_test_options();
  options.node.min_replicas_acked = 2;
  options.node.replica_ack_timeout = Millis{50};
  RedisClusterRepository repo(options);
  const std::vector<std::string> keys = numbered("acked:", 100);
  const std::vector<std::string> values = random_values(keys.size(), 9);
  const BatchResult result = repo.store_many(records_of(keys, values));
  const std::vector<std::string_view> views(keys.begin(), keys.end());
  const LoadResult loaded = repo.load_many(views);
  for (std::size_t i = 0; i < keys.size(); ++i) {
    EXPECT_EQ(result.error(i), errc::outcome_unknown) << keys[i];
    EXPECT_EQ(loaded[i].value, values[i]) << keys[i] << ": on the master all the same";
  }
  repo.erase_many(views);
}

/// Moves `slot` from its master to another, as redis-cli --cluster reshard
/// does, pausing between the steps so that batches meet each state.
void migrate_slot(std::uint16_t slot, int from, int to, std::chrono::milliseconds pause) {
  const std::string s = std::to_string(slot), from_id = cluster_node_id(from),
                    to_id = cluster_node_id(to);
  ASSERT_EQ(text_of(redis_at(to, {"CLUSTER", "SETSLOT", s, "IMPORTING", from_id})), "OK");
  ASSERT_EQ(text_of(redis_at(from, {"CLUSTER", "SETSLOT", s, "MIGRATING", to_id})), "OK");
  for (;;) {
    std::this_thread::sleep_for(pause);
    const detail::RedisReplyPtr keys = redis_at(from, {"CLUSTER", "GETKEYSINSLOT", s, "50"});
    ASSERT_TRUE(keys && keys->type == REDIS_REPLY_ARRAY);
    if (keys->elements == 0) break;
    std::vector<std::string> migrate{"MIGRATE", "127.0.0.1", std::to_string(to), "", "0",
                                     "5000",    "KEYS"};
    for (std::size_t i = 0; i < keys->elements; ++i)
      migrate.emplace_back(keys->element[i]->str, keys->element[i]->len);
    ASSERT_EQ(text_of(redis_at(from, migrate)), "OK");
  }
  for (int port : {to, from})
    ASSERT_EQ(text_of(redis_at(port, {"CLUSTER", "SETSLOT", s, "NODE", to_id})), "OK");
  for (int port : cluster_ports())  // the others learn it from the bus; tell them at once
    redis_at(port, {"CLUSTER", "SETSLOT", s, "NODE", to_id});
}

TEST_F(RedisClusterTest, ASlotMigratedUnderAStreamOfBatchesLosesNothing) {
  RedisClusterOptions options = cluster_test_options();
  options.refresh_every = Millis{0};  // only redirections may teach it the new owner
  RedisClusterRepository repo(options);
  const std::string tag = "{migrating}";
  const std::uint16_t slot = redis_hash_slot(options.node.key_prefix + tag);
  ASSERT_EQ(redis_hash_slot(options.node.key_prefix + tag + ":x"), redis_hash_slot(tag));
  const int from = cluster_owner_port(redis_hash_slot(tag));
  ASSERT_NE(from, 0);
  int to = 0;
  for (int port : cluster_ports())
    if (port != from && info_field(port, "replication", "role") == "master") to = port;
  ASSERT_NE(to, 0);
  // Some keys in the slot before it moves, so that MIGRATE has work to do.
  const std::vector<std::string> seeded = numbered(tag + ":seed:", 200);
  ASSERT_TRUE(repo.store_many(records_of(seeded, random_values(seeded.size(), 3))).all_stored());

  std::atomic<bool> stop{false};
  std::map<std::string, std::string> stored, failed;
  std::thread stream([&] {
    for (int b = 0; !stop.load() || b < 40; ++b) {
      // Alternate one-key groups (ASK is followed) and many-key groups
      // (TRYAGAIN while the slot is half moved), with keys of other slots.
      const int in_slot = b % 2 == 0 ? 1 : 20;
      std::vector<std::string> keys = numbered(fmt::format("{}:b{}:", tag, b), in_slot);
      const std::vector<std::string> others = numbered(fmt::format("other:b{}:", b), 50);
      keys.insert(keys.end(), others.begin(), others.end());
      const std::vector<std::string> values =
          random_values(keys.size(), static_cast<std::uint32_t>(b));
      const BatchResult result = repo.store_many(records_of(keys, values));
      for (std::size_t i = 0; i < keys.size(); ++i)
        (result.stored(i) ? stored : failed)[keys[i]] = values[i];
      // Reads of the keys in the slot meet the migration too.
      const std::vector<std::string_view> views(keys.begin(), keys.begin() + in_slot);
      const LoadResult loaded = repo.load_many(views);
      for (std::size_t i = 0; i < views.size(); ++i) {
        if (result.stored(i)) {
          EXPECT_EQ(loaded[i].value, values[i]) << keys[i];
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  migrate_slot(slot, from, to, std::chrono::milliseconds(40));
  stop = true;
  stream.join();

  EXPECT_EQ(cluster_owner_port(slot), to);
  EXPECT_TRUE(failed.empty()) << failed.size() << " keys failed, e.g. " << failed.begin()->first;
  for (const auto& [key, value] : stored) {
    const std::string full = options.node.key_prefix + key;
    const int owner = cluster_owner_port(redis_hash_slot(full));
    ASSERT_EQ(text_of(redis_at(owner, {"GET", full})), value)
        << key << " not on its owner " << owner;
  }
  const auto stats = repo.stats();
  std::printf(
      "migration: %zu keys stored over %zu moved, %zu asked, %zu retried, %zu topology reads\n",
      stored.size(), stats.moved, stats.asked, stats.retried, stats.refreshes);
  EXPECT_GT(stats.moved + stats.asked, 0u) << "the stream never met the migration";
  std::vector<std::string_view> written(seeded.begin(), seeded.end());
  for (const auto* keys : {&stored, &failed})
    for (const auto& entry : *keys) written.push_back(entry.first);
  repo.erase_many(written);
}

/// Sets `maxmemory` on every master of the cluster.
void set_masters_maxmemory(const char* bytes) {
  for (int port : cluster_ports()) {
    if (info_field(port, "replication", "role") == "master") {
      EXPECT_EQ(text_of(redis_at(port, {"CONFIG", "SET", "maxmemory", bytes})), "OK") << port;
    }
  }
}

TEST_F(RedisClusterTest, MastersOutOfMemoryRefuseEachSlotsWritesWholeAndStoreThemOnceMemoryIsBack) {
  RedisClusterRepository repo(cluster_test_options());
  // Hash-tagged keys with and without expiry: several commands for one slot,
  // so one MULTI/EXEC per slot; and untagged keys, mostly one MSET per slot.
  std::vector<std::string> keys;
  keys.reserve(600);
  for (int i = 0; i < 300; ++i) keys.push_back(fmt::format("{{oom}}:{}", i));
  for (int i = 0; i < 300; ++i) keys.push_back(fmt::format("oom-spread:{}", i));
  const std::vector<std::string> values = random_values(keys.size(), 3);
  const TimePoint later = Clock{}.now() + std::chrono::minutes(1);
  std::vector<Record> records;
  records.reserve(keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i)
    records.push_back({keys[i], values[i], i % 2 == 0 ? std::optional(later) : std::nullopt});

  struct RestoreMemory {
    ~RestoreMemory() { set_masters_maxmemory("0"); }
  } restore;
  set_masters_maxmemory("1");  // below what each master already uses: writes refused with OOM
  const BatchResult refused = repo.store_many(records);
  for (std::size_t i = 0; i < keys.size(); ++i)
    ASSERT_EQ(refused.error(i), errc::backend_unavailable) << keys[i];
  const std::vector<std::string_view> views(keys.begin(), keys.end());
  const LoadResult none = repo.load_many(views);
  for (std::size_t i = 0; i < keys.size(); ++i) ASSERT_TRUE(none[i].absent()) << keys[i];

  set_masters_maxmemory("0");
  ASSERT_TRUE(repo.store_many(records).all_stored());
  const LoadResult loaded = repo.load_many(views);
  for (std::size_t i = 0; i < keys.size(); ++i) EXPECT_EQ(loaded[i].value, values[i]) << keys[i];
  EXPECT_EQ(repo.erase_many(views).erased, keys.size());
}

TEST_F(RedisClusterTest, AMasterKilledMidBatchLosesNoKeyReportedStored) {
  constexpr int trials = 3;
  for (int trial = 0; trial < trials; ++trial) {
    ASSERT_TRUE(eventually(cluster_whole, std::chrono::seconds(30))) << "trial " << trial;
    RedisClusterOptions options = cluster_test_options();
    options.node.min_replicas_acked = 1;
    options.node.chunk_size = 10'000;
    RedisClusterRepository repo(options);
    ASSERT_FALSE(repo.check_connection());
    const std::vector<std::string> keys = numbered(fmt::format("kill:{}:", trial), 200'000);
    const std::vector<std::string> values(keys.size(), std::string(64, 'v'));
    const std::string victim = repo.master_of(keys[0]);
    const int victim_port = std::atoi(victim.substr(victim.rfind(':') + 1).c_str());

    BatchResult result;
    std::thread writer([&] { result = repo.store_many(records_of(keys, values)); });
    std::this_thread::sleep_for(std::chrono::milliseconds(20 + 15 * trial));
    const auto killed_at = std::chrono::steady_clock::now();
    kill9_node(victim_port);
    writer.join();

    // The next batch succeeds once a replica took over (without WAIT: the
    // new master has no replica until the killed one comes back).
    RedisClusterRepository next(cluster_test_options());
    const std::vector<Record> probe{{keys[0], "after", std::nullopt}};
    ASSERT_TRUE(
        eventually([&] { return next.store_many(probe).all_stored(); }, std::chrono::seconds(20)))
        << "trial " << trial << ": no batch succeeded after the failover";
    const auto recovered_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - killed_at);

    std::size_t stored = 0, unknown = 0, other = 0;
    std::vector<std::string_view> check;
    for (std::size_t i = 1; i < keys.size(); ++i) {
      if (result.stored(i))
        ++stored;
      else if (result.error(i) == errc::outcome_unknown)
        ++unknown;
      else
        ++other;
      check.push_back(keys[i]);
    }
    const LoadResult loaded = repo.load_many(check);
    std::size_t lost = 0, phantom = 0;
    for (std::size_t i = 1; i < keys.size(); ++i) {
      const auto& got = loaded[i - 1];
      ASSERT_FALSE(got.failed()) << keys[i] << ": " << got.error.message();
      if (result.stored(i) && got.value != values[i]) ++lost;
      if (!result.stored(i) && result.error(i) != errc::outcome_unknown && got.found()) ++phantom;
    }
    std::printf(
        "kill trial %d: %zu stored, %zu outcome_unknown, %zu failed; %zu stored keys lost, %zu "
        "failed keys present; a batch succeeded %lld ms after the kill\n",
        trial, stored, unknown, other, lost, phantom, static_cast<long long>(recovered_ms.count()));
    EXPECT_EQ(lost, 0u) << "trial " << trial;
    EXPECT_EQ(phantom, 0u) << "trial " << trial;
    EXPECT_GT(stored, 0u) << "trial " << trial << ": the other masters' groups must land";
    EXPECT_LT(stored, keys.size() - 1) << "trial " << trial << ": the kill came after the batch";
    repo.erase_many(check);
    restart_node("cluster", victim_port);  // it rejoins as a replica of its successor
  }
  ASSERT_TRUE(eventually(cluster_whole, std::chrono::seconds(30)));
}

}  // namespace
}  // namespace strata::testing

STRATA_REPOSITORY_LAWS(RedisCluster, strata::testing::RedisClusterRepositorySetup);
STRATA_SCAN_LAWS(RedisCluster, strata::testing::RedisClusterRepositorySetup);
STRATA_STORE_LAWS(RedisCluster, strata::testing::RedisClusterHotBackends);
