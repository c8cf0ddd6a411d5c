// The invalidation bus (ADR 15) on loopback Redis (127.0.0.1:STRATA_REDIS_PORT,
// default 16379; scripts/bench.sh bus starts it):
//
// 1. Latency, from A's confirmed write (its set() returned) to B's cache drop
//    (B's bus handed the key to B's store), at 1k and 10k writes/s, for a
//    tracked HOT key (Redis announces it) and an announced WARM key (A's bus
//    PUBLISHes it; WARM is in memory here, so the figure is the bus's alone).
//    A write whose invalidation reached B before A's set() returned counts 0.
// 2. The cost on A: batch_set of 354 and 10k keys with a RedisBus (and a
//    subscribed reader B, so Redis does its tracking work) vs the same store
//    without a bus, in the same process, medians of interleaved repetitions.
#include <strata/backends/redis.hpp>
#include <strata/backends/redis_bus.hpp>
#include <strata/strata.hpp>

#include <strata/bench/ratio_reporter.hpp>

#include <benchmark/benchmark.h>
#include <fmt/core.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace {

using namespace strata;
using SteadyClock = std::chrono::steady_clock;
using Routes = PrefixRouter<Route<"r:", Tier::hot>, Fallback<Tier::warm>>;
template <class Bus>
using Store = TieredStore<LruCache<>, Routes, RedisRepository, MemoryRepository, NoTier, Bus>;

int port() {
  const char* p = std::getenv("STRATA_REDIS_PORT");
  return p ? std::atoi(p) : 16379;
}

