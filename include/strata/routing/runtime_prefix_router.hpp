#pragma once
/// \file
/// RuntimePrefixRouter: the same longest-prefix rule as PrefixRouter, with a
/// table built at run time (routes loaded from configuration).

#include "strata/core/config.hpp"
#include "strata/core/error.hpp"
#include "strata/core/tier.hpp"

#include <algorithm>    // std::stable_sort, std::adjacent_find
#include <string>       // std::string
#include <string_view>  // std::string_view
#include <utility>      // std::move
#include <vector>       // std::vector

STRATA_BEGIN_NAMESPACE

/// One entry of a RuntimePrefixRouter's table.
struct PrefixRoute {
  std::string prefix;  ///< keys starting with this
  Tier tier;           ///< go to this tier
};

/// A Router whose table is built at run time (from configuration): longest matching prefix wins,
/// else the fallback tier.
class RuntimePrefixRouter {
 public:
  /// Every key goes to `fallback`.
  explicit RuntimePrefixRouter(Tier fallback = Tier::hot) : fallback_(fallback) {}

  /// Throws ConfigError on a duplicate prefix: which route would win is then
  /// a guess, and a routing table is the wrong place for one.
  RuntimePrefixRouter(std::vector<PrefixRoute> routes, Tier fallback)
      : routes_(std::move(routes)), fallback_(fallback) {
    std::stable_sort(routes_.begin(), routes_.end(), [](const auto& a, const auto& b) {
      return a.prefix.size() > b.prefix.size() ||
             (a.prefix.size() == b.prefix.size() && a.prefix < b.prefix);
    });
    auto dup = std::adjacent_find(routes_.begin(), routes_.end(), [](const auto& a, const auto& b) {
      return a.prefix == b.prefix;
    });
    if (dup != routes_.end())
      throw ConfigError("strata::RuntimePrefixRouter: duplicate route prefix '" + dup->prefix +
                        "'");
  }

  /// The tier of `key`: its longest matching route's, else the fallback.
  Tier operator()(std::string_view key) const noexcept {
    for (const auto& route : routes_)  // longest first
      if (key.starts_with(route.prefix)) return route.tier;
    return fallback_;
  }

  /// The routes, longest prefix first.
  const std::vector<PrefixRoute>& routes() const noexcept { return routes_; }
  /// Where keys no route matches go.
  Tier fallback() const noexcept { return fallback_; }

 private:
  std::vector<PrefixRoute> routes_;
  Tier fallback_;
};

STRATA_END_NAMESPACE
