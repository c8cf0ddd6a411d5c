#pragma once
/// \file
/// Comparison: "this store vs this raw client" micro-benchmarks in a few
/// lines. Each pair is a baseline and a candidate that do the same work
/// (the same bytes, the same copies out, the same state before each run: a
/// ratio that flatters the candidate is a bug in the benchmark), registered at
/// the batch sizes the caller picks, repeated and run in random interleaving
/// (this machine, and most, drift), then printed as a table of ratios of the
/// medians.
///
///     strata::bench::Comparison compare("my tier in a TieredStore vs direct");
///     compare.add("load", {100, 10'000},
///         [&](benchmark::State& state, std::size_t n) {   // the baseline
///           for (auto _ : state) benchmark::DoNotOptimize(direct.load_many(keys(n)));
///         },
///         [&](benchmark::State& state, std::size_t n) {   // the candidate
///           for (auto _ : state) benchmark::DoNotOptimize(store.batch_get(keys(n)));
///         });
///     return compare.run(argc, argv);
///
/// A body runs the benchmark loop itself, so that it can prepare outside it;
/// the items processed are set to n per iteration.

#include <strata/bench/ratio_reporter.hpp>

#include <benchmark/benchmark.h>
#include <fmt/core.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace strata::bench {

/// Baseline-vs-candidate benchmark pairs and their ratio table (see the file comment).
class Comparison {
 public:
  /// One side of a pair: runs `for (auto _ : state)` over a batch of `n`.
  using Body = std::function<void(benchmark::State&, std::size_t n)>;

  /// `repetitions` of each benchmark unless the command line sets
  /// --benchmark_repetitions; the table compares their medians.
  explicit Comparison(std::string title, int repetitions = 5)
      : title_(std::move(title)), repetitions_(repetitions) {}

  /// The time unit of the pairs added after this call (default microseconds).
  Comparison& unit(benchmark::TimeUnit unit) {
    unit_ = unit;
    return *this;
  }

  /// A fixed number of iterations for the pairs added after this call (0:
  /// as many as Google Benchmark chooses), for work too slow to repeat much,
  /// such as durable writes one key at a time.
  Comparison& iterations(std::int64_t iterations) {
    iterations_ = iterations;
    return *this;
  }

  /// Registers "<name>/baseline/<n>" and "<name>/candidate/<n>" for each n.
  Comparison& add(const std::string& name, const std::vector<std::size_t>& sizes,
                  const Body& baseline, const Body& candidate) {
    for (std::size_t n : sizes) {
      register_side(fmt::format("{}/baseline/{}", name, n), baseline, n);
      register_side(fmt::format("{}/candidate/{}", name, n), candidate, n);
      pairs_.push_back({name, n});
    }
    return *this;
  }

  /// Runs what the command line selects (--benchmark_filter, ...), in random
  /// interleaving unless it says otherwise, and prints the ratio table:
  /// "ratio" is the baseline's median time over the candidate's, so above 1
  /// the candidate is faster. Returns main's exit status.
  int run(int argc, char** argv) {
    std::vector<char*> args(argv, argv + argc);
    std::string interleave = "--benchmark_enable_random_interleaving=true";
    std::string repeat = fmt::format("--benchmark_repetitions={}", repetitions_);
    const auto given = [&](std::string_view flag) {
      return std::any_of(args.begin(), args.end(),
                         [&](const char* arg) { return std::string_view(arg).starts_with(flag); });
    };
    if (!given("--benchmark_enable_random_interleaving")) args.push_back(interleave.data());
    if (!given("--benchmark_repetitions")) args.push_back(repeat.data());
    int count = static_cast<int>(args.size());
    benchmark::Initialize(&count, args.data());
    if (benchmark::ReportUnrecognizedArguments(count, args.data())) return 1;
    RatioReporter reporter;
    benchmark::RunSpecifiedBenchmarks(&reporter);
    reporter.header(title_.c_str());
    for (const auto& [name, n] : pairs_)
      reporter.ratio(fmt::format("{} x{}", name, n), fmt::format("{}/baseline/{}", name, n),
                     fmt::format("{}/candidate/{}", name, n));
    benchmark::Shutdown();
    return 0;
  }

 private:
  void register_side(const std::string& name, const Body& body, std::size_t n) const {
    auto* registered =
        benchmark::RegisterBenchmark(name.c_str(), [body, n](benchmark::State& state) {
          body(state, n);
          state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(n));
        });
    registered->Unit(unit_);
    if (iterations_ > 0) registered->Iterations(iterations_);
  }

  struct Pair {
    std::string name;
    std::size_t n;
  };
  std::string title_;
  int repetitions_;
  benchmark::TimeUnit unit_ = benchmark::kMicrosecond;
  std::int64_t iterations_ = 0;
  std::vector<Pair> pairs_;
};

}  // namespace strata::bench
