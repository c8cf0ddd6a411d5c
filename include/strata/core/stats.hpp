#pragma once
/// \file
/// Per-tier counters of a TieredStore, read as a plain snapshot, with an fmt
/// formatter so a snapshot can go straight into a log line; the counting
/// policies (StripedStats, the default, and NoStats, which compiles out).

#include "strata/core/config.hpp"
#include "strata/core/thread_stripes.hpp"
#include "strata/core/tier.hpp"

#include <array>        // std::array
#include <atomic>       // std::atomic
#include <concepts>     // std::convertible_to, std::same_as
#include <cstddef>      // std::size_t
#include <cstdint>      // std::uint64_t
#include <type_traits>  // std::is_default_constructible_v

#include <fmt/format.h>

STRATA_BEGIN_NAMESPACE

/// What one tier of a store has been asked, since the store was made.
struct TierStats {
  std::uint64_t calls = 0;            ///< store_many + load_many + erase_many calls
  std::uint64_t keys = 0;             ///< keys passed in those calls
  std::uint64_t failures = 0;         ///< keys that came back with an error
  std::uint64_t checksum_errors = 0;  ///< loads whose envelope failed verification
};

/// Counters of a TieredStore, a snapshot taken by TieredStore::stats(). Counted with relaxed
/// atomics: totals are exact, but a snapshot taken during calls may mix before and after.
struct StoreStats {
  std::array<TierStats, tier_count> tiers{};  ///< per tier, indexed by index_of(Tier)
  std::uint64_t cache_hits = 0;               ///< keys a read answered from the cache
  std::uint64_t cache_misses = 0;             ///< keys a read had to look up in a tier

  /// The stats of one tier.
  const TierStats& operator[](Tier tier) const noexcept { return tiers[index_of(tier)]; }
};

/// The counting policy a TieredStore uses unless told otherwise: relaxed atomic
/// counters in cache-line-padded stripes, one stripe per thread (threads beyond
/// the stripe count share stripes), so no counter line is written by every
/// thread on every call. stats() sums the stripes.
class StripedStats {
 public:
  /// True: the store counts, and has stats().
  static constexpr bool enabled = true;

  /// One call to `tier` with `keys` keys, of which `failures` failed and
  /// `checksum_errors` had an envelope that failed verification.
  void record(Tier tier, std::uint64_t keys, std::uint64_t failures,
              std::uint64_t checksum_errors = 0) noexcept {
    TierCounters& t = mine().tiers[index_of(tier)];
    detail::add_relaxed(t.calls, 1);
    detail::add_relaxed(t.keys, keys);
    if (failures) detail::add_relaxed(t.failures, failures);
    if (checksum_errors) detail::add_relaxed(t.checksum_errors, checksum_errors);
  }
  /// `hits` keys answered by the cache, `misses` looked up in a tier.
  void cache(std::uint64_t hits, std::uint64_t misses) noexcept {
    Stripe& stripe = mine();
    if (hits) detail::add_relaxed(stripe.hits, hits);
    if (misses) detail::add_relaxed(stripe.misses, misses);
  }
  /// The totals over every stripe.
  StoreStats snapshot() const noexcept {
    StoreStats out;
    for (const Stripe& stripe : stripes_) {
      for (std::size_t i = 0; i < tier_count; ++i) {
        const TierCounters& t = stripe.tiers[i];
        out.tiers[i].calls += t.calls.load(std::memory_order_relaxed);
        out.tiers[i].keys += t.keys.load(std::memory_order_relaxed);
        out.tiers[i].failures += t.failures.load(std::memory_order_relaxed);
        out.tiers[i].checksum_errors += t.checksum_errors.load(std::memory_order_relaxed);
      }
      out.cache_hits += stripe.hits.load(std::memory_order_relaxed);
      out.cache_misses += stripe.misses.load(std::memory_order_relaxed);
    }
    return out;
  }

 private:
  using Counter = detail::StripeCounter;
  struct TierCounters {
    Counter calls{0}, keys{0}, failures{0}, checksum_errors{0};
  };
  // 64 bytes: the destructive interference size of x86-64 and most ARM cores
  // (std::hardware_destructive_interference_size warns under GCC 12).
  struct alignas(64) Stripe {
    std::array<TierCounters, tier_count> tiers{};
    Counter hits{0}, misses{0};
  };
  Stripe& mine() noexcept { return stripes_[detail::this_thread_stripe()]; }

  std::array<Stripe, detail::stripe_count> stripes_{};
};

/// A counting policy that counts nothing: a store built with it has no
/// stats() and spends no instruction on counting.
struct NoStats {
  /// False: the store does not count.
  static constexpr bool enabled = false;
  /// Does nothing.
  void record(Tier, std::uint64_t, std::uint64_t, std::uint64_t = 0) noexcept {}
  /// Does nothing.
  void cache(std::uint64_t, std::uint64_t) noexcept {}
};

/// What TieredStore needs of its counting policy (`Stats`): record and cache,
/// callable without throwing, and, when it counts (`enabled`), a snapshot.
template <class S>
concept StatsPolicy = std::is_default_constructible_v<S> && requires(S& stats) {
  { S::enabled } -> std::convertible_to<bool>;
  { stats.record(Tier::hot, std::uint64_t{}, std::uint64_t{}, std::uint64_t{}) }
  noexcept;
  { stats.cache(std::uint64_t{}, std::uint64_t{}) }
  noexcept;
} &&(!S::enabled || requires(const S& stats) {
  { stats.snapshot() } -> std::same_as<StoreStats>;
});

STRATA_END_NAMESPACE

/// \cond
// Specialisations of fmt's and std's templates: documented in the \file
// comment above, kept out of the reference (Doxygen cannot place them).
template <>
struct fmt::formatter<strata::Tier> : fmt::formatter<std::string_view> {
  template <class FormatContext>
  auto format(strata::Tier tier, FormatContext& ctx) const {
    return fmt::formatter<std::string_view>::format(strata::to_string(tier), ctx);
  }
};

/// "cache 90 hits / 10 misses; hot 3 calls 120 keys 0 failed 0 bad-checksum; ..."
template <>
struct fmt::formatter<strata::StoreStats> {
  constexpr auto parse(fmt::format_parse_context& ctx) { return ctx.begin(); }
  template <class FormatContext>
  auto format(const strata::StoreStats& stats, FormatContext& ctx) const {
    auto out = fmt::format_to(ctx.out(), "cache {} hits / {} misses", stats.cache_hits,
                              stats.cache_misses);
    for (strata::Tier tier : strata::all_tiers) {
      const auto& t = stats[tier];
      out = fmt::format_to(out, "; {} {} calls {} keys {} failed {} bad-checksum",
                           strata::to_string(tier), t.calls, t.keys, t.failures, t.checksum_errors);
    }
    return out;
  }
};
/// \endcond
