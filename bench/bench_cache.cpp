// The two cache policies side by side, in one process:
//  - hit latency on a 100-byte value (the copy out included), on one thread
//    and on two threads reading distinct keys, and the two-thread scaling
//    (total throughput of two threads / one);
//  - hit ratio on a Zipf(0.99) stream over 1M keys with capacity 100k, alone
//    and with a one-pass scan of 200k never-repeated keys mixed in (one scan
//    key after every 25th request, as a backfill running beside the traffic
//    would), next to what always keeping the 100k most popular keys would give.
// A miss is filled at once (find, then put), as TieredStore does on a read.
//
//   scripts/bench.sh cache
#include <strata/bench/ratio_reporter.hpp>

#include <strata/cache/lru_cache.hpp>
#include <strata/cache/s3fifo_cache.hpp>

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
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

// Each thread reads its own half of the keys: distinct keys, as the issue asks.
template <class Cache>
void hit(benchmark::State& state) {
  Cache& cache = filled_cache<Cache>();
  const std::vector<std::string> keys = hit_key_names();
  const TimePoint now = Clock{}.now();
  const std::size_t base = static_cast<std::size_t>(state.thread_index()) * (hit_keys / 2);
  std::size_t i = 0;
  for (auto _ : state) {
    auto found = cache.find(keys[base + (i++ & (hit_keys / 2 - 1))], now);
    benchmark::DoNotOptimize(found);
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

struct Stream {
  std::vector<std::uint32_t> ranks;  // the Zipf requests, in order
};

constexpr std::size_t universe = 1'000'000, capacity = 100'000, scan_keys = 200'000;
constexpr std::size_t requests = 5'000'000;

const Stream& stream() {
  static const Stream s = [] {
    Stream out;
    const Zipf zipf(universe, 0.99);
    std::mt19937_64 rng(20261201);
    out.ranks.reserve(requests);
    for (std::size_t i = 0; i < requests; ++i)
      out.ranks.push_back(static_cast<std::uint32_t>(zipf(rng)));
    return out;
  }();
  return s;
}

/// Hits / Zipf requests (the scan's own requests miss under every policy and are not counted).
template <class Cache>
double hit_ratio(Cache cache, bool with_scan) {
  const Stream& s = stream();
  const TimePoint now = Clock{}.now();
  const std::string value(16, 'v');
  std::size_t hits = 0;
  const auto request = [&](const std::string& k) {
    if (cache.find(k, now)) return true;
    cache.put(k, value, std::nullopt);
    return false;
  };
  constexpr std::size_t scan_every = requests / scan_keys;
  for (std::size_t i = 0; i < s.ranks.size(); ++i) {
    if (with_scan && i % scan_every == 0) request(fmt::format("scan:{}", i / scan_every));
    hits += request(fmt::format("key:{}", s.ranks[i]));
  }
  return static_cast<double>(hits) / static_cast<double>(s.ranks.size());
}

/// What always holding the `capacity` most popular keys would hit.
double oracle_ratio() {
  const Stream& s = stream();
  const auto popular =
      std::count_if(s.ranks.begin(), s.ranks.end(), [](std::uint32_t r) { return r < capacity; });
  return static_cast<double>(popular) / static_cast<double>(s.ranks.size());
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  benchmark::RegisterBenchmark("hit/lru", hit<LruCache<>>)->Threads(1)->Threads(2);
  benchmark::RegisterBenchmark("hit/s3fifo", hit<S3FifoCache<>>)->Threads(1)->Threads(2);
  strata::bench::RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);

  // Google Benchmark's time per iteration of a two-thread run is per thread:
  // total throughput of two / one = 2 * t1 / t2.
  for (const char* policy : {"lru", "s3fifo"}) {
    const double one = reporter.ns(fmt::format("hit/{}/threads:1", policy));
    const double two = reporter.ns(fmt::format("hit/{}/threads:2", policy));
    if (one > 0 && two > 0)
      fmt::print(
          "{:>7} hit, 100-byte value copied out: {:.1f} ns on 1 thread, {:.1f} ns on 2; "
          "2 threads give {:.2f}x the throughput of 1\n",
          policy, one, two, 2 * one / two);
  }

  const LruOptions lru{.max_entries = capacity, .max_bytes = 0, .shards = 16};
  const S3FifoOptions fifo{.max_entries = capacity, .max_bytes = 0, .shards = 16};
  fmt::print("\nhit ratio, Zipf(0.99) over {} keys, capacity {}, {} requests:\n", universe,
             capacity, requests);
  fmt::print("{:>28} {:>10} {:>14}\n", "", "Zipf", "Zipf + scan");
  fmt::print("{:>28} {:>10.3f} {:>14.3f}\n", "LruCache", hit_ratio(LruCache<>(lru), false),
             hit_ratio(LruCache<>(lru), true));
  fmt::print("{:>28} {:>10.3f} {:>14.3f}\n", "S3FifoCache", hit_ratio(S3FifoCache<>(fifo), false),
             hit_ratio(S3FifoCache<>(fifo), true));
  fmt::print("{:>28} {:>10.3f}\n", "the 100k most popular keys", oracle_ratio());
  fmt::print(
      "(the scan: {} keys once each, one after every {}th request; its own misses are "
      "not counted)\n",
      scan_keys, requests / scan_keys);
  benchmark::Shutdown();
  return 0;
}
