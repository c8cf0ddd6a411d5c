// strata's core benchmarks, each paired with a baseline run in this process:
//  - batch vs as many single calls, for set/get/delete of 1, 100, 10k keys;
//  - TieredStore over the memory tier vs calling MemoryRepository directly
//    (with the same envelope encode/decode a hand-written caller would do);
//  - LruCache hit latency with one and two threads.
// Run: build/release/bench/strata_bench   (scripts/bench.sh does it)
#include <strata/strata.hpp>

#include <strata/bench/batch_data.hpp>
#include <strata/bench/ratio_reporter.hpp>

#include <benchmark/benchmark.h>
#include <fmt/core.h>

#include <string>
#include <vector>

namespace {

using namespace strata;
using HotOnly = TieredStore<NoCache, FixedRouter<Tier::hot>, MemoryRepository, NoTier, NoTier>;

/// 100-byte values under "bench:key:..." keys.
struct Data : bench::BatchData {
  explicit Data(std::size_t n) : BatchData(n, "bench:key:", 100) {}
};

// ---- batch vs sequential ------------------------------------------------------

void set_sequential(benchmark::State& state) {
  const Data data(static_cast<std::size_t>(state.range(0)));
  HotOnly store;
  for (auto _ : state)
    for (const Item& item : data.items) benchmark::DoNotOptimize(store.set(item.key, item.value));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
void set_batch(benchmark::State& state) {
  const Data data(static_cast<std::size_t>(state.range(0)));
  HotOnly store;
  for (auto _ : state) benchmark::DoNotOptimize(store.batch_set(data.items));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
void get_sequential(benchmark::State& state) {
  const Data data(static_cast<std::size_t>(state.range(0)));
  HotOnly store;
  store.batch_set(data.items);
  for (auto _ : state)
    for (std::string_view key : data.views) benchmark::DoNotOptimize(store.get(key));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
void get_batch(benchmark::State& state) {
  const Data data(static_cast<std::size_t>(state.range(0)));
  HotOnly store;
  store.batch_set(data.items);
  for (auto _ : state) benchmark::DoNotOptimize(store.batch_get(data.views));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
/// Times `erase_all(store, data)` on a store refilled (untimed) before each run.
template <class EraseAll>
void time_deletes(benchmark::State& state, EraseAll erase_all) {
  const Data data(static_cast<std::size_t>(state.range(0)));
  HotOnly store;
  for (auto _ : state) {
    state.PauseTiming();
    store.batch_set(data.items);
    state.ResumeTiming();
    erase_all(store, data);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
void delete_sequential(benchmark::State& state) {
  time_deletes(state, [](HotOnly& store, const Data& data) {
    for (std::string_view key : data.views) benchmark::DoNotOptimize(store.erase(key));
  });
}
void delete_batch(benchmark::State& state) {
  time_deletes(state, [](HotOnly& store, const Data& data) {
    benchmark::DoNotOptimize(store.batch_delete(data.views));
  });
}

// ---- TieredStore vs the repository it wraps -----------------------------------

void direct_set(benchmark::State& state) {
  MemoryRepository repo;
  const Clock clock;
  const std::string key = "bench:key", value(100, 'v');
  std::string envelope(encoded_envelope_size(value.size()), '\0');
  for (auto _ : state) {
    const TimePoint now = clock.now();
    encode_envelope_into(envelope.data(), key, {now, now, std::nullopt, 0}, value);
    const Record record{key, envelope, std::nullopt};
    benchmark::DoNotOptimize(repo.store_many(std::span(&record, 1)).all_stored());
  }
}
void store_set(benchmark::State& state) {
  HotOnly store;
  const std::string key = "bench:key", value(100, 'v');
  for (auto _ : state) benchmark::DoNotOptimize(store.set(key, value));
}
void direct_get(benchmark::State& state) {
  MemoryRepository repo;
  const std::string_view key = "bench:key";
  const std::string envelope = encode_envelope(key, {}, std::string(100, 'v'));
  const Record record{key, envelope, std::nullopt};
  repo.store_many(std::span(&record, 1));
  for (auto _ : state) {
    LoadResult loaded = repo.load_many(std::span(&key, 1));
    const DecodedEnvelope decoded = decode_envelope(key, loaded[0].value);
    std::string value(decoded.envelope.value);
    benchmark::DoNotOptimize(value);
  }
}
void store_get(benchmark::State& state) {
  HotOnly store;
  store.set("bench:key", std::string(100, 'v'));
  for (auto _ : state) benchmark::DoNotOptimize(store.get("bench:key"));
}

// ---- LRU hits -------------------------------------------------------------------

LruCache<>& shared_cache() {
  static LruCache<> cache = [] {
    LruCache<> c;
    for (int i = 0; i < 1024; ++i)
      c.put(fmt::format("k{}", i), std::string(100, 'v'), std::nullopt);
    return c;
  }();
  return cache;
}
void lru_hit(benchmark::State& state) {
  LruCache<>& cache = shared_cache();
  std::vector<std::string> keys;
  keys.reserve(1024);
  for (int i = 0; i < 1024; ++i) keys.push_back(fmt::format("k{}", i));
  const TimePoint now = Clock{}.now();
  std::size_t i = static_cast<std::size_t>(state.thread_index()) * 512;
  for (auto _ : state) benchmark::DoNotOptimize(cache.find(keys[i++ & 1023], now));
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  const std::vector<long> sizes{1, 100, 10'000};
  for (long n : sizes) {
    benchmark::RegisterBenchmark("set/sequential", set_sequential)->Arg(n);
    benchmark::RegisterBenchmark("set/batch", set_batch)->Arg(n);
    benchmark::RegisterBenchmark("get/sequential", get_sequential)->Arg(n);
    benchmark::RegisterBenchmark("get/batch", get_batch)->Arg(n);
    benchmark::RegisterBenchmark("delete/sequential", delete_sequential)->Arg(n);
    benchmark::RegisterBenchmark("delete/batch", delete_batch)->Arg(n);
  }
  benchmark::RegisterBenchmark("overhead/direct_set", direct_set);
  benchmark::RegisterBenchmark("overhead/store_set", store_set);
  benchmark::RegisterBenchmark("overhead/direct_get", direct_get);
  benchmark::RegisterBenchmark("overhead/store_get", store_get);
  benchmark::RegisterBenchmark("lru/hit", lru_hit)->Threads(1)->Threads(2);

  strata::bench::RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);

  reporter.header("batch vs sequential (time of N single calls / one batch)");
  for (long n : sizes)
    for (const char* op : {"set", "get", "delete"})
      reporter.ratio(fmt::format("{} x{}", op, n), fmt::format("{}/sequential/{}", op, n),
                     fmt::format("{}/batch/{}", op, n));
  reporter.header("TieredStore vs direct MemoryRepository (store / direct)");
  reporter.ratio("set", "overhead/store_set", "overhead/direct_set");
  reporter.ratio("get", "overhead/store_get", "overhead/direct_get");
  if (reporter.ns("lru/hit/threads:1") > 0)  // absent under --benchmark_filter
    fmt::print("\nLruCache hit: {:.1f} ns on 1 thread; 2 threads give {:.2f}x its throughput\n",
               reporter.ns("lru/hit/threads:1"), reporter.scaling("lru/hit", 2));
  benchmark::Shutdown();
  return 0;
}
