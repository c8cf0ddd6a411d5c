// The three cache policies side by side, in one process:
//  - hit latency on a 100-byte value, copied out (find) and read in place
//    (read, a reader touching its first and last byte), on one thread
//    and on two threads reading distinct keys, and the two-thread scaling
//    (total throughput of two threads / one);
//  - hit ratio on a Zipf(0.99) stream over 1M keys with capacity 100k, alone
//    and with a one-pass scan of 200k never-repeated keys mixed in (one scan
//    key after every 25th request, as a backfill running beside the traffic
//    would), from cold and after a warm-up of as many requests, for the
//    default probation share of S3FifoCache and two smaller ones and for
//    TinyLfuCache's default window, next to LFU over exact counts and to
//    always keeping the 100k most popular keys.
// A miss is filled at once (find, then put), as TieredStore does on a read.
//
//   scripts/bench.sh cache
#include <strata/bench/ratio_reporter.hpp>

#include <strata/cache/lru_cache.hpp>
#include <strata/cache/s3fifo_cache.hpp>
#include <strata/cache/tinylfu_cache.hpp>

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

using namespace strata;

constexpr std::size_t hit_keys = 1024;

std::vector<std::string> hit_key_names() {
  std::vector<std::string> keys;
  for (std::size_t i = 0; i < hit_keys; ++i) keys.push_back(fmt::format("k{}", i));
  return keys;
}

template <class Cache>
Cache& filled_cache() {
  static Cache cache = [] {
    Cache c;
    for (const std::string& key : hit_key_names()) c.put(key, std::string(100, 'v'), std::nullopt);
    return c;
  }();
  return cache;
}

// Each thread reads its own half of the keys: distinct keys, as the issue
// asks. `hit(cache, key, now)` is one read.
template <class Cache, class Hit>
void hits(benchmark::State& state, Hit hit) {
  Cache& cache = filled_cache<Cache>();
  const std::vector<std::string> keys = hit_key_names();
  const TimePoint now = Clock{}.now();
  const std::size_t base = static_cast<std::size_t>(state.thread_index()) * (hit_keys / 2);
  std::size_t i = 0;
  for (auto _ : state) hit(cache, keys[base + (i++ & (hit_keys / 2 - 1))], now);
}

// `find`: the value copied out.
template <class Cache>
void find_hit(benchmark::State& state) {
  hits<Cache>(state, [](Cache& cache, const std::string& key, TimePoint now) {
    auto found = cache.find(key, now);
    benchmark::DoNotOptimize(found);
  });
}

// `read`: the value handed in place to a reader, which reads its first and last byte.
template <class Cache>
void read_hit(benchmark::State& state) {
  hits<Cache>(state, [](Cache& cache, const std::string& key, TimePoint now) {
    const bool found = cache.read(key, now, [](std::string_view value, std::uint8_t) {
      benchmark::DoNotOptimize(static_cast<unsigned char>(value.front()) +
                               static_cast<unsigned char>(value.back()));
    });
    benchmark::DoNotOptimize(found);
  });
}

// What two threads can get on this machine at best: each runs a loop of
// arithmetic on its own registers, sharing nothing (a VM's two vCPUs need
// not give twice one's throughput).
void private_work(benchmark::State& state) {
  std::uint64_t x = static_cast<std::uint64_t>(state.thread_index()) + 1;
  for (auto _ : state) {
    for (int i = 0; i < 16; ++i) x = x * 6364136223846793005u + 1442695040888963407u;
    benchmark::DoNotOptimize(x);
  }
}

/// Ranks 0..n-1 drawn with probability proportional to 1 / (rank + 1)^s.
class Zipf {
 public:
  Zipf(std::size_t n, double s) : cdf_(n) {
    double sum = 0;
    for (std::size_t i = 0; i < n; ++i)
      cdf_[i] = sum += 1.0 / std::pow(static_cast<double>(i + 1), s);
    for (double& c : cdf_) c /= sum;
  }
  std::size_t operator()(std::mt19937_64& rng) const {
    const double u = std::uniform_real_distribution<double>(0, 1)(rng);
    return static_cast<std::size_t>(std::lower_bound(cdf_.begin(), cdf_.end(), u) - cdf_.begin());
  }

