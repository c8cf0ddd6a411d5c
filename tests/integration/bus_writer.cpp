// The other instance of the invalidation-bus tests: a separate process that
// writes through its own store and bus, driven line by line on stdin:
//
//   set KEY VALUE          -> "ok" once stored and announced
//   del KEY                -> "ok" once erased and announced
//   set-then-die KEY VALUE -> stored, then SIGKILL before any announcement
//   random SECONDS SEED    -> random sets of r:0..r:19 and p:0..p:19 with
//                             rising versions; a line "w KEY VERSION NS" per
//                             confirmed write (NS: CLOCK_MONOTONIC), then "done"
//
// Arguments: REDIS_PORT KEY_PREFIX PG_CONNINFO PG_TABLE MAX_STALENESS_MS.
#include "bus_instance.hpp"

#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <thread>

namespace {

std::atomic<bool> die_before_announcing{false};

/// RedisBus, with a fault hook: the process dies after its storage write
/// returned and before the store could announce anything.
struct DyingBus {
  static constexpr bool enabled = true;
  strata::RedisBus bus;

  void attach(strata::BusSink sink) { bus.attach(std::move(sink)); }
  void announce(strata::Tier tier, std::span<const std::string_view> keys) {
    if (die_before_announcing) std::raise(SIGKILL);
    bus.announce(tier, keys);
  }
  std::optional<strata::Millis> staleness_bound(strata::Tier tier) const {
    return bus.staleness_bound(tier);
  }
};

void reply(const std::string& line) { std::cout << line << '\n' << std::flush; }

void random_writes(strata::testing::InstanceStore<DyingBus>& store, int seconds, unsigned seed) {
  std::mt19937 random(seed);
  std::map<std::string, long> version;
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < end) {
    const int n = static_cast<int>(random() % 20);
    const std::string key = (random() % 2 == 0 ? "r:" : "p:") + std::to_string(n);
    const long v = ++version[key];
    if (!store.set(key, std::to_string(v)))
      reply("w " + key + " " + std::to_string(v) + " " +
            std::to_string(strata::testing::monotonic_ns()));
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  reply("done");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6) {
    std::cerr << "usage: bus_writer REDIS_PORT KEY_PREFIX PG_CONNINFO PG_TABLE MAX_STALENESS_MS\n";
    return 2;
  }
  const strata::testing::InstanceConfig config{std::atoi(argv[1]), argv[2], argv[3], argv[4],
                                               strata::Millis(std::atoi(argv[5]))};
  auto store = strata::testing::make_instance(
      config, DyingBus{strata::RedisBus(strata::testing::instance_bus(config))});
  store->bus().bus.wait_until_subscribed(strata::Millis(5000));
  reply("ready");
  for (std::string line; std::getline(std::cin, line);) {
    std::istringstream words(line);
    std::string verb, key, value;
    words >> verb >> key >> value;
    if (verb == "set") {
      const std::error_code error = store->set(key, value);
      reply(error ? "err " + error.message() : "ok");
    } else if (verb == "del") {
      const strata::DeleteResult erased = store->erase(key);
      reply(erased.ok() ? "ok" : "err " + erased.error().message());
    } else if (verb == "set-then-die") {
      die_before_announcing = true;
      (void)store->set(key, value);
      reply("err survived");  // never reached: the bus's announce killed the process
    } else if (verb == "random") {
      random_writes(*store, std::stoi(key), static_cast<unsigned>(std::stoul(value)));
    } else {
      reply("err unknown command");
    }
  }
  return 0;
}
