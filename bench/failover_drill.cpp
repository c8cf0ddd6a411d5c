// The failover drill from the seed system: N keys live in WARM, HOT is lost,
// and HOT is rebuilt from WARM — first one key per call (what the seed did:
// 354 keys in 2.07 s over the network), then in batches (8 ms). Here both
// tiers are in memory, so the gap shows strata's per-call cost, not a network
// round trip; the backend issues run the same drill against real servers.
//
// Usage: strata_drill [keys...]   (default: 354 10000 100000)
#include <strata/strata.hpp>

#include <fmt/core.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

using namespace strata;
using Steady = std::chrono::steady_clock;

double ms_since(Steady::time_point start) {
  return std::chrono::duration<double, std::milli>(Steady::now() - start).count();
}

struct DrillRow {
  std::size_t keys;
  double sequential_ms;
  double batch_ms;
};

constexpr std::size_t page_size = 1000;

DrillRow drill(std::size_t n) {
  MemoryRepository warm, hot;
  std::vector<std::string> keys;
  std::vector<std::string> envelopes;
  const TimePoint now = Clock{}.now();
  for (std::size_t i = 0; i < n; ++i) {
    keys.push_back(fmt::format("pos:{:08}", i));
    envelopes.push_back(encode_envelope({now, now, std::nullopt, 0}, std::string(100, 'p')));
  }
  std::vector<Record> records;
  for (std::size_t i = 0; i < n; ++i) records.push_back({keys[i], envelopes[i], std::nullopt});
  if (!warm.store_many(records).all_stored()) std::abort();
  std::vector<std::string_view> views(keys.begin(), keys.end());

  // One key per call: a load from WARM and a store into HOT for every key.
  auto start = Steady::now();
  for (std::string_view key : views) {
    LoadResult loaded = warm.load_many(std::span(&key, 1));
    const Record record{key, loaded[0].value, std::nullopt};
    if (!hot.store_many(std::span(&record, 1)).all_stored()) std::abort();
  }
  const double sequential = ms_since(start);
  if (hot.erase_many(views).erased != n) std::abort();  // HOT lost again

  // Batches: one load_many and one store_many per page.
  start = Steady::now();
  std::vector<Record> page;
  for (std::size_t first = 0; first < n; first += page_size) {
    const auto slice = std::span(views).subspan(first, std::min(page_size, n - first));
    const LoadResult loaded = warm.load_many(slice);
    page.clear();
    for (std::size_t i = 0; i < slice.size(); ++i)
      page.push_back({slice[i], loaded[i].value, std::nullopt});
    if (!hot.store_many(page).all_stored()) std::abort();
  }
  const double batch = ms_since(start);
  if (hot.load_many(views).found_count() != n) std::abort();  // everything came back
  return {n, sequential, batch};
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::size_t> sizes;
  for (int i = 1; i < argc; ++i) sizes.push_back(std::strtoull(argv[i], nullptr, 10));
  if (sizes.empty()) sizes = {354, 10'000, 100'000};

  fmt::print("failover drill: rebuild HOT from WARM (memory tiers, pages of {})\n", page_size);
  fmt::print("{:>10} {:>15} {:>12} {:>9}\n", "keys", "sequential ms", "batch ms", "speedup");
  for (std::size_t n : sizes) {
    const DrillRow row = drill(n);
    fmt::print("{:>10} {:>15.3f} {:>12.3f} {:>8.1f}x\n", row.keys, row.sequential_ms, row.batch_ms,
               row.sequential_ms / row.batch_ms);
  }
  return 0;
}
