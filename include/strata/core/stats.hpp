#pragma once
/// \file
/// Per-tier counters of a TieredStore, read as a plain snapshot, with an fmt
/// formatter so a snapshot can go straight into a log line.

#include "strata/core/config.hpp"
#include "strata/core/tier.hpp"

#include <array>    // std::array
#include <atomic>   // std::atomic
#include <cstdint>  // std::uint64_t

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

namespace detail {

/// The live counters: relaxed atomics, since they order nothing.
class StoreCounters {
 public:
  void record(Tier tier, std::uint64_t keys, std::uint64_t failures,
              std::uint64_t checksum_errors = 0) noexcept {
    Tier_& t = tiers_[index_of(tier)];
    t.calls.fetch_add(1, std::memory_order_relaxed);
    t.keys.fetch_add(keys, std::memory_order_relaxed);
    if (failures) t.failures.fetch_add(failures, std::memory_order_relaxed);
    if (checksum_errors) t.checksum_errors.fetch_add(checksum_errors, std::memory_order_relaxed);
  }
  void cache(std::uint64_t hits, std::uint64_t misses) noexcept {
    if (hits) hits_.fetch_add(hits, std::memory_order_relaxed);
    if (misses) misses_.fetch_add(misses, std::memory_order_relaxed);
  }
  StoreStats snapshot() const noexcept {
    StoreStats out;
    for (std::size_t i = 0; i < tier_count; ++i) {
      out.tiers[i] = {tiers_[i].calls.load(std::memory_order_relaxed),
                      tiers_[i].keys.load(std::memory_order_relaxed),
                      tiers_[i].failures.load(std::memory_order_relaxed),
                      tiers_[i].checksum_errors.load(std::memory_order_relaxed)};
    }
    out.cache_hits = hits_.load(std::memory_order_relaxed);
    out.cache_misses = misses_.load(std::memory_order_relaxed);
    return out;
  }

 private:
  struct Tier_ {
    std::atomic<std::uint64_t> calls{0}, keys{0}, failures{0}, checksum_errors{0};
  };
  std::array<Tier_, tier_count> tiers_{};
  std::atomic<std::uint64_t> hits_{0}, misses_{0};
};

}  // namespace detail

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
