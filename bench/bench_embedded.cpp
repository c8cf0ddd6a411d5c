// Batch vs sequential on the embedded persistent tiers, at the repository
// level and with their default durability (SQLite synchronous=FULL, every
// object and directory fsynced): what a caller pays for one call per key.
// Run: build/release/bench/strata_bench_embedded   (scripts/bench.sh does it)
#include <strata/backends/filesystem.hpp>
#include <strata/backends/sqlite.hpp>

#include <strata/bench/comparison.hpp>

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

/// One key per call vs one batch of n, store and load, on a repository made
/// for each benchmark by `make` (a fresh file or directory each).
template <class MakeRepo>
void compare_tier(strata::bench::Comparison& compare, const std::string& tier, MakeRepo make,
                  const std::vector<std::size_t>& sizes) {
  // Durable writes one key at a time cost a sync each: few iterations say
  // enough, and the batch side runs as many, so both see the same files grow.
  const auto fresh = [make, tier](const char* tag, std::size_t n) {
    return make(fmt::format("{}-{}-{}", tier, tag, n));
  };
  for (std::size_t n : sizes) {
    compare.iterations(n > 1000 ? 1 : 5);
    compare.add(
        tier + " store", {n},
        [fresh](benchmark::State& state, std::size_t size) {
          const Data data(size);
          auto repo = fresh("ss", size);
          for (auto _ : state)
            for (const Record& record : data.records)
              benchmark::DoNotOptimize(repo.store_many(std::span(&record, 1)).all_stored());
        },
        [fresh](benchmark::State& state, std::size_t size) {
          const Data data(size);
          auto repo = fresh("sb", size);
          for (auto _ : state) benchmark::DoNotOptimize(repo.store_many(data.records).all_stored());
        });
  }
  compare.iterations(0);
  compare.add(
      tier + " load", sizes,
      [fresh](benchmark::State& state, std::size_t size) {
        const Data data(size);
        auto repo = fresh("ls", size);
        repo.store_many(data.records);
        for (auto _ : state)
          for (std::string_view key : data.views)
            benchmark::DoNotOptimize(repo.load_many(std::span(&key, 1)));
      },
      [fresh](benchmark::State& state, std::size_t size) {
        const Data data(size);
        auto repo = fresh("lb", size);
        repo.store_many(data.records);
        for (auto _ : state) benchmark::DoNotOptimize(repo.load_many(data.views));
      });
}

}  // namespace

int main(int argc, char** argv) {
  strata::bench::Comparison compare(
      "batch vs sequential, durable (time of N single calls / one batch)", 3);
  compare.unit(benchmark::kMillisecond);
  const std::vector<std::size_t> sizes{354, 10'000};
  compare_tier(compare, "sqlite", make_sqlite, sizes);
  compare_tier(compare, "files", make_files, sizes);
  const int status = compare.run(argc, argv);
  std::filesystem::remove_all(bench_root());
  return status;
}
