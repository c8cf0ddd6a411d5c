#pragma once
/// \file
/// PrefixRouter: a compile-time routing table. The longest matching prefix
/// wins; keys no route matches go to the Fallback tier. No heap, no virtual
/// call: the table is a constexpr array sorted longest-first at compile time.
///
///     using Routes = strata::PrefixRouter<strata::Route<"pos:", strata::Tier::hot>,
///                                         strata::Route<"hist:", strata::Tier::cold>,
///                                         strata::Fallback<strata::Tier::warm>>;

#include "strata/core/config.hpp"
#include "strata/core/tier.hpp"
#include "strata/routing/fixed_string.hpp"

#include <algorithm>    // std::sort
#include <array>        // std::array
#include <cstddef>      // std::size_t
#include <string_view>  // std::string_view

STRATA_BEGIN_NAMESPACE

/// Keys starting with Prefix go to tier T.
template <FixedString Prefix, Tier T>
struct Route {
  static constexpr std::string_view prefix = Prefix.view();  ///< the prefix, as a string view
  static constexpr Tier tier = T;                            ///< where the prefix's keys go
};

/// The tier of keys that no Route matches.
template <Tier T>
struct Fallback {
  static constexpr Tier tier = T;  ///< where keys no Route matches go
};

namespace detail {

template <class T>
inline constexpr bool is_fallback = false;
template <Tier T>
inline constexpr bool is_fallback<Fallback<T>> = true;

struct RouteEntry {
  std::string_view prefix;
  Tier tier;
};

}  // namespace detail

/// A Router whose table is fixed at compile time: Route entries, longest prefix first, and exactly
/// one Fallback (checked by static_assert, as are duplicate prefixes).
template <class... Entries>
class PrefixRouter {
  static constexpr std::size_t fallback_count = (std::size_t{detail::is_fallback<Entries>} + ...);
  static_assert(fallback_count == 1,
                "strata::PrefixRouter needs exactly one Fallback<tier>: the tier of keys no "
                "Route matches");

  static constexpr Tier fallback_tier = [] {
    Tier tier = Tier::hot;
    ((detail::is_fallback<Entries> ? (tier = Entries::tier, 0) : 0), ...);
    return tier;
  }();

  static constexpr std::size_t route_count = sizeof...(Entries) - 1;

  static constexpr auto table = [] {
    std::array<detail::RouteEntry, route_count> routes{};
    std::size_t i = 0;
    (
        [&] {
          if constexpr (!detail::is_fallback<Entries>)
            routes[i++] = {Entries::prefix, Entries::tier};
        }(),
        ...);
    std::sort(routes.begin(), routes.end(),
              [](const auto& a, const auto& b) { return a.prefix.size() > b.prefix.size(); });
    return routes;
  }();

  static constexpr bool prefixes_unique = [] {
    for (std::size_t i = 0; i < route_count; ++i)
      for (std::size_t j = i + 1; j < route_count; ++j)
        if (table[i].prefix == table[j].prefix) return false;
    return true;
  }();
  static_assert(prefixes_unique, "strata::PrefixRouter: two Routes have the same prefix");

 public:
  /// Whether any key can reach `tier`: the store rejects at compile time a table that routes to an
  /// absent tier.
  static constexpr bool routes_to(Tier tier) noexcept {
    if (tier == fallback_tier) return true;
    for (const auto& route : table)
      if (route.tier == tier) return true;
    return false;
  }

  /// The tier of `key`: its longest matching Route's, else the Fallback's.
  constexpr Tier operator()(std::string_view key) const noexcept {
    for (const auto& route : table)  // longest first, so the first match is the longest
      if (key.starts_with(route.prefix)) return route.tier;
    return fallback_tier;
  }
};

STRATA_END_NAMESPACE