 private:
  std::vector<double> cdf_;
};

constexpr std::size_t universe = 1'000'000, capacity = 100'000, scan_keys = 200'000;
constexpr std::size_t requests = 5'000'000;  // counted, after `requests` of warm-up when warm

/// 2 * `requests` Zipf ranks: the first half is the cold stream and the warm
/// stream's warm-up, the second half the warm stream's counted requests.
const std::vector<std::uint32_t>& ranks() {
  static const std::vector<std::uint32_t> out = [] {
    std::vector<std::uint32_t> r;
    const Zipf zipf(universe, 0.99);
    std::mt19937_64 rng(20261201);
    r.reserve(2 * requests);
    for (std::size_t i = 0; i < 2 * requests; ++i)
      r.push_back(static_cast<std::uint32_t>(zipf(rng)));
    return r;
  }();
  return out;
}

/// The counted requests: the first `requests` ranks from cold, the next ones when warm.
std::size_t first_counted(bool warm) { return warm ? requests : 0; }

/// Hits / counted Zipf requests. Warm, the cache first serves the `requests`
/// before them, uncounted and with no scan. The scan's own requests miss
/// under every policy and are not counted.
template <class Cache>
double hit_ratio(Cache cache, bool with_scan, bool warm) {
  const std::vector<std::uint32_t>& r = ranks();
  const TimePoint now = Clock{}.now();
  const std::string value(16, 'v');
  const auto request = [&](const std::string& k) {
    if (cache.find(k, now)) return true;
    cache.put(k, value, std::nullopt);
    return false;
  };
  const std::size_t first = first_counted(warm);
  for (std::size_t i = 0; i < first; ++i) request(fmt::format("key:{}", r[i]));
  std::size_t hits = 0;
  constexpr std::size_t scan_every = requests / scan_keys;
  for (std::size_t i = 0; i < requests; ++i) {
    if (with_scan && i % scan_every == 0) request(fmt::format("scan:{}", i / scan_every));
    hits += request(fmt::format("key:{}", r[first + i]));
  }
  return static_cast<double>(hits) / static_cast<double>(requests);
}

/// What always holding the `capacity` most popular keys would hit (no miss to load them).
double oracle_ratio(bool warm) {
  const auto counted = ranks().begin() + static_cast<std::ptrdiff_t>(first_counted(warm));
  const auto popular = std::count_if(counted, counted + static_cast<std::ptrdiff_t>(requests),
                                     [](std::uint32_t r) { return r < capacity; });
  return static_cast<double>(popular) / static_cast<double>(requests);
}

/// A reference no sharded cache reaches cheaply: LFU over exact counts of
/// every request so far (warm-up included), a missed key admitted only when
/// counted more often than the least counted key held. For requests drawn
/// independently, keeping the keys seen most often is the best a policy that
/// does not know the popularities can do, up to ties; it shows how much of
/// the oracle's lead is the cost of learning which keys are popular.
double exact_lfu_ratio(bool warm) {
  const std::vector<std::uint32_t>& r = ranks();
  std::vector<std::uint32_t> count(universe);
  std::vector<bool> held(universe);
  std::set<std::pair<std::uint32_t, std::uint32_t>> by_count;  // (count, rank), least first
  std::size_t hits = 0;
  const std::size_t first = first_counted(warm);
  for (std::size_t i = 0; i < first + requests; ++i) {
    const std::uint32_t key = r[i];
    if (held[key]) {
      hits += i >= first;
      by_count.erase({count[key], key});
      by_count.insert({++count[key], key});
      continue;
    }
    ++count[key];
    if (by_count.size() == capacity) {
      const auto least = by_count.begin();
      if (count[key] <= least->first) continue;
      held[least->second] = false;
      by_count.erase(least);
    }
    by_count.insert({count[key], key});
    held[key] = true;
  }
  return static_cast<double>(hits) / static_cast<double>(requests);
}

