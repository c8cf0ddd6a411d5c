// The failover drill from the seed system (ops/drill.hpp): N keys in WARM,
// HOT lost, then rebuilt from WARM one key at a time and in batches through
// the store, with HOT and the cache checked byte-identical after both paths.
// "HOT-only" is the same records written straight into HOT's repository in the
// same pages (no WARM read, no store): the floor the batch rebuild is held to.
// "WARM-read" is WARM's pages read alone, nothing written: with HOT-only it
// brackets the rebuild, between the larger of the two (reads and writes fully
// overlapped) and their sum (nothing overlapped).
//
// Usage: strata_drill [--servers] [--keys N]... [--page N] [--sample N] [--repeat R]
//   --servers   HOT is Redis and WARM PostgreSQL, the servers scripts/servers.sh
//               starts (URLs: --redis, --postgres, or STRATA_DRILL_REDIS /
//               STRATA_DRILL_POSTGRES); without it, the embedded stack (HOT in
//               memory, WARM SQLite in a temporary directory)
//   --keys N    keys per run (repeatable; default 354)
//   --page N    rehydrate page size (default 1000)
//   --sample N  above 100,000 keys the one-key path is timed on N keys and
//               extrapolated, which the output says (default 10,000)
//   --repeat R  runs per key count; the table shows medians (default 3)
//   --settle MS a pause before each timed rebuild, so that the servers' own
//               background work (Redis freeing erased keys, autovacuum after
//               the bulk load) is not timed as the rebuild's (default 1000
//               with --servers, else 0)
#include "tools/strata/backend_url.hpp"

#include <strata/ops/drill.hpp>
#include <strata/strata.hpp>

#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <unistd.h>

namespace {

using namespace strata;
using DrillStore =
    TieredStore<LruCache<>, FixedRouter<Tier::hot>, AnyRepository, AnyRepository, NoTier>;

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::size_t> sizes;
  std::size_t page_size = 1000, sample = 10'000, repeat = 3;
  bool servers = false;
  std::chrono::milliseconds settle{0};
  std::string redis = cli::env("STRATA_DRILL_REDIS").value_or("redis://127.0.0.1:16379");
  std::string postgres = cli::env("STRATA_DRILL_POSTGRES")
                             .value_or("postgres://postgres:strata-test@127.0.0.1:16432/strata");
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        fmt::print(stderr, "strata_drill: {} needs a value\n", arg);
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--servers") {
      servers = true;
      settle = std::chrono::milliseconds(1000);
    } else if (arg == "--settle")
      settle = std::chrono::milliseconds(std::stoull(value()));
    else if (arg == "--keys")
      sizes.push_back(std::stoull(value()));
    else if (arg == "--page")
      page_size = std::max<std::size_t>(1, std::stoull(value()));
    else if (arg == "--sample")
      sample = std::max<std::size_t>(1, std::stoull(value()));
    else if (arg == "--repeat")
      repeat = std::max<std::size_t>(1, std::stoull(value()));
    else if (arg == "--redis")
      redis = value();
    else if (arg == "--postgres")
      postgres = value();
    else {
      fmt::print(stderr,
                 "usage: strata_drill [--servers] [--keys N]... [--page N] [--sample N] "
                 "[--repeat R] [--redis URL] [--postgres URL]\n");
      return 2;
    }
  }
  if (sizes.empty()) sizes.push_back(354);
  const auto dir =
      std::filesystem::temp_directory_path() / fmt::format("strata-drill-{}", ::getpid());
  std::filesystem::create_directories(dir);
  const std::string hot_url = servers ? redis : "memory:";
  const std::string warm_url = servers ? postgres : "sqlite:" + (dir / "warm.sqlite3").string();

  fmt::print("failover drill: HOT lost, rebuilt from WARM through the store (medians of {})\n",
             repeat);
  int code = 0;
  try {
    bool header = false;
    for (std::size_t n : sizes) {
      std::vector<double> sequential, batch, hot_only, warm_read, rss;
      DrillReport last;
      bool identical = true;
      for (std::size_t r = 0; r < repeat; ++r) {
        DrillStore store(StoreOptions{}, cli::open_repository(hot_url),
                         cli::open_repository(warm_url), NoTier{},
                         LruCache<>(LruOptions{.max_entries = 100'000}));
        if (!header) {
          fmt::print("HOT  {}\nWARM {}\npages of {}\n\n", store.tier<Tier::hot>().description(),
                     store.tier<Tier::warm>().description(), page_size);
          fmt::print("{:>9} {:>15} {:>10} {:>9} {:>12} {:>11} {:>10} {:>12} {:>10} {:>15}\n",
                     "keys", "sequential ms", "batch ms", "speedup", "batch keys/s", "HOT-only ms",
                     "batch/HOT", "WARM-read ms", "RSS +MiB", "byte-identical");
          header = true;
        }
        last = run_drill(store, DrillOptions{.keys = n,
                                             .page_size = page_size,
                                             .sequential_sample = n > 100'000 ? sample : 0,
                                             .settle = settle});
        sequential.push_back(last.sequential_ms);
        batch.push_back(last.batch_ms);
        hot_only.push_back(last.hot_write_ms);
        warm_read.push_back(last.warm_read_ms);
        rss.push_back(static_cast<double>(last.rss_growth) / (1 << 20));
        identical = identical && last.identical;
      }
      const double seq = median(sequential), bat = median(batch), floor = median(hot_only);
      fmt::print(
          "{:>9} {:>14.2f}{} {:>10.2f} {:>8.1f}x {:>12.0f} {:>11.2f} {:>9.2f}x {:>12.2f} {:>10.1f} "
          "{:>15}\n",
          n, seq, last.sampled() ? "*" : " ", bat, seq / bat,
          static_cast<double>(last.copied) / (bat / 1000.0), floor, bat / floor, median(warm_read),
          median(rss), identical ? "yes (HOT + cache)" : "NO");
      if (last.sampled())
        fmt::print("          * the one-key path was timed on {} of the keys and extrapolated\n",
                   last.sequential_keys);
      if (!identical) code = 1;
    }
  } catch (const Error& e) {
    fmt::print(stderr, "strata_drill: {}\n", e.what());
    code = 1;
  }
  std::filesystem::remove_all(dir);
  return code;
}
