#pragma once
/// \file
/// Latency metrics of a TieredStore: per tier and operation, a histogram of
/// call latencies and the keys those calls carried. The recording policies:
/// NoMetrics (the default: compiled out, no clock read) and StripedMetrics
/// (relaxed counters in cache-line-padded per-thread stripes, so a call
/// takes no lock and writes no line another thread writes). A snapshot is a
/// plain struct; strata/prometheus/collector.hpp exposes it to Prometheus.

#include "strata/core/config.hpp"
#include "strata/core/thread_stripes.hpp"
#include "strata/core/tier.hpp"

#include <array>        // std::array
#include <atomic>       // std::atomic
#include <bit>          // std::bit_width
#include <chrono>       // std::chrono::nanoseconds
#include <concepts>     // std::convertible_to, std::same_as
#include <cstddef>      // std::size_t
#include <cstdint>      // std::uint64_t
#include <string_view>  // std::string_view
#include <type_traits>  // std::is_default_constructible_v

STRATA_BEGIN_NAMESPACE

/// A call the store makes to a tier.
enum class TierOperation : unsigned char { store_many, load_many, erase_many };

/// How many TierOperation values there are.
inline constexpr std::size_t tier_operation_count = 3;

/// Every operation, in index order.
inline constexpr std::array<TierOperation, tier_operation_count> all_tier_operations{
    TierOperation::store_many, TierOperation::load_many, TierOperation::erase_many};

/// The operation's name, as the Repository concept spells it.
constexpr std::string_view to_string(TierOperation operation) noexcept {
  switch (operation) {
    case TierOperation::store_many:
      return "store_many";
    case TierOperation::load_many:
      return "load_many";
    case TierOperation::erase_many:
      return "erase_many";
  }
  return "unknown";
}

/// Latencies and key counts of one (tier, operation), since the store was made.
struct LatencyHistogram {
  /// Finite buckets: bucket b counts calls that took at most 2^b microseconds
  /// (1 us .. 2^23 us, about 8.4 s); a longer call counts in `count` only.
  static constexpr std::size_t bucket_count = 24;
  /// The upper bound of bucket `b`, in seconds (Prometheus' `le`).
  static constexpr double upper_bound_seconds(std::size_t b) noexcept {
    return static_cast<double>(std::uint64_t{1} << b) * 1e-6;
  }

  std::array<std::uint64_t, bucket_count> buckets{};  ///< calls per bucket (not cumulative)
  std::uint64_t count = 0;                            ///< calls
  std::uint64_t sum_ns = 0;                           ///< their total latency, in nanoseconds
  std::uint64_t keys = 0;                             ///< keys those calls carried
};

/// What StripedMetrics recorded: a histogram per tier and operation.
struct MetricsSnapshot {
  /// Indexed by index_of(Tier), then by the operation's value.
  std::array<std::array<LatencyHistogram, tier_operation_count>, tier_count> calls{};

  /// The histogram of one tier's operation.
  const LatencyHistogram& operator()(Tier tier, TierOperation operation) const noexcept {
    return calls[index_of(tier)][static_cast<std::size_t>(operation)];
  }
};

/// A recording policy that records nothing: the store reads no clock for it.
struct NoMetrics {
  /// False: the store does not time its tier calls.
  static constexpr bool enabled = false;
  /// Does nothing.
  void record(Tier, TierOperation, std::chrono::nanoseconds, std::uint64_t) noexcept {}
};

/// Histograms in cache-line-padded stripes, one stripe per thread (threads
/// beyond the stripe count share stripes); snapshot() sums them.
class StripedMetrics {
 public:
  /// True: the store times each tier call.
  static constexpr bool enabled = true;

  /// One call of `operation` to `tier` that took `latency` and carried `keys` keys.
  void record(Tier tier, TierOperation operation, std::chrono::nanoseconds latency,
              std::uint64_t keys) noexcept {
    Histogram& h = mine().calls[index_of(tier)][static_cast<std::size_t>(operation)];
    const auto ns = static_cast<std::uint64_t>(latency.count() < 0 ? 0 : latency.count());
    // The bucket of the smallest power of two of microseconds >= the latency.
    const std::uint64_t us = (ns + 999) / 1000;
    const auto bucket = static_cast<std::size_t>(us <= 1 ? 0 : std::bit_width(us - 1));
    if (bucket < LatencyHistogram::bucket_count) detail::add_relaxed(h.buckets[bucket], 1);
    detail::add_relaxed(h.count, 1);
    detail::add_relaxed(h.sum_ns, ns);
    detail::add_relaxed(h.keys, keys);
  }

  /// The totals over every stripe.
  MetricsSnapshot snapshot() const noexcept {
    MetricsSnapshot out;
    for (const Stripe& stripe : stripes_)
      for (std::size_t t = 0; t < tier_count; ++t)
        for (std::size_t o = 0; o < tier_operation_count; ++o) {
          const Histogram& h = stripe.calls[t][o];
          LatencyHistogram& sum = out.calls[t][o];
          for (std::size_t b = 0; b < LatencyHistogram::bucket_count; ++b)
            sum.buckets[b] += h.buckets[b].load(std::memory_order_relaxed);
          sum.count += h.count.load(std::memory_order_relaxed);
          sum.sum_ns += h.sum_ns.load(std::memory_order_relaxed);
          sum.keys += h.keys.load(std::memory_order_relaxed);
        }
    return out;
  }

 private:
  using Counter = detail::StripeCounter;
  struct Histogram {
    std::array<Counter, LatencyHistogram::bucket_count> buckets{};
    Counter count{0}, sum_ns{0}, keys{0};
  };
  // 64 bytes: the destructive interference size of x86-64 and most ARM cores.
  struct alignas(64) Stripe {
    std::array<std::array<Histogram, tier_operation_count>, tier_count> calls{};
  };
  Stripe& mine() noexcept { return stripes_[detail::this_thread_stripe()]; }

  std::array<Stripe, detail::stripe_count> stripes_{};
};

/// What TieredStore needs of its metrics policy (`Metrics`): record, callable
/// without throwing, and, when it records (`enabled`), a snapshot.
template <class M>
concept MetricsPolicy = std::is_default_constructible_v<M> && requires(M& metrics) {
  { M::enabled } -> std::convertible_to<bool>;
  {
    metrics.record(Tier::hot, TierOperation::load_many, std::chrono::nanoseconds{}, std::uint64_t{})
  }
  noexcept;
} &&(!M::enabled || requires(const M& metrics) {
  { metrics.snapshot() } -> std::same_as<MetricsSnapshot>;
});

STRATA_END_NAMESPACE
