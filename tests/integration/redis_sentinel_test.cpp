// RedisRepository through Redis Sentinel, on the group scripts/servers.sh
// started (master, replica, 3 sentinels watching "strata-master"): the master
// killed with SIGKILL under a stream of batches, with and without
// min_replicas_acked, and the failover drill (the promoted replica lacks the
// unreplicated tail; rehydrate from WARM brings HOT back byte-identical).
#include "redis_topology.hpp"

#include <strata/backends/memory.hpp>
#include <strata/core/envelope.hpp>
#include <strata/ops/rehydrate.hpp>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace strata::testing {
namespace {

using Steady = std::chrono::steady_clock;

/// Starts the killed master again, as the new master's replica from its
/// first moment. Started as it was (a master, and empty: no persistence), it
/// would be a master at the old address until the sentinels demote it, and a
/// sentinel that still names the old address (they agree a moment apart)
/// would send writes to it that its resync then drops: CI saw 5800 keys go
/// so. Redis's own advice: never bring back a master without persistence as
/// a master.
void bring_back(int port) {
  int master = 0;
  ASSERT_TRUE(eventually(
      [&] {
        master = sentinel_current_master();
        return master != 0 && master != port;
      },
      std::chrono::seconds(30)));
  // It comes back empty (restart_node), and syncs at once (servers.sh sets
  // no diskless sync delay): the window in which a stall of the new master
  // could get this empty node promoted is a few milliseconds, not 5 s.
  restart_node("sentinel", port, "--replicaof 127.0.0.1 " + std::to_string(master));
  ASSERT_TRUE(eventually(sentinel_group_whole, std::chrono::seconds(60)))
      << "the old master did not rejoin as a replica";
}

/// How many failovers the sentinel group has tried (its config epoch).
long long sentinel_failovers() {
  const detail::RedisReplyPtr master =
      redis_at(sentinel_first_port(), {"SENTINEL", "MASTER", "strata-master"});
  if (!master || master->type != REDIS_REPLY_ARRAY) return -1;
  return std::atoll(sentinel_field(master.get(), "config-epoch").c_str());
}

class RedisSentinelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    restart_dead_nodes("sentinel", {sentinel_master_port(), sentinel_master_port() + 1});
    ASSERT_TRUE(eventually(sentinel_group_whole, std::chrono::seconds(60)))
        << "the sentinel group (sentinels on 127.0.0.1:" << sentinel_first_port()
        << ") has no master with a synced replica (scripts/servers.sh start sentinel)";
  }
};

/// Kills the master under a stream of 50-key batches; returns how many keys
/// the stream had reported stored and how many of those are gone afterwards.
struct StreamOutcome {
  std::size_t stored = 0;
  std::size_t lost = 0;
  std::size_t unknown = 0;
  long long follow_ms = 0;  // from the kill to the first batch stored on the new master
  long long failovers = 0;  // the sentinels tried during the stream (1 expected)
  std::string first_lost{};
};