RedisOptions redis(const std::string& prefix) {
  RedisOptions options;
  options.port = port();
  options.key_prefix = prefix;
  options.command_timeout = Millis{30'000};
  return options;
}

RedisBusOptions bus_options(const std::string& prefix) {
  RedisBusOptions options;
  options.server = redis(prefix);
  options.attach_wait = Millis(5000);
  return options;
}

template <class Bus>
std::unique_ptr<Store<Bus>> make_store(const std::string& prefix, Bus bus) {
  return std::make_unique<Store<Bus>>(StoreOptions{}, RedisRepository(redis(prefix)),
                                      MemoryRepository{}, NoTier{}, LruCache<>{}, Routes{},
                                      std::move(bus));
}

// ---- 1. latency --------------------------------------------------------------------------

struct Percentiles {
  double p50, p99, max;
};

Percentiles percentiles(std::vector<double> us) {
  std::sort(us.begin(), us.end());
  const auto at = [&](double q) { return us[static_cast<std::size_t>(q * (us.size() - 1))]; };
  return {at(0.50), at(0.99), us.back()};
}

/// A writes `rate` single-key sets per second for `seconds` to keys
/// "<stem><n>"; returns each write's latency to B's drop, in microseconds.
std::vector<double> latency_run(const std::string& stem, int rate, double seconds) {
  const std::string prefix =
      fmt::format("bench-bus:{}:", std::chrono::steady_clock::now().time_since_epoch().count());
  std::mutex mutex;
  std::unordered_map<std::string, SteadyClock::time_point> dropped;
  RedisBusOptions b_options = bus_options(prefix);
  b_options.on_invalidated = [&](std::span<const std::string_view> keys) {
    const auto now = SteadyClock::now();
    std::lock_guard lock(mutex);
    for (const std::string_view key : keys) dropped.emplace(std::string(key), now);
  };
  // B only listens: what is measured is the bus, not B's reads.
  auto b = make_store(prefix, RedisBus(b_options));
  auto a = make_store(prefix, RedisBus(bus_options(prefix)));
  const auto writes = static_cast<std::size_t>(rate * seconds);
  std::vector<SteadyClock::time_point> confirmed(writes);
  const auto start = SteadyClock::now();
  for (std::size_t i = 0; i < writes; ++i) {
    std::this_thread::sleep_until(start + std::chrono::nanoseconds(i * 1'000'000'000ULL / rate));
    if (a->set(stem + std::to_string(i), "v")) throw Error("bench: a write failed");
    confirmed[i] = SteadyClock::now();
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the last deliveries
  std::vector<double> us;
  us.reserve(writes);
  std::lock_guard lock(mutex);
  for (std::size_t i = 0; i < writes; ++i) {
    const auto found = dropped.find(stem + std::to_string(i));
    if (found == dropped.end()) throw Error("bench: an invalidation never arrived");
    us.push_back(std::max(
        0.0, std::chrono::duration<double, std::micro>(found->second - confirmed[i]).count()));
  }
  return us;
}

// ---- 2. cost on the writer ------------------------------------------------------------------

struct Data {
  Data(std::size_t n, const char* stem) {
    for (std::size_t i = 0; i < n; ++i) {
      keys.push_back(fmt::format("{}{:08}", stem, i));
      values.push_back(std::string(100, static_cast<char>('a' + i % 26)));
    }
    for (std::size_t i = 0; i < n; ++i) items.push_back({keys[i], values[i]});
  }
  std::vector<std::string> keys, values;
  std::vector<Item> items;
};

/// Who listens while the writer writes: nobody; another instance only (the
/// writer has no bus: the cost of Redis tracking for others); both; or both
/// with no tier tracked by Redis (every write announced by PUBLISH instead).
enum class Listeners { none, reader_only, reader_and_writer, announced_only };

RedisBusOptions listener_options(const std::string& prefix, Listeners listeners) {
  RedisBusOptions options = bus_options(prefix);
  if (listeners == Listeners::announced_only) options.server_tracked = {false, false, false};
  return options;
}

template <Listeners L>
void writer(benchmark::State& state, const char* stem) {
  const Data data(static_cast<std::size_t>(state.range(0)), stem);
  const std::string prefix = "bench-bus-cost:";
  const auto run = [&](auto& store) {
    for (auto _ : state)
      if (!store->batch_set(data.items).all_stored()) state.SkipWithError("batch_set failed");
  };
  if constexpr (L == Listeners::none) {
    auto store = make_store(prefix, NoBus{});
    run(store);
  } else {
    // Redis tracks for the reader, unless every tier is announced.
    auto reader = make_store(prefix, RedisBus(listener_options(prefix, L)));
    if constexpr (L == Listeners::reader_only) {
      auto store = make_store(prefix, NoBus{});
      run(store);
    } else {
      auto store = make_store(prefix, RedisBus(listener_options(prefix, L)));
      run(store);
    }
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  for (const long n : {354L, 10'000L}) {
    for (const auto& [tier, stem] : {std::pair{"hot", "r:"}, std::pair{"warm", "w:"}}) {
      const auto add = [&](const char* variant, void (*fn)(benchmark::State&, const char*)) {
        benchmark::RegisterBenchmark(fmt::format("{}/{}", tier, variant).c_str(),
                                     [fn, stem = stem](benchmark::State& s) { fn(s, stem); })
            ->Arg(n)
            ->Unit(benchmark::kMicrosecond);
      };
      add("no_bus", writer<Listeners::none>);
      add("reader_bus", writer<Listeners::reader_only>);
      add("bus", writer<Listeners::reader_and_writer>);
      add("bus_announced", writer<Listeners::announced_only>);
    }
  }
  strata::bench::RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.header("cost on the writer (no-bus time / bus time: 1.00x is free, 0.95x is 5% slower)");
  for (const long n : {354L, 10'000L}) {
    reporter.ratio(fmt::format("HOT x{}: another instance's bus only", n),
                   fmt::format("hot/no_bus/{}", n), fmt::format("hot/reader_bus/{}", n));
    reporter.ratio(fmt::format("HOT x{}: the writer's bus too", n), fmt::format("hot/no_bus/{}", n),
                   fmt::format("hot/bus/{}", n));
    reporter.ratio(fmt::format("HOT x{}: both, announced not tracked", n),
                   fmt::format("hot/no_bus/{}", n), fmt::format("hot/bus_announced/{}", n));
    reporter.ratio(fmt::format("WARM in memory x{}: another instance's bus only", n),
                   fmt::format("warm/no_bus/{}", n), fmt::format("warm/reader_bus/{}", n));
    reporter.ratio(fmt::format("WARM in memory x{}: the writer's bus too (PUBLISH)", n),
                   fmt::format("warm/no_bus/{}", n), fmt::format("warm/bus/{}", n));
  }

  fmt::print("\ninvalidation latency, A's confirmed write -> B's cache drop (loopback, us)\n");
  fmt::print("{:<34} {:>8} {:>9} {:>9} {:>9}\n", "path", "writes/s", "p50", "p99", "max");
  for (const int rate : {1'000, 10'000}) {
    for (const auto& [label, stem] : {std::pair{"HOT, tracked by Redis", "r:"},
                                      std::pair{"WARM, announced by PUBLISH", "w:"}}) {
      const Percentiles p = percentiles(latency_run(stem, rate, 2.0));
      fmt::print("{:<34} {:>8} {:>9.0f} {:>9.0f} {:>9.0f}\n", label, rate, p.p50, p.p99, p.max);
    }
  }
  return 0;
}
