// Coherence across processes (issue 18, ADR 15): this process is one instance
// (a reader with an LruCache), tests/integration/bus_writer.cpp run as a child
// process is another, both over the same Redis (HOT, "r:" keys) and
// PostgreSQL (WARM, "p:" keys), each with its RedisBus. Faults are real: the
// writer is killed with SIGKILL, the subscription is killed by the server
// (CLIENT KILL TYPE pubsub), the server itself is killed and restarted.
#include "bus_instance.hpp"
#include "postgres_server.hpp"
#include "redis_server.hpp"
#include "support/temp_dir.hpp"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace strata::testing {
namespace {

using namespace std::chrono_literals;
using Reader = InstanceStore<RedisBus>;

InstanceConfig fresh_config(int port, Millis max_staleness = Millis(1000)) {
  static std::atomic<int> next{0};
  return InstanceConfig{
      port, "bus-test:" + std::to_string(::getpid()) + ":" + std::to_string(next++) + ":",
      postgres_conninfo(), fresh_table(), max_staleness};
}

/// The writer instance: a child process, fed commands on its stdin.
class Writer {
 public:
  explicit Writer(const InstanceConfig& config) {
    int to_child[2], from_child[2];
    if (::pipe(to_child) != 0 || ::pipe(from_child) != 0) throw std::runtime_error("pipe");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, to_child[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, from_child[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, to_child[1]);
    posix_spawn_file_actions_addclose(&actions, from_child[0]);
    std::vector<std::string> args{STRATA_BUS_WRITER, std::to_string(config.redis_port),
                                  config.key_prefix, config.pg_conninfo,
                                  config.pg_table,   std::to_string(config.max_staleness.count())};
    std::vector<char*> argv;
    argv.reserve(args.size() + 1);
    for (auto& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    const int spawned =
        posix_spawn(&pid_, STRATA_BUS_WRITER, &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(to_child[0]);
    ::close(from_child[1]);
    if (spawned != 0) throw std::runtime_error("cannot run " STRATA_BUS_WRITER);
    in_ = ::fdopen(to_child[1], "w");
    out_ = ::fdopen(from_child[0], "r");
    EXPECT_EQ(line(), "ready");
  }
  ~Writer() {
    if (in_ != nullptr) std::fclose(in_);
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      wait();
    }
    if (out_ != nullptr) std::fclose(out_);
  }
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  /// Sends one command; returns the first line of its answer.
  std::string send(const std::string& command) {
    post(command);
    return line();
  }
  /// Sends one command; its answer is read with line().
  void post(const std::string& command) {
    std::fputs((command + "\n").c_str(), in_);
    std::fflush(in_);
  }
  /// The next line the writer printed ("" at its end).
  std::string line() {
    char buffer[256];
    if (std::fgets(buffer, sizeof buffer, out_) == nullptr) return {};
    std::string text(buffer);
    if (!text.empty() && text.back() == '\n') text.pop_back();
    return text;
  }
  /// Waits for the writer to end; its wait status.
  int wait() {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }

 private:
  pid_t pid_ = -1;
  std::FILE* in_ = nullptr;
  std::FILE* out_ = nullptr;
};

std::unique_ptr<Reader> reader(const InstanceConfig& config) {
  auto store = make_instance(config, RedisBus(instance_bus(config)));
  EXPECT_TRUE(store->bus().wait_until_subscribed(Millis(5000)));
  return store;
}

/// Reads `key` until it answers `wanted` (nullopt: absent) or `within`
/// passed; how long that took, or nullopt.
std::optional<Millis> read_until(Reader& store, std::string_view key,
                                 std::optional<std::string> wanted, Millis within) {
  const auto start = std::chrono::steady_clock::now();
  for (;;) {
    const Lookup got = store.get(key);
    const bool matches = wanted ? got.found() && got.value == *wanted : got.absent();
    const auto took = std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - start);
    if (matches) return took;
    if (took > within) return std::nullopt;
    std::this_thread::sleep_for(1ms);
  }
}

/// Reads `key` until the answer `wanted` is in B's cache (the invalidation of
/// the write that made it may arrive after a first read filled the cache, and
/// drop that entry: harmless, and not what is tested here).
bool read_until_cached(Reader& store, std::string_view key, const std::string& wanted) {
  for (int i = 0; i < 1000; ++i) {
    const Lookup got = store.get(key);
    const auto cached = store.cache().find(key, Clock{}.now());
    if (got.value == wanted && cached && cached->value == wanted) return true;
    std::this_thread::sleep_for(1ms);
  }
  return false;
}

/// Sends `command` until the writer says "ok" (its first call after a server
/// restart meets a dead pooled connection: outcome_unknown).
bool send_until_ok(Writer& writer, const std::string& command) {
  for (int attempt = 0; attempt < 5; ++attempt)
    if (writer.send(command) == "ok") return true;
  return false;
}

/// Runs one command on its own connection to Redis on `port`.
long long redis_command(int port, const std::string& command) {
  redisContext* c = redisConnect("127.0.0.1", port);
  long long n = -1;
  if (c != nullptr && c->err == 0) {
    if (auto* r = static_cast<redisReply*>(redisCommand(c, command.c_str()))) {
      n = r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
      freeReplyObject(r);
    }
  }
  redisFree(c);
  return n;
}

TEST(RedisBus, AnotherProcessesWritesAndDeletesReachThisCache) {
  const InstanceConfig config = fresh_config(redis_port());
  auto b = reader(config);
  Writer a(config);
  for (const std::string key : {"r:AAPL", "p:AAPL"}) {
    ASSERT_EQ(a.send("set " + key + " 100"), "ok");
    EXPECT_TRUE(read_until_cached(*b, key, "100")) << key << " was never cached";
    ASSERT_EQ(a.send("set " + key + " 0"), "ok");
    const auto seen = read_until(*b, key, "0", Millis(1000));
    EXPECT_TRUE(seen) << key << ": B still serves the value A overwrote";
    ASSERT_EQ(a.send("del " + key), "ok");
    EXPECT_TRUE(read_until(*b, key, std::nullopt, Millis(1000)))
        << key << ": B still serves the value A deleted";
  }
  EXPECT_GE(b->bus().stats().invalidations, 4u);
}

TEST(RedisBus, AWriterKilledBeforeItCouldAnnounceIsBoundedByTheServerOrTheStalenessBound) {
  // Killed after its storage write returned, before it could announce: for
  // a Redis key, Redis announces it anyway; for a PostgreSQL key nothing
  // does, and the reader's cache entry lives at most max_staleness.
  const InstanceConfig config = fresh_config(redis_port(), Millis(1000));
  auto b = reader(config);
  for (const std::string key : {"r:K", "p:K"}) {
    {
      Writer a(config);
      ASSERT_EQ(a.send("set " + key + " old"), "ok");
    }
    ASSERT_EQ(b->get(key).value, "old");
    const auto cached_at = std::chrono::steady_clock::now();
    Writer dying(config);
    dying.send("set-then-die " + key + " new");
    const int status = dying.wait();
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << key;
    const auto seen = read_until(*b, key, "new", Millis(1500));
    ASSERT_TRUE(seen) << key << ": B served the old value past the bound";
    const auto since_cached =
        std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - cached_at);
    if (key.starts_with("r:"))
      EXPECT_LT(seen->count(), 200) << "Redis tracking should have announced it";
    else
      EXPECT_LE(since_cached.count(), config.max_staleness.count() + 300);
  }
}

TEST(RedisBus, ALostSubscriptionClearsTheCacheAndResubscribes) {
  RedisProcess server(fresh_dir());
  server.start();
  if (HasFatalFailure()) return;
  const InstanceConfig config = fresh_config(kill_port());
  auto b = reader(config);
  Writer a(config);
  ASSERT_EQ(a.send("set r:x 1"), "ok");
  ASSERT_EQ(a.send("set p:x 1"), "ok");
  EXPECT_TRUE(read_until_cached(*b, "r:x", "1"));
  EXPECT_TRUE(read_until_cached(*b, "p:x", "1"));
  EXPECT_EQ(b->cache().size(), 2u);

  // The server drops every subscription (B's, and A's own).
  EXPECT_GE(redis_command(kill_port(), "CLIENT KILL TYPE pubsub"), 2);
  // B notices the close on its own thread: wait for that, then for the new
  // subscription (waiting only for "subscribed" could see the old one).
  for (int i = 0; i < 1000 && b->bus().stats().gaps == 0; ++i) std::this_thread::sleep_for(5ms);
  ASSERT_TRUE(b->bus().wait_until_subscribed(Millis(5000)));
  EXPECT_GE(b->bus().stats().gaps, 1u);
  EXPECT_EQ(b->bus().stats().subscriptions, 2u);
  EXPECT_EQ(b->get("r:x").value, "1");  // fetched again: the gap cleared the cache

  // The server dies and comes back: B bypasses its cache meanwhile, then
  // resubscribes; a write made just before the kill is never served stale.
  ASSERT_EQ(a.send("set r:x 2"), "ok");
  server.kill9();
  for (int i = 0; i < 200 && b->bus().stats().subscribed; ++i) std::this_thread::sleep_for(5ms);
  EXPECT_FALSE(b->bus().stats().subscribed);
  EXPECT_EQ(b->cache().size(), 0u);
  EXPECT_TRUE(b->get("r:x").failed());  // no server: an error, never the cached "1"
  server.start();
  if (HasFatalFailure()) return;
  ASSERT_TRUE(b->bus().wait_until_subscribed(Millis(5000)));
  EXPECT_EQ(b->get("r:x").value, "2");
  ASSERT_TRUE(send_until_ok(a, "set r:x 3"));
  EXPECT_TRUE(read_until(*b, "r:x", "3", Millis(1000)));
}

/// One read of the randomised run: the key, the version it returned (0:
/// absent or not yet written), and when the read began.
struct ReadSample {
  std::string key;
  long version;
  std::int64_t began_ns;
};

TEST(RedisBus, RandomisedCutsEndWithZeroStaleReads) {
  // Writers in A, readers in B, a cut every 150-450 ms (mostly the server
  // killing the subscriptions, every fifth a kill -9 and restart of the
  // server), three seeds of 10 s. A stale read returns a version older than
  // one A had confirmed more than the bound before the read began: 200 ms
  // for Redis keys (tracked), max_staleness + 200 ms for PostgreSQL keys
  // (announced: a PUBLISH lost in a restart leaves only the bound).
  RedisProcess server(fresh_dir());
  server.start();
  if (HasFatalFailure()) return;
  constexpr std::int64_t ms = 1'000'000;
  std::size_t total_reads = 0, total_writes = 0, total_cuts = 0, total_stale = 0;
  for (const unsigned seed : {1u, 2u, 3u}) {
    const InstanceConfig config = fresh_config(kill_port(), Millis(1000));
    auto b = reader(config);
    Writer a(config);
    std::atomic<bool> done{false};
    std::mutex samples_mutex;
    std::vector<ReadSample> samples;
    std::vector<std::thread> readers;
    for (unsigned r = 0; r < 2; ++r)
      readers.emplace_back([&, r] {
        std::mt19937 random(seed * 31 + r);
        std::vector<ReadSample> mine;
        while (!done) {
          const std::string key = (random() % 2 == 0 ? "r:" : "p:") + std::to_string(random() % 20);
          const std::int64_t began = monotonic_ns();
          const Lookup got = b->get(key);
          if (got.failed()) continue;  // a restart: an error is not a stale read
          mine.push_back({key, got.found() ? std::stol(got.value) : 0, began});
        }
        std::lock_guard lock(samples_mutex);
        samples.insert(samples.end(), mine.begin(), mine.end());
      });
    std::size_t cuts = 0;
    std::thread cutter([&] {
      std::mt19937 random(seed);
      while (!done) {
        std::this_thread::sleep_for(Millis(150 + random() % 300));
        if (done) break;
        if (++cuts % 5 == 0) {
          server.kill9();
          server.start();
        } else {
          redis_command(kill_port(), "CLIENT KILL TYPE pubsub");
        }
      }
    });
    // A's confirmed writes, as it logged them.
    std::map<std::string, std::vector<std::pair<std::int64_t, long>>> confirmed;
    std::size_t writes = 0;
    a.post("random 10 " + std::to_string(seed));
    for (std::string line = a.line(); !line.empty() && line != "done"; line = a.line()) {
      std::istringstream words(line);
      std::string w, key;
      long version = 0;
      std::int64_t at = 0;
      words >> w >> key >> version >> at;
      confirmed[key].emplace_back(at, version);
      ++writes;
    }
    done = true;
    cutter.join();
    for (auto& t : readers) t.join();
    std::size_t stale = 0;
    for (const ReadSample& read : samples) {
      const std::int64_t bound =
          read.key.starts_with("r:") ? 200 * ms : (config.max_staleness.count() + 200) * ms;
      long newest = 0;  // the newest version confirmed more than `bound` before the read began
      for (const auto& [at, version] : confirmed[read.key])
        if (at < read.began_ns - bound) newest = std::max(newest, version);
      stale += read.version < newest;
    }
    std::printf("seed %u: %zu reads, %zu confirmed writes, %zu cuts, %llu gaps, %zu stale\n", seed,
                samples.size(), writes, cuts,
                static_cast<unsigned long long>(b->bus().stats().gaps), stale);
    EXPECT_GT(samples.size(), 1000u);
    EXPECT_GT(writes, 1000u);
    EXPECT_GE(b->bus().stats().gaps, 5u);
    total_reads += samples.size();
    total_writes += writes;
    total_cuts += cuts;
    total_stale += stale;
  }
  std::printf("randomised run: %zu reads, %zu writes, %zu cuts, %zu stale reads\n", total_reads,
              total_writes, total_cuts, total_stale);
  EXPECT_EQ(total_stale, 0u);
}

}  // namespace
}  // namespace strata::testing
