// BatchSingleFlight: reads that miss the same keys at once cause one load of
// them; every waiter gets the leader's answer, error included; a read that
// begins after a write ended never joins a load that began before it; a read
// never waits on itself. The leader's load is held at a gate until the test
// has seen the other reads join, so no outcome depends on scheduling.
#include <strata/strata.hpp>
#include <strata/testing/store_laws.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <barrier>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace strata::testing {
namespace {

using namespace std::chrono_literals;

/// A MemoryRepository whose load_many, while the gate is shut, waits until it
/// is opened (at most a minute: a test that never opens it fails, it does not hang).
class GatedRepository {
 public:
  static constexpr bool atomic_batches = MemoryRepository::atomic_batches;

  struct Gate {
    std::mutex mutex;
    std::condition_variable opened;
    bool shut = false;
    std::atomic<std::size_t> loads{0};
    std::atomic<std::size_t> loaded_keys{0};
    std::atomic<std::size_t> waiting{0};
    std::error_code fail_with{};  // every load fails with this, when set

    void open() {
      {
        const std::lock_guard lock(mutex);
        shut = false;
      }
      opened.notify_all();
    }
  };

  GatedRepository() : gate_(std::make_shared<Gate>()) {}

  Gate& gate() const noexcept { return *gate_; }

  BatchResult store_many(std::span<const Record> records) { return inner_.store_many(records); }
  EraseResult erase_many(std::span<const std::string_view> keys) { return inner_.erase_many(keys); }
  LoadResult load_many(std::span<const std::string_view> keys) {
    gate_->loads += 1;
    gate_->loaded_keys += keys.size();
    {
      std::unique_lock lock(gate_->mutex);
      if (gate_->shut) {
        ++gate_->waiting;
        gate_->opened.wait_for(lock, 60s, [&] { return !gate_->shut; });
        --gate_->waiting;
      }
    }
    if (gate_->fail_with) {
      LoadResult failed(keys.size());
      failed.fail_all(gate_->fail_with);
      return failed;
    }
    return inner_.load_many(keys);
  }

