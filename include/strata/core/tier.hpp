#pragma once
/// \file
/// The three storage tiers a TieredStore composes.

#include "strata/core/config.hpp"

#include <array>        // std::array
#include <cstddef>      // std::size_t
#include <string_view>  // std::string_view

STRATA_BEGIN_NAMESPACE

/// Where a record lives. The order is the order of a read fallback: hot first.
enum class Tier : unsigned char { hot = 0, warm = 1, cold = 2 };

/// The number of tiers.
inline constexpr std::size_t tier_count = 3;
/// Every tier, hot first.
inline constexpr std::array<Tier, tier_count> all_tiers{Tier::hot, Tier::warm, Tier::cold};

/// The tier's position in per-tier arrays (hot 0, warm 1, cold 2).
constexpr std::size_t index_of(Tier tier) noexcept { return static_cast<std::size_t>(tier); }

/// "hot", "warm" or "cold".
constexpr std::string_view to_string(Tier tier) noexcept {
  switch (tier) {
    case Tier::hot:
      return "hot";
    case Tier::warm:
      return "warm";
    case Tier::cold:
      return "cold";
  }
  return "unknown";
}

STRATA_END_NAMESPACE
