#pragma once
/// \file
/// strata::prometheus (component `strata::prometheus`, over Debian's
/// prometheus-cpp-dev, ADR 23): a TieredStore's metrics as Prometheus metric
/// families, read from the store at each scrape.
///
///     auto collector = std::make_shared<strata::prometheus::StoreCollector<Store>>(store);
///     prometheus::Exposer exposer("127.0.0.1:9464");
///     exposer.RegisterCollectable(collector);
///
/// Families (every name starts with `strata_`):
/// - with a recording Metrics policy (StripedMetrics):
///   `strata_tier_operation_seconds` (histogram; labels tier, op: store_many,
///   load_many, erase_many; buckets of 2^k microseconds) and
///   `strata_tier_operation_keys_total` (counter);
/// - with a counting Stats policy: `strata_tier_calls_total`,
///   `strata_tier_keys_total`, `strata_tier_failures_total`,
///   `strata_tier_checksum_errors_total` (label tier), `strata_cache_hits_total`
///   and `strata_cache_misses_total`;
/// - always: `strata_cache_entries` (gauge); with LruCache, S3FifoCache or TinyLfuCache
///   `strata_cache_bytes` (gauge) and `strata_cache_evictions_total`;
/// - with a RedisBus: `strata_bus_invalidations_total`, `strata_bus_gaps_total`;
/// - per tier whose repository has a connection pool (Redis, PostgreSQL):
///   `strata_pool_connections` (gauge; state: open, idle, in_use),
///   `strata_pool_waits_total`, `strata_pool_wait_seconds_total`,
///   `strata_pool_exhausted_total`, `strata_pool_discarded_total`,
///   `strata_pool_created_total`.

#include <strata/core/metrics.hpp>
#include <strata/core/no_tier.hpp>
#include <strata/core/stats.hpp>
#include <strata/core/tier.hpp>
#include <strata/pool/connection_pool.hpp>
#include <strata/prometheus/exposition.hpp>

#include <prometheus/client_metric.h>
#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>
#include <prometheus/metric_type.h>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace strata::prometheus {

namespace collector_internal {

using ::prometheus::ClientMetric;
using ::prometheus::MetricFamily;
using ::prometheus::MetricType;

inline std::vector<ClientMetric::Label> tier_label(Tier tier) {
  return {{"tier", std::string(to_string(tier))}};
}

inline void add_latencies(const MetricsSnapshot& snapshot, std::vector<MetricFamily>& out) {
  MetricFamily seconds =
      metric_family("strata_tier_operation_seconds", "Latency of the store's calls to a tier",
                    MetricType::Histogram, {});
  std::vector<Sample> keys;
  keys.reserve(tier_count * tier_operation_count);
  for (Tier tier : all_tiers)
    for (TierOperation op : all_tier_operations) {
      const LatencyHistogram& h = snapshot(tier, op);
      const std::vector<ClientMetric::Label> labels{{"tier", std::string(to_string(tier))},
                                                    {"op", std::string(to_string(op))}};
      ClientMetric metric;
      metric.label = labels;
      metric.histogram.sample_count = h.count;
      metric.histogram.sample_sum = static_cast<double>(h.sum_ns) * 1e-9;
      std::uint64_t cumulative = 0;
      metric.histogram.bucket.reserve(LatencyHistogram::bucket_count + 1);
      for (std::size_t b = 0; b < LatencyHistogram::bucket_count; ++b) {
        cumulative += h.buckets[b];
        metric.histogram.bucket.push_back({cumulative, LatencyHistogram::upper_bound_seconds(b)});
      }
      metric.histogram.bucket.push_back({h.count, std::numeric_limits<double>::infinity()});
      seconds.metric.push_back(std::move(metric));
      keys.push_back({labels, static_cast<double>(h.keys)});
    }
  out.push_back(std::move(seconds));
  out.push_back(metric_family("strata_tier_operation_keys_total",
                              "Keys the store's calls to a tier carried", MetricType::Counter,
                              keys));
}

inline void add_counts(const StoreStats& stats, std::vector<MetricFamily>& out) {
  const auto per_tier = [&](const char* name, const char* help, auto field) {
    std::vector<Sample> samples;
    samples.reserve(tier_count);
    for (Tier tier : all_tiers)
      samples.push_back({tier_label(tier), static_cast<double>(stats[tier].*field)});
    out.push_back(metric_family(name, help, MetricType::Counter, samples));
  };
  per_tier("strata_tier_calls_total", "Calls the store made to a tier", &TierStats::calls);
  per_tier("strata_tier_keys_total", "Keys the store passed to a tier", &TierStats::keys);
  per_tier("strata_tier_failures_total", "Keys a tier failed", &TierStats::failures);
  per_tier("strata_tier_checksum_errors_total", "Records from a tier that failed verification",
           &TierStats::checksum_errors);
  out.push_back(metric_family("strata_cache_hits_total", "Keys a read answered from the cache",
                              MetricType::Counter, {{{}, static_cast<double>(stats.cache_hits)}}));
  out.push_back(metric_family("strata_cache_misses_total", "Keys a read looked up in a tier",
                              MetricType::Counter,
                              {{{}, static_cast<double>(stats.cache_misses)}}));
}

inline void add_pools(const std::vector<std::pair<Tier, PoolStats>>& pools,
                      std::vector<MetricFamily>& out) {
  if (pools.empty()) return;
  std::vector<Sample> connections;
  connections.reserve(3 * pools.size());
  for (const auto& [tier, stats] : pools) {
    const std::string name(to_string(tier));
    connections.push_back({{{"tier", name}, {"state", "open"}}, static_cast<double>(stats.open)});
    connections.push_back({{{"tier", name}, {"state", "idle"}}, static_cast<double>(stats.idle)});
    connections.push_back(
        {{{"tier", name}, {"state", "in_use"}}, static_cast<double>(stats.open - stats.idle)});
  }
  out.push_back(
      gauges("strata_pool_connections", "Connections of a tier's pool, by state", connections));
  const auto counter = [&](const char* name, const char* help, auto value) {
    std::vector<Sample> samples;
    samples.reserve(pools.size());
    for (const auto& [tier, stats] : pools) samples.push_back({tier_label(tier), value(stats)});
    out.push_back(metric_family(name, help, MetricType::Counter, samples));
  };
  counter("strata_pool_waits_total", "Checkouts that waited for a connection",
          [](const PoolStats& s) { return static_cast<double>(s.waits); });
  counter("strata_pool_wait_seconds_total", "Time checkouts spent waiting",
          [](const PoolStats& s) { return static_cast<double>(s.wait_ns) * 1e-9; });
  counter("strata_pool_exhausted_total", "Checkouts that gave up (pool exhausted)",
          [](const PoolStats& s) { return static_cast<double>(s.exhausted); });
  counter("strata_pool_discarded_total", "Connections closed after an error or failed check",
          [](const PoolStats& s) { return static_cast<double>(s.discarded); });
  counter("strata_pool_created_total", "Connections opened",
          [](const PoolStats& s) { return static_cast<double>(s.created); });
}

}  // namespace collector_internal

