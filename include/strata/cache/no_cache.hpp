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

struct NoCache {
  static constexpr bool populate_on_write = false;

  std::optional<CachedValue> find(std::string_view, TimePoint) const noexcept {
    return std::nullopt;
  }
  void put(std::string_view, std::string_view, std::optional<TimePoint>,
           std::uint8_t = 0) noexcept {}
  void erase(std::string_view) noexcept {}
  void clear() noexcept {}
  std::size_t size() const noexcept { return 0; }
};

STRATA_END_NAMESPACE
