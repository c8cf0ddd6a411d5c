#pragma once
/// \file
/// NoCache: the CachePolicy that caches nothing. TieredStore compiles its
/// coherence bookkeeping out entirely when composed with it.

#include "strata/core/cached_value.hpp"
#include "strata/core/clock.hpp"
#include "strata/core/config.hpp"

#include <cstddef>      // std::size_t
#include <cstdint>      // std::uint8_t
#include <optional>     // std::optional
#include <string_view>  // std::string_view

STRATA_BEGIN_NAMESPACE

/// The CachePolicy that caches nothing: every read goes to the tiers.
struct NoCache {
  static constexpr bool populate_on_write = false;  ///< there is nothing to fill

  /// Always a miss.
  std::optional<CachedValue> find(std::string_view, TimePoint) const noexcept {
    return std::nullopt;
  }
  /// Discards the value.
  void put(std::string_view, std::string_view, std::optional<TimePoint>,
           std::uint8_t = 0) noexcept {}
  /// Nothing to drop.
  void erase(std::string_view) noexcept {}
  /// Nothing to drop.
  void clear() noexcept {}
  /// Always 0.
  std::size_t size() const noexcept { return 0; }
};

STRATA_END_NAMESPACE