void print_hit_ratios(bool warm) {
  const LruOptions lru{.max_entries = capacity, .max_bytes = 0, .shards = 16};
  const auto fifo = [](std::size_t probation_percent) {
    return S3FifoOptions{.max_entries = capacity,
                         .max_bytes = 0,
                         .shards = 16,
                         .probation_percent = probation_percent};
  };
  fmt::print("\nhit ratio, Zipf(0.99) over {} keys, capacity {}, {} requests counted, {}:\n",
             universe, capacity, requests,
             warm ? fmt::format("after {} requests of warm-up", requests) : "from cold");
  fmt::print("{:>40} {:>8} {:>12}\n", "", "Zipf", "Zipf + scan");
  const auto row = [&](const std::string& name, auto make) {
    fmt::print("{:>40} {:>8.4f} {:>12.4f}\n", name, hit_ratio(make(), false, warm),
               hit_ratio(make(), true, warm));
  };
  row("LruCache", [&] { return LruCache<>(lru); });
  row("S3FifoCache (probation 10%, the default)", [&] { return S3FifoCache<>(fifo(10)); });
  row("S3FifoCache (probation 5%)", [&] { return S3FifoCache<>(fifo(5)); });
  row("S3FifoCache (probation 2%)", [&] { return S3FifoCache<>(fifo(2)); });
  row("TinyLfuCache (window 1%, the default)",
      [&] { return TinyLfuCache<>({.max_entries = capacity, .max_bytes = 0, .shards = 16}); });
  fmt::print("{:>40} {:>8.4f}\n", "LFU over exact counts (reference)", exact_lfu_ratio(warm));
  fmt::print("{:>40} {:>8.4f}\n", "the 100k most popular keys", oracle_ratio(warm));
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  benchmark::RegisterBenchmark("machine/private_work", private_work)->Threads(1)->Threads(2);
  benchmark::RegisterBenchmark("find/lru", find_hit<LruCache<>>)->Threads(1)->Threads(2);
  benchmark::RegisterBenchmark("find/s3fifo", find_hit<S3FifoCache<>>)->Threads(1)->Threads(2);
  benchmark::RegisterBenchmark("read/lru", read_hit<LruCache<>>)->Threads(1)->Threads(2);
  benchmark::RegisterBenchmark("read/s3fifo", read_hit<S3FifoCache<>>)->Threads(1)->Threads(2);
  benchmark::RegisterBenchmark("find/tinylfu", find_hit<TinyLfuCache<>>)->Threads(1)->Threads(2);
  benchmark::RegisterBenchmark("read/tinylfu", read_hit<TinyLfuCache<>>)->Threads(1)->Threads(2);
  strata::bench::RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);

  const double ceiling = reporter.scaling("machine/private_work", 2);
  for (const char* how : {"find", "read"})
    for (const char* policy : {"lru", "s3fifo", "tinylfu"}) {
      const std::string name = fmt::format("{}/{}", how, policy);
      if (reporter.ns(name + "/threads:1") > 0)
        fmt::print(
            "{:>7} {}, 100-byte value {}: {:.1f} ns on 1 thread; 2 threads give {:.2f}x the "
            "throughput of 1 (a loop sharing nothing: {:.2f}x)\n",
            policy, how, how == std::string_view("find") ? "copied out" : "read in place",
            reporter.ns(name + "/threads:1"), reporter.scaling(name, 2), ceiling);
    }

  print_hit_ratios(false);
  print_hit_ratios(true);
  fmt::print(
      "(the scan: {} keys once each, one after every {}th request; its own misses are "
      "not counted)\n",
      scan_keys, requests / scan_keys);
  benchmark::Shutdown();
  return 0;
}
