#pragma once
/// \file
/// NoCache: the CachePolicy that caches nothing. TieredStore compiles its
/// coherence bookkeeping out entirely when composed with it.

#include "strata/core/clock.hpp"
#include "strata/core/config.hpp"

#include <cstddef>      // std::size_t
#include <optional>     // std::optional
#include <string>       // std::string
#include <string_view>  // std::string_view

STRATA_BEGIN_NAMESPACE

struct NoCache {
  static constexpr bool populate_on_write = false;

  std::optional<std::string> find(std::string_view, TimePoint) const noexcept {
    return std::nullopt;
  }
  void put(std::string_view, std::string_view, std::optional<TimePoint>) noexcept {}
  void erase(std::string_view) noexcept {}
  void clear() noexcept {}
  std::size_t size() const noexcept { return 0; }
};

STRATA_END_NAMESPACE
