// The failover drill from the seed system, on the embedded stack (HOT in
// memory, WARM in SQLite, COLD on the filesystem; no server).
//
// N keys live in WARM; HOT is lost (an outage) and rebuilt from WARM, first
// one key per call — a load from WARM and a store into HOT for every key, what
// the seed did (354 keys, 2.07 s over the network) — then in batches with
// strata::rehydrate (8 ms in the seed). Both rebuilds go through the store, so
// the cache is refilled too; the drill then checks that HOT and the cache are
// byte-identical after the two paths.
//
// Usage: strata_drill [--keys N]... [--dir DIR] [--page N] [--repeat R]
//   --keys N   keys per run (repeatable; default 354)
//   --repeat R runs per key count; the table shows medians (default 3: this
//              machine is a VM whose disk and clock jitter)
//   --dir DIR  where the embedded store lives (default: a fresh temp directory,
//              removed afterwards)
//   --page N   rehydrate page size (default 1000)
#include <strata/embedded.hpp>
#include <strata/ops/rehydrate.hpp>

#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <unistd.h>

namespace {

using namespace strata;
using Steady = std::chrono::steady_clock;

double ms_since(Steady::time_point start) {
  return std::chrono::duration<double, std::milli>(Steady::now() - start).count();
}

struct Snapshot {
  std::map<std::string, std::string> hot;                   // key -> envelope bytes
  std::map<std::string, std::optional<CachedValue>> cache;  // key -> cached value and tag
  bool operator==(const Snapshot&) const = default;
};

struct Row {
  std::size_t keys;
  double sequential_ms;
  double batch_ms;
  bool identical;
  std::size_t copied;
};

template <class Store>
Snapshot snapshot(Store& store, const std::vector<std::string>& keys) {
  Snapshot out;
  std::string cursor;
  for (;;) {
    const ScanPage page = store.template tier<Tier::hot>().scan("", cursor, 4096);
    for (const auto& record : page.records) out.hot.emplace(record.key, record.envelope);
    if (page.done) break;
    cursor = page.next_cursor;
  }
  const TimePoint now = Clock{}.now();
  for (const auto& key : keys) out.cache.emplace(key, store.cache().find(key, now));
  return out;
}

template <class Store>
void lose_hot(Store& store, const std::vector<std::string_view>& keys) {
  store.template tier<Tier::hot>().erase_many(keys);
  store.cache().clear();  // the process restarted with HOT: its cache is gone too
}

Row drill(const std::filesystem::path& dir, std::size_t n, std::size_t page_size) {
  std::filesystem::remove_all(dir);
  auto store = open_embedded_store(dir);
  auto& warm = store.tier<Tier::warm>();

  std::vector<std::string> keys, envelopes;
  const TimePoint now = Clock{}.now();
  for (std::size_t i = 0; i < n; ++i) {
    keys.push_back(fmt::format("hot:pos:{:08}", i));
    envelopes.push_back(encode_envelope({now, now, std::nullopt, 0}, std::string(100, 'p')));
  }
  std::vector<Record> records;
  for (std::size_t i = 0; i < n; ++i) records.push_back({keys[i], envelopes[i], std::nullopt});
  if (!warm.store_many(records).all_stored()) throw Error("drill: writing WARM failed");
  const std::vector<std::string_view> views(keys.begin(), keys.end());

  // One key per call.
  lose_hot(store, views);
  auto start = Steady::now();
  for (std::string_view key : views) {
    const LoadResult loaded = warm.load_many(std::span(&key, 1));
    const Record record{key, loaded[0].value, std::nullopt};
    if (!loaded[0].found() || !store.store_records<Tier::hot>(std::span(&record, 1)).all_stored())
      throw Error(fmt::format("drill: copying {} failed", key));
  }
  const double sequential = ms_since(start);
  const Snapshot one_by_one = snapshot(store, keys);

  // Batches.
  lose_hot(store, views);
  start = Steady::now();
  const RehydrateReport report =
      rehydrate<Tier::warm, Tier::hot>(store, RehydrateOptions{.scan = {.page_size = page_size}});
  const double batch = ms_since(start);
  if (report.error || report.failed != 0) throw Error("drill: rehydrate reported failures");
  const Snapshot batched = snapshot(store, keys);

  const bool identical = one_by_one == batched && one_by_one.hot.size() == n;
  return {n, sequential, batch, identical, report.copied};
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::size_t> sizes;
  std::optional<std::filesystem::path> dir;
  std::size_t page_size = 1000;
  std::size_t repeat = 3;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (i + 1 >= argc) {
      fmt::print(stderr, "usage: strata_drill [--keys N]... [--dir DIR] [--page N] [--repeat R]\n");
      return 2;
    }
    if (arg == "--keys")
      sizes.push_back(std::strtoull(argv[++i], nullptr, 10));
    else if (arg == "--dir")
      dir = argv[++i];
    else if (arg == "--page")
      page_size = std::strtoull(argv[++i], nullptr, 10);
    else if (arg == "--repeat")
      repeat = std::max<std::size_t>(1, std::strtoull(argv[++i], nullptr, 10));
    else {
      fmt::print(stderr, "strata_drill: unknown argument {}\n", arg);
      return 2;
    }
  }
  if (sizes.empty()) sizes.push_back(354);
  const bool temporary = !dir;
  if (temporary)
    dir = std::filesystem::temp_directory_path() / fmt::format("strata-drill-{}", ::getpid());

  fmt::print("failover drill: HOT (memory) lost, rebuilt from WARM (SQLite) through the store\n");
  fmt::print("embedded store in {}; rehydrate pages of {}; medians of {} runs\n\n", dir->string(),
             page_size, repeat);
  fmt::print("{:>8} {:>15} {:>10} {:>9} {:>12} {:>16}\n", "keys", "sequential ms", "batch ms",
             "speedup", "batch keys/s", "byte-identical");
  bool all_identical = true;
  for (std::size_t n : sizes) {
    std::vector<Row> runs;
    runs.reserve(repeat);
    for (std::size_t r = 0; r < repeat; ++r) runs.push_back(drill(*dir / "store", n, page_size));
    const auto median = [&](double Row::*field) {
      std::vector<double> values;
      values.reserve(runs.size());
      for (const Row& run : runs) values.push_back(run.*field);
      std::sort(values.begin(), values.end());
      return values[values.size() / 2];
    };
    Row row = runs.front();
    row.sequential_ms = median(&Row::sequential_ms);
    row.batch_ms = median(&Row::batch_ms);
    for (const Row& run : runs) row.identical = row.identical && run.identical;
    all_identical = all_identical && row.identical;
    fmt::print("{:>8} {:>15.2f} {:>10.2f} {:>8.1f}x {:>12.0f} {:>16}\n", row.keys,
               row.sequential_ms, row.batch_ms, row.sequential_ms / row.batch_ms,
               static_cast<double>(row.copied) / (row.batch_ms / 1000.0),
               row.identical ? "yes (HOT + cache)" : "NO");
  }
  if (temporary) std::filesystem::remove_all(*dir);
  return all_identical ? 0 : 1;
}
