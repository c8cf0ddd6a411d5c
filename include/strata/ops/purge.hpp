#pragma once
/// \file
/// purge_expired across the tiers of a store: each tier that keeps expired
/// records until asked (memory, SQLite, PostgreSQL, filesystem, S3) removes
/// them; a tier that expires records natively (Redis) has nothing to purge.
/// Reads never return an expired record either way: purging only reclaims
/// space.

#include "strata/core/config.hpp"
#include "strata/core/error.hpp"
#include "strata/core/no_tier.hpp"
#include "strata/core/tier.hpp"

#include <array>        // std::array
#include <cstddef>      // std::size_t
#include <string>       // std::string
#include <type_traits>  // std::is_same_v, std::remove_cvref_t

STRATA_BEGIN_NAMESPACE

/// What purge_expired removed, per tier.
struct PurgeReport {
  std::size_t purged = 0;  ///< expired records removed, all tiers together
  /// `purged` split by tier, indexed by index_of(Tier).
  std::array<std::size_t, tier_count> purged_by_tier{};
  std::array<std::string, tier_count> errors{};  ///< per tier, why its purge failed
  /// True when no tier's purge failed.
  bool ok() const noexcept {
    for (const auto& e : errors)
      if (!e.empty()) return false;
    return true;
  }
};

/// Removes expired records from every tier of `store` that keeps them until asked (memory, SQLite,
/// PostgreSQL, filesystem, S3); a tier that expires records itself (Redis) and an absent tier count
/// 0. A failing tier does not stop the others.
template <class Store>
PurgeReport purge_expired(Store& store) {
  PurgeReport report;
  const auto purge = [&]<Tier T>() {
    auto& repo = store.template tier<T>();
    using Repo = std::remove_cvref_t<decltype(repo)>;
    if constexpr (!std::is_same_v<Repo, NoTier> && requires { repo.purge_expired(); }) {
      try {
        // AnyRepository answers nullopt for a tier that expires records itself.
        const auto purged = repo.purge_expired();
        std::size_t n = 0;
        if constexpr (requires { purged.value_or(0); })
          n = purged.value_or(0);
        else
          n = purged;
        report.purged_by_tier[index_of(T)] = n;
        report.purged += n;
      } catch (const Error& e) {
        report.errors[index_of(T)] = e.what();
      }
    }
  };
  purge.template operator()<Tier::hot>();
  purge.template operator()<Tier::warm>();
  purge.template operator()<Tier::cold>();
  return report;
}

STRATA_END_NAMESPACE