StreamOutcome kill_master_under_stream(int min_replicas_acked) {
  RedisOptions options = sentinel_test_options();
  options.min_replicas_acked = min_replicas_acked;
  options.replica_ack_timeout = Millis{200};
  RedisRepository repo(options);
  EXPECT_FALSE(repo.check_connection());
  const int master = sentinel_current_master();
  const long long epoch_before = sentinel_failovers();

  std::mutex mutex;
  std::map<std::string, std::string> stored;
  StreamOutcome outcome;
  std::atomic<bool> stop{false};
  std::atomic<int> batches_after_restart{-1};
  std::thread stream([&] {
    for (int b = 0; !stop.load(); ++b) {
      std::vector<std::string> keys, values;
      for (int i = 0; i < 50; ++i) {
        keys.push_back(fmt::format("sentinel:{}:{}:{}", min_replicas_acked, b, i));
        values.push_back(fmt::format("value {} {}", b, i));
      }
      std::vector<Record> records;
      for (std::size_t i = 0; i < keys.size(); ++i)
        records.push_back({keys[i], values[i], std::nullopt});
      const BatchResult result = repo.store_many(records);
      const std::lock_guard lock(mutex);
      for (std::size_t i = 0; i < keys.size(); ++i) {
        if (result.stored(i))
          stored[keys[i]] = values[i];
        else if (result.error(i) == errc::outcome_unknown)
          ++outcome.unknown;
      }
      if (result.all_stored() && batches_after_restart.load() >= 0) ++batches_after_restart;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const auto killed_at = Steady::now();
  kill9_node(master);
  // How long until a repository of the same options (without WAIT: the new
  // master has no replica yet) writes again: sentinel's down-after (1000 ms)
  // plus its election and promotion.
  RedisOptions plain = sentinel_test_options();
  RedisRepository probe(plain);
  const std::vector<Record> one{{"sentinel:probe", "x", std::nullopt}};
  EXPECT_TRUE(
      eventually([&] { return probe.store_many(one).all_stored(); }, std::chrono::seconds(30)));
  outcome.follow_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Steady::now() - killed_at).count();
  EXPECT_TRUE(
      eventually([&] { return sentinel_current_master() != master; }, std::chrono::seconds(10)));
  bring_back(master);
  batches_after_restart = 0;
  EXPECT_TRUE(
      eventually([&] { return batches_after_restart.load() >= 5; }, std::chrono::seconds(20)))
      << "the stream did not store again after the failover";
  stop = true;
  stream.join();

  std::vector<std::string_view> keys;
  keys.reserve(stored.size());
  for (const auto& entry : stored) keys.push_back(entry.first);
  const LoadResult loaded = repo.load_many(keys);
  std::size_t i = 0;
  for (const auto& [key, value] : stored) {
    EXPECT_FALSE(loaded[i].failed()) << key;
    if (loaded[i].value != value && outcome.lost++ == 0) outcome.first_lost = key;
    ++i;
  }
  outcome.failovers = sentinel_failovers() - epoch_before;
  outcome.stored = stored.size();
  repo.erase_many(keys);
  return outcome;
}

TEST_F(RedisSentinelTest, WithOneReplicaAckNoKeyReportedStoredIsLost) {
  const StreamOutcome outcome = kill_master_under_stream(1);
  std::printf(
      "sentinel, min_replicas_acked=1: %zu keys reported stored, %zu lost, %zu outcome_unknown; "
      "writes followed the promoted replica %lld ms after the kill; %lld failover(s)\n",
      outcome.stored, outcome.lost, outcome.unknown, outcome.follow_ms, outcome.failovers);
  EXPECT_GT(outcome.stored, 0u);
  EXPECT_EQ(outcome.lost, 0u) << "the first lost: " << outcome.first_lost;
}

TEST_F(RedisSentinelTest, WithoutReplicaAcksTheLossIsCountedNotHidden) {
  const StreamOutcome outcome = kill_master_under_stream(0);
  // Not asserted to be zero: without WAIT a write the master acknowledged
  // may not have reached the replica. The number is the honest one.
  std::printf(
      "sentinel, min_replicas_acked=0: %zu keys reported stored, %zu lost in the failover; "
      "writes followed the promoted replica %lld ms after the kill\n",
      outcome.stored, outcome.lost, outcome.follow_ms);
  EXPECT_GT(outcome.stored, 0u);
  EXPECT_LT(outcome.follow_ms, 15'000);
}

TEST_F(RedisSentinelTest, ReadOnlyOnADemotedMasterIsRefusedAndRediscovered) {
  RedisRepository repo(sentinel_test_options());
  const std::vector<Record> one{{"sentinel:readonly", "v", std::nullopt}};
  ASSERT_TRUE(repo.store_many(one).all_stored());
  // A failover the sentinels run while the old master stays up: it is
  // demoted to a replica, and the repository's pooled connection to it now
  // meets READONLY.
  const int old_master = sentinel_current_master();
  ASSERT_EQ(text_of(redis_at(sentinel_first_port(), {"SENTINEL", "FAILOVER", "strata-master"})),
            "OK");
  ASSERT_TRUE(eventually([&] { return sentinel_current_master() != old_master; },
                         std::chrono::seconds(30)));
  ASSERT_TRUE(eventually(sentinel_group_whole, std::chrono::seconds(60)));
  // At most one batch is refused (backend_unavailable: nothing applied);
  // then the repository asks the sentinels again and writes to the new master.
  const BatchResult first = repo.store_many(one);
  if (!first.all_stored()) {
    EXPECT_EQ(first.error(0), errc::backend_unavailable);
  }
  EXPECT_TRUE(repo.store_many(one).all_stored());
  const std::vector<std::string_view> key{"sentinel:readonly"};
  EXPECT_EQ(repo.load_many(key)[0].value, "v");
}

TEST_F(RedisSentinelTest, ADeadSentinelIsSkippedAnUnknownMasterIsUnavailable) {
  RedisOptions options = sentinel_test_options();
  options.sentinel.sentinels.insert(options.sentinel.sentinels.begin(), {"127.0.0.1", 1});
  RedisRepository repo(options);
  EXPECT_FALSE(repo.check_connection());
  const std::vector<Record> one{{"sentinel:skip", "v", std::nullopt}};
  EXPECT_TRUE(repo.store_many(one).all_stored());
  repo.erase_many(std::vector<std::string_view>{"sentinel:skip"});

  RedisOptions unknown = sentinel_test_options();
  unknown.sentinel.master_name = "no-such-master";
  RedisRepository nowhere(unknown);
  EXPECT_EQ(nowhere.check_connection(), errc::backend_unavailable);
  EXPECT_EQ(nowhere.store_many(one).error(0), errc::backend_unavailable);
}

TEST_F(RedisSentinelTest, FailoverDrillRehydratesTheLostTailFromWarm) {
  RedisOptions options = sentinel_test_options();
  RedisRepository hot(options);
  MemoryRepository warm;
  const int master = sentinel_current_master();
  const int replica = master == sentinel_master_port() ? master + 1 : sentinel_master_port();

  std::vector<std::string> keys, values;
  const TimePoint now = Clock{}.now();
  for (int i = 0; i < 5000; ++i) {
    keys.push_back(fmt::format("drill:{:05}", i));
    values.push_back(
        encode_envelope(keys.back(), {now, now, std::nullopt, 0}, fmt::format("position {}", i)));
  }
  const auto records = [&](std::size_t first, std::size_t last) {
    std::vector<Record> out;
    for (std::size_t i = first; i < last; ++i) out.push_back({keys[i], values[i], std::nullopt});
    return out;
  };
  ASSERT_TRUE(warm.store_many(records(0, keys.size())).all_stored());
  ASSERT_TRUE(hot.store_many(records(0, 4000)).all_stored());
  const detail::RedisReplyPtr acked = redis_at(master, {"WAIT", "1", "1000"});
  ASSERT_TRUE(acked && acked->type == REDIS_REPLY_INTEGER && acked->integer == 1);
  // The replica is stopped and its link cut, so the last 1000 writes reach
  // the master only; then the master dies.
  const pid_t replica_pid =
      static_cast<pid_t>(std::atoll(info_field(replica, "server", "process_id").c_str()));
  ASSERT_GT(replica_pid, 0);
  ::kill(replica_pid, SIGSTOP);
  redis_at(master, {"CLIENT", "KILL", "TYPE", "replica"});
  ASSERT_TRUE(hot.store_many(records(4000, keys.size())).all_stored());
  kill9_node(master);
  ::kill(replica_pid, SIGCONT);

  // The replica is promoted without the tail.
  ASSERT_TRUE(eventually(
      [&] {
        return hot.check_connection() == std::error_code{} && sentinel_current_master() == replica;
      },
      std::chrono::seconds(30)));
  const std::vector<std::string_view> views(keys.begin(), keys.end());
  LoadResult after = hot.load_many(views);
  std::size_t missing = 0;
  for (std::size_t i = 0; i < keys.size(); ++i) missing += after[i].absent() ? 1 : 0;
  std::printf("drill: the promoted replica lacks %zu of %zu keys\n", missing, keys.size());
  EXPECT_EQ(missing, 1000u);

  const RehydrateReport report = rehydrate(warm, hot, {.scan = {.page_size = 1000}});
  EXPECT_TRUE(report.complete) << report.error.message();
  EXPECT_EQ(report.copied, keys.size());
  after = hot.load_many(views);
  for (std::size_t i = 0; i < keys.size(); ++i) ASSERT_EQ(after[i].value, values[i]) << keys[i];
  hot.erase_many(views);
  bring_back(master);
}

}  // namespace
}  // namespace strata::testing
