// The cost of recording latencies: the same in-memory store with NoMetrics
// (the baseline: no clock read) and with StripedMetrics (two steady_clock
// reads and four relaxed adds to this thread's stripe per tier call), on
// batches of 1 and 100 keys, reads and writes, one thread. The store has no
// cache, so every call reaches a tier. Its table's baseline and candidate
// columns are ns per batch: their difference is the recording's cost.
// Run: scripts/bench.sh metrics
#include <strata/bench/batch_data.hpp>
#include <strata/bench/comparison.hpp>
#include <strata/strata.hpp>

#include <cstddef>

namespace {

template <class Metrics>
using Store = strata::TieredStore<strata::NoCache, strata::FixedRouter<strata::Tier::hot>,
                                  strata::MemoryRepository, strata::NoTier, strata::NoTier,
                                  strata::NoBus, strata::NoStats, Metrics>;

template <class Metrics>
void get(benchmark::State& state, std::size_t n) {
  const strata::bench::BatchData data(n, "pos:", 100);
  Store<Metrics> store;
  store.batch_set(data.items);
  for (auto _ : state) benchmark::DoNotOptimize(store.batch_get(data.views));
}

template <class Metrics>
void set(benchmark::State& state, std::size_t n) {
  const strata::bench::BatchData data(n, "pos:", 100);
  Store<Metrics> store;
  for (auto _ : state) benchmark::DoNotOptimize(store.batch_set(data.items).all_stored());
}

}  // namespace

int main(int argc, char** argv) {
  strata::bench::Comparison compare("NoMetrics vs StripedMetrics (time / time)");
  compare.unit(benchmark::kNanosecond);
  compare.add("get", {1, 100}, get<strata::NoMetrics>, get<strata::StripedMetrics>);
  compare.add("set", {1, 100}, set<strata::NoMetrics>, set<strata::StripedMetrics>);
  return compare.run(argc, argv);
}