/// Every family of `store`'s metrics now (see the file comment).
template <class Store>
std::vector<::prometheus::MetricFamily> metric_families(Store& store) {
  using namespace collector_internal;
  std::vector<MetricFamily> out;
  if constexpr (Store::metrics_type::enabled) add_latencies(store.metrics(), out);
  if constexpr (Store::stats_type::enabled) add_counts(store.stats(), out);
  out.push_back(gauges("strata_cache_entries", "Entries the store's cache holds",
                       {{{}, static_cast<double>(store.cache().size())}}));
  auto& cache = store.cache();
  if constexpr (requires { cache.bytes(); })
    out.push_back(gauges("strata_cache_bytes", "Key and value bytes the store's cache holds",
                         {{{}, static_cast<double>(cache.bytes())}}));
  if constexpr (requires { cache.evictions(); })
    out.push_back(metric_family("strata_cache_evictions_total",
                                "Entries the cache evicted for capacity", MetricType::Counter,
                                {{{}, static_cast<double>(cache.evictions())}}));
  auto& bus = store.bus();
  if constexpr (requires { bus.stats().invalidations; }) {
    const auto bus_stats = bus.stats();
    out.push_back(metric_family(
        "strata_bus_invalidations_total", "Keys other processes' writes invalidated here",
        MetricType::Counter, {{{}, static_cast<double>(bus_stats.invalidations)}}));
    out.push_back(metric_family("strata_bus_gaps_total",
                                "Subscriptions lost (each clears the cache)", MetricType::Counter,
                                {{{}, static_cast<double>(bus_stats.gaps)}}));
  }

  std::vector<std::pair<Tier, PoolStats>> pools;
  const auto pool_of = [&]<Tier T>() {
    auto& repository = store.template tier<T>();
    if constexpr (requires { repository.pool_stats(); })
      pools.emplace_back(T, repository.pool_stats());
  };
  pool_of.template operator()<Tier::hot>();
  pool_of.template operator()<Tier::warm>();
  pool_of.template operator()<Tier::cold>();
  add_pools(pools, out);
  return out;
}

/// A prometheus-cpp Collectable over a store: each scrape reads the store's
/// snapshots. The store must outlive the collector's registration.
template <class Store>
class StoreCollector final : public ::prometheus::Collectable {
 public:
  /// Collects `store`'s metrics.
  explicit StoreCollector(Store& store) : store_(&store) {}
  /// The families of the store's metrics now.
  std::vector<::prometheus::MetricFamily> Collect() const override {
    return metric_families(*store_);
  }

 private:
  Store* store_;
};

}  // namespace strata::prometheus
