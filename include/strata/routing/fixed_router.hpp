#pragma once
/// \file
/// FixedRouter: every key goes to one tier.

#include "strata/core/config.hpp"
#include "strata/core/tier.hpp"

#include <string_view>  // std::string_view

STRATA_BEGIN_NAMESPACE

/// The Router that sends every key to tier `T`: for a store with one tier.
template <Tier T>
struct FixedRouter {
  /// Only `T` receives keys, so the store rejects at compile time a FixedRouter aimed at an absent
  /// tier.
  static constexpr bool routes_to(Tier tier) noexcept { return tier == T; }
  /// Always `T`.
  constexpr Tier operator()(std::string_view) const noexcept { return T; }
};

STRATA_END_NAMESPACE
