// A store's metrics served to Prometheus. It runs a known workload on an
// in-memory stack that records latencies (StripedMetrics), serves the
// metrics with prometheus-cpp's exposer on 127.0.0.1, prints the address,
// and serves until its standard input closes:
//
//   build/dev/examples/metrics_server [port]     # 0, the default: any free port
//   curl -s http://127.0.0.1:<port>/metrics
//
// The workload, for a reader of the output (tests/prometheus checks it):
// three batches of 100 writes, each a third "hot:", "w:" and "cold:" keys
// (so each tier gets 3 store_many calls of 100 keys in all); the cache
// cleared; one batch_get of all 300 (one load_many per tier, 100 keys
// each); the same read again (300 cache hits); a batch_delete of 30 keys
// (one erase_many per tier, 30 keys each).
#include <strata/prometheus/collector.hpp>
#include <strata/strata.hpp>

#include <prometheus/exposer.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

using Router = strata::PrefixRouter<strata::Route<"hot:", strata::Tier::hot>,
                                    strata::Route<"cold:", strata::Tier::cold>,
                                    strata::Fallback<strata::Tier::warm>>;
using Store = strata::TieredStore<strata::LruCache<>, Router, strata::MemoryRepository,
                                  strata::MemoryRepository, strata::MemoryRepository, strata::NoBus,
                                  strata::StripedStats, strata::StripedMetrics>;

int main(int argc, char** argv) {
  const std::string port = argc > 1 ? argv[1] : "0";
  auto store = std::make_unique<Store>();

  std::vector<std::string> keys;
  keys.reserve(300);
  for (int i = 0; i < 300; ++i)
    keys.push_back((i % 3 == 0 ? "hot:" : i % 3 == 1 ? "w:" : "cold:") + std::to_string(i));
  for (int batch = 0; batch < 3; ++batch) {
    std::vector<strata::Item> items;
    items.reserve(100);
    for (int i = batch * 100; i < (batch + 1) * 100; ++i)
      items.push_back({keys[static_cast<std::size_t>(i)], "value"});
    if (!store->batch_set(items).all_stored()) return 1;
  }
  store->cache().clear();
  const std::vector<std::string_view> all(keys.begin(), keys.end());
  if (store->batch_get(all).found_count() != 300) return 1;
  if (store->batch_get(all).found_count() != 300) return 1;
  if (store->batch_delete(std::span(all).first(30)).erased != 30) return 1;

  prometheus::Exposer exposer("127.0.0.1:" + port);
  const auto collector = std::make_shared<strata::prometheus::StoreCollector<Store>>(*store);
  exposer.RegisterCollectable(collector);
  std::printf("listening on 127.0.0.1:%d\n", exposer.GetListeningPorts().at(0));
  std::fflush(stdout);
  for (std::string line; std::getline(std::cin, line);) {
  }  // serves until standard input closes
  return 0;
}
