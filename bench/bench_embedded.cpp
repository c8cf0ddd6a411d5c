// Batch vs sequential on the embedded persistent tiers, at the repository
// level and with their default durability (SQLite synchronous=FULL, every
// object and directory fsynced): what a caller pays for one call per key.
// Run: build/release/bench/strata_bench_embedded   (scripts/bench.sh does it)
#include <strata/backends/filesystem.hpp>
#include <strata/backends/sqlite.hpp>

#include "ratio_reporter.hpp"

#include <benchmark/benchmark.h>
#include <fmt/core.h>

#include <filesystem>
#include <string>
#include <vector>

#include <unistd.h>

namespace {

using namespace strata;

const std::filesystem::path& bench_root() {
  static const std::filesystem::path root =
      std::filesystem::temp_directory_path() / fmt::format("strata-bench-{}", ::getpid());
  return root;
}

struct Data {
  explicit Data(std::size_t n) {
    const TimePoint now = Clock{}.now();
    for (std::size_t i = 0; i < n; ++i) {
      keys.push_back(fmt::format("pos:{:08}", i));
      envelopes.push_back(
          encode_envelope(keys.back(), {now, now, std::nullopt, 0}, std::string(100, 'p')));
    }
    for (std::size_t i = 0; i < n; ++i) {
      records.push_back({keys[i], envelopes[i], std::nullopt});
      views.push_back(keys[i]);
    }
  }
  std::vector<std::string> keys, envelopes;
  std::vector<Record> records;
  std::vector<std::string_view> views;
};

SqliteRepository make_sqlite(const std::string& name) {
  std::filesystem::create_directories(bench_root());
  return SqliteRepository(SqliteOptions{.path = bench_root() / (name + ".sqlite3")});
}
FilesystemRepository make_files(const std::string& name) {
  return FilesystemRepository(FilesystemOptions{.root = bench_root() / name});
}

template <class Repo>
void store_sequential(benchmark::State& state, Repo repo) {
  const Data data(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state)
    for (const Record& record : data.records)
      benchmark::DoNotOptimize(repo.store_many(std::span(&record, 1)).all_stored());
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
template <class Repo>
void store_batch(benchmark::State& state, Repo repo) {
  const Data data(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(repo.store_many(data.records).all_stored());
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
template <class Repo>
void load_sequential(benchmark::State& state, Repo repo) {
  const Data data(static_cast<std::size_t>(state.range(0)));
  repo.store_many(data.records);
  for (auto _ : state)
    for (std::string_view key : data.views)
      benchmark::DoNotOptimize(repo.load_many(std::span(&key, 1)));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
template <class Repo>
void load_batch(benchmark::State& state, Repo repo) {
  const Data data(static_cast<std::size_t>(state.range(0)));
  repo.store_many(data.records);
  for (auto _ : state) benchmark::DoNotOptimize(repo.load_many(data.views));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

/// Registers tier/{store,load}/{sequential,batch} at n keys, each on a
/// repository of its own.
template <class MakeRepo>
void register_tier(const char* tier, MakeRepo make, long n, bool batch_writes_are_slow) {
  // Durable writes one key at a time cost a sync each: few iterations say enough.
  const long write_iterations = n > 1000 ? 1 : 5;
  const auto add = [&](const char* op, const char* tag, auto body, bool few_iterations) {
    auto* bench = benchmark::RegisterBenchmark(
        fmt::format("{}/{}", tier, op).c_str(),
        [=](benchmark::State& state) { body(state, make(fmt::format("{}-{}", tag, n))); });
    bench->Arg(n)->Unit(benchmark::kMillisecond);
    if (few_iterations) bench->Iterations(write_iterations);
  };
  add(
      "store/sequential", "ss",
      [](auto& state, auto repo) { store_sequential(state, std::move(repo)); }, true);
  add(
      "store/batch", "sb", [](auto& state, auto repo) { store_batch(state, std::move(repo)); },
      batch_writes_are_slow);
  add(
      "load/sequential", "ls",
      [](auto& state, auto repo) { load_sequential(state, std::move(repo)); }, false);
  add(
      "load/batch", "lb", [](auto& state, auto repo) { load_batch(state, std::move(repo)); },
      false);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  const std::vector<long> sizes{354, 10'000};
  for (long n : sizes) {
    register_tier("sqlite", make_sqlite, n, /*batch_writes_are_slow=*/false);
    register_tier("files", make_files, n, /*batch_writes_are_slow=*/true);
  }

  strata::bench::RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  std::filesystem::remove_all(bench_root());

  reporter.header("batch vs sequential, durable (time of N single calls / one batch)");
  for (long n : sizes)
    for (const char* tier : {"sqlite", "files"})
      for (const char* op : {"store", "load"})
        reporter.ratio(fmt::format("{} {} x{}", tier, op, n),
                       fmt::format("{}/{}/sequential/{}", tier, op, n),
                       fmt::format("{}/{}/batch/{}", tier, op, n));
  benchmark::Shutdown();
  return 0;
}
