// Batch single-flight, measured: eight threads read the same uncached keys at
// once (the working set just expired, a deploy emptied the caches), round
// after round; per round the cache is cleared and every thread's batch_get
// starts at one barrier. The same store with NoSingleFlight and with
// BatchSingleFlight, in this process: the tier's load_many calls and keys per
// round (from the store's own stats) and the median round time, whose ratio
// (without / with) is the figure quoted.
//
// The tier is a MemoryRepository behind FaultInjecting's reply latency (one
// loopback round trip's worth by default), so that loads overlap in time as
// network loads do; the single-flight bookkeeping itself is measured in full.
//
//   build/release/bench/strata_bench_single_flight [--keys 354] [--threads 8]
//       [--rounds 200] [--latency-us 200]
#include <strata/strata.hpp>
#include <strata/testing/fault_injecting.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <barrier>
#include <chrono>
#include <cstdlib>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using namespace strata;
using Tier0 = testing::FaultInjecting<MemoryRepository>;

template <class SingleFlight>
using Store = TieredStore<LruCache<>, FixedRouter<Tier::hot>, Tier0, NoTier, NoTier, NoBus,
                          StripedStats, NoMetrics, SingleFlight>;

struct Options {
  std::size_t keys = 354;
  std::size_t threads = 8;
  std::size_t rounds = 200;
  long latency_us = 200;
};

struct Outcome {
  double calls_per_round = 0;
  double keys_per_round = 0;
  double median_round_us = 0;
  std::size_t wrong_answers = 0;
};

template <class SingleFlight>
Outcome run(const Options& options) {
  Store<SingleFlight> store;
  std::vector<std::string> keys;
  std::vector<Item> items;
  keys.reserve(options.keys);
  items.reserve(options.keys);
  for (std::size_t i = 0; i < options.keys; ++i) keys.push_back(fmt::format("px:{:06}", i));
  for (const std::string& key : keys) items.push_back(Item{key, std::string(100, 'v')});
  if (!store.batch_set(items).all_stored()) std::abort();
  store.template tier<Tier::hot>().set_latency(std::chrono::microseconds(options.latency_us));
  const StoreStats before = store.stats();

  std::barrier start(static_cast<std::ptrdiff_t>(options.threads + 1));
  std::barrier finish(static_cast<std::ptrdiff_t>(options.threads + 1));
  std::vector<std::size_t> wrong(options.threads, 0);
  std::vector<std::thread> threads;
  threads.reserve(options.threads);
  for (std::size_t t = 0; t < options.threads; ++t)
    threads.emplace_back([&, t] {
      for (std::size_t round = 0; round < options.rounds; ++round) {
        start.arrive_and_wait();
        const LoadResult got = store.batch_get(keys);
        wrong[t] += options.keys - got.found_count();
        finish.arrive_and_wait();
      }
    });
  std::vector<double> round_us;
  round_us.reserve(options.rounds);
  for (std::size_t round = 0; round < options.rounds; ++round) {
    store.cache().clear();
    const auto began = std::chrono::steady_clock::now();
    start.arrive_and_wait();
    finish.arrive_and_wait();
    round_us.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - began)
            .count());
  }
  for (auto& thread : threads) thread.join();

  const StoreStats after = store.stats();
  Outcome out;
  const auto rounds = static_cast<double>(options.rounds);
  out.calls_per_round =
      static_cast<double>(after[Tier::hot].calls - before[Tier::hot].calls) / rounds;
  out.keys_per_round = static_cast<double>(after[Tier::hot].keys - before[Tier::hot].keys) / rounds;
  std::nth_element(round_us.begin(), round_us.begin() + static_cast<long>(round_us.size() / 2),
                   round_us.end());
  out.median_round_us = round_us[round_us.size() / 2];
  for (const std::size_t w : wrong) out.wrong_answers += w;
  return out;
}

Options parse(int argc, char** argv) {
  Options options;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    const auto value = std::strtoul(argv[i + 1], nullptr, 10);
    if (flag == "--keys")
      options.keys = value;
    else if (flag == "--threads")
      options.threads = value;
    else if (flag == "--rounds")
      options.rounds = value;
    else if (flag == "--latency-us")
      options.latency_us = static_cast<long>(value);
    else {
      fmt::print(stderr, "unknown flag {}\n", flag);
      std::exit(2);
    }
  }
  if (options.keys == 0 || options.threads == 0 || options.rounds == 0) {
    fmt::print(stderr, "--keys, --threads and --rounds must be positive\n");
    std::exit(2);
  }
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = parse(argc, argv);
  // Interleaved halves, so the VM's drift falls on both alike.
  Options half = options;
  half.rounds = std::max<std::size_t>(1, options.rounds / 2);
  const Outcome none_a = run<NoSingleFlight>(half);
  const Outcome batch_a = run<BatchSingleFlight>(half);
  const Outcome none_b = run<NoSingleFlight>(half);
  const Outcome batch_b = run<BatchSingleFlight>(half);
  const auto mean = [](const Outcome& a, const Outcome& b) {
    return Outcome{(a.calls_per_round + b.calls_per_round) / 2,
                   (a.keys_per_round + b.keys_per_round) / 2,
                   (a.median_round_us + b.median_round_us) / 2, a.wrong_answers + b.wrong_answers};
  };
  const Outcome none = mean(none_a, none_b);
  const Outcome batch = mean(batch_a, batch_b);

  fmt::print("{} threads read the same {} uncached keys at once; tier latency {} us; {} rounds\n",
             options.threads, options.keys, options.latency_us, half.rounds * 2);
  fmt::print("{:<18} {:>16} {:>16} {:>14} {:>8}\n", "policy", "loads per round", "keys per round",
             "round (us)", "wrong");
  for (const auto& [name, o] : {std::pair{"NoSingleFlight", none}, {"BatchSingleFlight", batch}})
    fmt::print("{:<18} {:>16.2f} {:>16.1f} {:>14.1f} {:>8}\n", name, o.calls_per_round,
               o.keys_per_round, o.median_round_us, o.wrong_answers);
  fmt::print("round time, NoSingleFlight / BatchSingleFlight: {:.2f}x\n",
             none.median_round_us / batch.median_round_us);
  return none.wrong_answers + batch.wrong_answers == 0 ? 0 : 1;
}
