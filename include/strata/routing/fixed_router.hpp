#pragma once
/// \file
/// FixedRouter: every key goes to one tier.

#include "strata/core/config.hpp"
#include "strata/core/tier.hpp"

#include <string_view>  // std::string_view

STRATA_BEGIN_NAMESPACE

template <Tier T>
struct FixedRouter {
  static constexpr bool routes_to(Tier tier) noexcept { return tier == T; }
  constexpr Tier operator()(std::string_view) const noexcept { return T; }
};

STRATA_END_NAMESPACE
