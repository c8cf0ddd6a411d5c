#pragma once
/// \file
/// A console reporter that also remembers each benchmark's time, so that a
/// benchmark binary can print ratios against a baseline measured in the same
/// process (strata::bench::Comparison prints its table with it).

#include <benchmark/benchmark.h>
#include <fmt/core.h>

#include <map>
#include <string>
#include <vector>

#include <unistd.h>

namespace strata::bench {

/// Google Benchmark's console output, plus each benchmark's time kept for ratio().
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  /// Colours only on a terminal: a table piped into a file or CI log stays
  /// plain text (Google Benchmark's own reporter decides the same way).
  RatioReporter() : ConsoleReporter(::isatty(STDOUT_FILENO) ? OO_ColorTabular : OO_Tabular) {}

  /// Keeps each benchmark's time: the median when it ran with repetitions
  /// (this machine is a noisy VM; scripts/bench.sh asks for them), otherwise
  /// the single run's.
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      if (run.error_occurred) continue;
      const double ns = run.GetAdjustedRealTime() * to_ns(run.time_unit);
      const bool median = run.run_type == Run::RT_Aggregate && run.aggregate_name == "median";
      const bool single = run.run_type == Run::RT_Iteration && run.repetitions <= 1;
      if (median || single) ns_[name_of(run)] = ns;
    }
    ConsoleReporter::ReportRuns(runs);
  }

  /// Prints candidate/baseline as "baseline is Nx the time of candidate".
  void ratio(const std::string& label, const std::string& baseline,
             const std::string& candidate) const {
    const auto b = ns_.find(baseline), c = ns_.find(candidate);
    if (b == ns_.end() || c == ns_.end()) return;  // filtered out with --benchmark_filter
    fmt::print("{:<48} {:>12.1f} ns {:>12.1f} ns {:>9.2f}x\n", label, b->second, c->second,
               b->second / c->second);
  }
  /// Prints the heading of a ratio table.
  void header(const char* what) const {
    fmt::print("\n{:<48} {:>15} {:>15} {:>10}\n", what, "baseline", "candidate", "ratio");
  }
  /// Total throughput of benchmark `name` run on `threads` threads over its throughput on one (0
  /// when either did not run). Google Benchmark 1.7 (Debian 12's) reports a threads:N run's time
  /// as the threads' mean wall time over their total iterations, the inverse of the total
  /// throughput: the ratio of the two times is the scaling, not N times it.
  double scaling(const std::string& name, int threads) const {
    const double one = ns(name + "/threads:1"),
                 many = ns(fmt::format("{}/threads:{}", name, threads));
    return one > 0 && many > 0 ? one / many : 0.0;
  }

  /// The time kept for benchmark `name`, in ns (0 when it did not run).
  double ns(const std::string& name) const {
    auto it = ns_.find(name);
    return it == ns_.end() ? 0.0 : it->second;
  }

 private:
  /// "function/args[/threads:N]": without the iterations and repetitions
  /// suffixes, so that a benchmark is named the same however it was run.
  static std::string name_of(const Run& run) {
    std::string name = run.run_name.function_name;
    if (!run.run_name.args.empty()) name += "/" + run.run_name.args;
    if (!run.run_name.threads.empty()) name += "/" + run.run_name.threads;
    return name;
  }

  static double to_ns(benchmark::TimeUnit unit) {
    switch (unit) {
      case benchmark::kNanosecond:
        return 1.0;
      case benchmark::kMicrosecond:
        return 1e3;
      case benchmark::kMillisecond:
        return 1e6;
      case benchmark::kSecond:
        return 1e9;
    }
    return 1.0;
  }

  std::map<std::string, double> ns_;
};

}  // namespace strata::bench