 private:
  MemoryRepository inner_{};
  std::shared_ptr<Gate> gate_;
};

using FlightStore = TieredStore<NoCache, FixedRouter<Tier::hot>, GatedRepository, NoTier, NoTier,
                                NoBus, StripedStats, NoMetrics, BatchSingleFlight>;

static_assert(SingleFlightPolicy<NoSingleFlight> && SingleFlightPolicy<BatchSingleFlight>);

/// Polls `done` for up to a minute; false if it never held.
bool eventually(const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

std::vector<std::string> numbered_keys(std::size_t n) {
  std::vector<std::string> keys;
  keys.reserve(n);
  for (std::size_t i = 0; i < n; ++i) keys.push_back("px:" + std::to_string(i));
  return keys;
}

/// A get of `key` started on its own thread and held at the (now shut) gate
/// inside its load: the leader of that key's flight until the gate opens.
std::future<Lookup> a_get_held_at_the_gate(FlightStore& store, std::string_view key) {
  GatedRepository::Gate& gate = store.tier<Tier::hot>().gate();
  gate.shut = true;
  auto read = std::async(std::launch::async, [&store, key] { return store.get(key); });
  EXPECT_TRUE(eventually([&] { return gate.waiting == 1; })) << "the get never reached the gate";
  return read;
}

/// Eight readers of the same keys, started together while the gate is shut;
/// returns their answers once `ready` held and the gate was opened.
std::vector<LoadResult> eight_readers(FlightStore& store, const std::vector<std::string>& keys,
                                      const std::function<bool()>& ready) {
  constexpr std::size_t readers = 8;
  GatedRepository::Gate& gate = store.tier<Tier::hot>().gate();
  gate.shut = true;
  std::vector<LoadResult> answers(readers);
  std::vector<std::thread> threads;
  threads.reserve(readers);
  std::barrier start(readers);
  for (std::size_t r = 0; r < readers; ++r)
    threads.emplace_back([&, r] {
      start.arrive_and_wait();
      answers[r] = store.batch_get(keys);
    });
  EXPECT_TRUE(eventually(ready)) << "the readers never all reached the flight";
  gate.open();
  for (auto& thread : threads) thread.join();
  return answers;
}

TEST(SingleFlight, EightReadersOfTheSameUncachedKeysCauseOneLoad) {
  FlightStore store;
  const std::vector<std::string> keys = numbered_keys(354);
  std::vector<std::string> values;  // Item holds views: the values outlive it
  std::vector<Item> items;
  values.reserve(keys.size());
  items.reserve(keys.size());
  for (const std::string& key : keys) items.push_back(Item{key, values.emplace_back("v-" + key)});
  ASSERT_TRUE(store.batch_set(items).all_stored());

  GatedRepository::Gate& gate = store.tier<Tier::hot>().gate();
  const std::vector<LoadResult> answers = eight_readers(store, keys, [&] {
    return store.single_flight().joined_keys() == 7 * keys.size() && gate.waiting == 1;
  });

  EXPECT_EQ(gate.loads.load(), 1u);
  EXPECT_EQ(gate.loaded_keys.load(), keys.size());
  EXPECT_EQ(store.stats()[Tier::hot].calls, 2u);  // the batch_set and the one load
  for (const LoadResult& answer : answers) {
    ASSERT_EQ(answer.size(), keys.size());
    for (std::size_t i = 0; i < keys.size(); ++i) {
      ASSERT_TRUE(answer[i].found()) << keys[i];
      EXPECT_EQ(answer[i].value, "v-" + keys[i]);
    }
  }
}

TEST(SingleFlight, TheLeadersErrorReachesEveryWaiter) {
  FlightStore store;
  const std::vector<std::string> keys = numbered_keys(40);
  GatedRepository::Gate& gate = store.tier<Tier::hot>().gate();
  gate.fail_with = make_error_code(errc::timeout);
  const std::vector<LoadResult> answers = eight_readers(store, keys, [&] {
    return store.single_flight().joined_keys() == 7 * keys.size() && gate.waiting == 1;
  });
  EXPECT_EQ(gate.loads.load(), 1u);
  for (const LoadResult& answer : answers)
    for (std::size_t i = 0; i < keys.size(); ++i) EXPECT_EQ(answer[i].error, errc::timeout);
}

TEST(SingleFlight, AbsentKeysAreAbsentForEveryWaiter) {
  FlightStore store;
  const std::vector<std::string> keys = numbered_keys(10);
  GatedRepository::Gate& gate = store.tier<Tier::hot>().gate();
  const std::vector<LoadResult> answers = eight_readers(store, keys, [&] {
    return store.single_flight().joined_keys() == 7 * keys.size() && gate.waiting == 1;
  });
  EXPECT_EQ(gate.loads.load(), 1u);
  for (const LoadResult& answer : answers)
    for (std::size_t i = 0; i < keys.size(); ++i) EXPECT_TRUE(answer[i].absent());
}

TEST(SingleFlight, AReadAfterAWriteEndedDoesNotJoinALoadBegunBeforeIt) {
  FlightStore store;
  ASSERT_FALSE(store.set("px:k", "old"));
  GatedRepository::Gate& gate = store.tier<Tier::hot>().gate();
  // The leader reads "old" ... and is held at the gate before answering.
  auto leader = a_get_held_at_the_gate(store, "px:k");
  ASSERT_FALSE(store.set("px:k", "new"));
  // Writes go around the gate, reads after the leader's do not wait at it:
  // only a read that joined the leader would, and this one must not.
  auto follower = std::async(std::launch::async, [&] { return store.get("px:k"); });
  // The follower loads for itself: it reaches the (shut) gate too.
  ASSERT_TRUE(eventually([&] { return gate.waiting == 2; }))
      << "the read after the write joined the load begun before it";
  gate.open();
  const Lookup after = follower.get();
  ASSERT_TRUE(after.found());
  EXPECT_EQ(after.value, "new");
  ASSERT_TRUE(leader.get().found());  // "old" or "new": it overlapped the write
  EXPECT_EQ(store.single_flight().joined_keys(), 0u);
}

TEST(SingleFlight, AKeyTwiceInOneReadIsNotWaitedForByItself) {
  FlightStore store;
  ASSERT_FALSE(store.set("px:a", "1"));
  auto read = std::async(std::launch::async, [&] {
    return store.batch_get({"px:a", "px:b", "px:a"});
  });
  ASSERT_EQ(read.wait_for(60s), std::future_status::ready) << "a read waited on itself";
  const LoadResult got = read.get();
  EXPECT_EQ(got[0].value, "1");
  EXPECT_TRUE(got[1].absent());
  EXPECT_EQ(got[2].value, "1");
  EXPECT_EQ(store.single_flight().joined_keys(), 0u);
}

TEST(SingleFlight, ARefreshReadLoadsForItself) {
  FlightStore store;
  ASSERT_FALSE(store.set("px:k", "v"));
  GatedRepository::Gate& gate = store.tier<Tier::hot>().gate();
  auto leader = a_get_held_at_the_gate(store, "px:k");
  auto refresh =
      std::async(std::launch::async, [&] { return store.get("px:k", ReadMode::refresh); });
  ASSERT_TRUE(eventually([&] { return gate.waiting == 2; })) << "a refresh joined a load";
  gate.open();
  EXPECT_EQ(refresh.get().value, "v");
  EXPECT_EQ(leader.get().value, "v");
}

}  // namespace

/// The in-memory stack with BatchSingleFlight, for the store laws (outside
/// the unnamed namespace: the suite reads `name` from another expansion).
struct SingleFlightBackends : MemoryBackends {
  static constexpr const char* name = "single-flight";
  using SingleFlight = BatchSingleFlight;
};

}  // namespace strata::testing

STRATA_STORE_LAWS(SingleFlight, strata::testing::SingleFlightBackends);
