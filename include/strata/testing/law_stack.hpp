#pragma once
/// \file
/// The stack the store laws run over (strata/testing/store_laws.hpp): a
/// Backends type names the three repositories and makes them against a given
/// clock; LawStore puts each behind FaultInjecting, under LawRouter and the
/// Backends' cache (LruCache unless it names a `Cache`), bus (NoBus unless
/// it names a `Bus` and `make_bus(hot)`) and single-flight policy
/// (NoSingleFlight unless it names a `SingleFlight`).
///
///     struct MyBackends : strata::testing::MemoryBackends {  // HOT and COLD in memory
///       static constexpr const char* name = "mine";
///       using Warm = MyRepository;
///       static Warm make_warm(strata::Clock clock) { return Warm(clock); }
///     };

#include <strata/strata.hpp>
#include <strata/testing/fault_injecting.hpp>

#include <type_traits>
#include <utility>

namespace strata::testing {

/// Every tier in memory: the base a Backends type overrides a tier of.
struct MemoryBackends {
  static constexpr const char* name = "memory";  ///< the stack's name in messages
  using Hot = MemoryRepository;                  ///< the HOT tier's repository
  using Warm = MemoryRepository;                 ///< the WARM tier's repository
  using Cold = MemoryRepository;                 ///< the COLD tier's repository
  /// A fresh, empty HOT tier on `clock`.
  static Hot make_hot(Clock clock) { return Hot(MemoryOptions{.shards = 4, .clock = clock}); }
  /// A fresh, empty WARM tier on `clock`.
  static Warm make_warm(Clock clock) { return Warm(MemoryOptions{.shards = 4, .clock = clock}); }
  /// A fresh, empty COLD tier on `clock`.
  static Cold make_cold(Clock clock) { return Cold(MemoryOptions{.shards = 4, .clock = clock}); }
};

/// Keys "hot:..." live in HOT, "cold:..." in COLD, everything else in WARM.
using LawRouter =
    PrefixRouter<Route<"hot:", Tier::hot>, Route<"cold:", Tier::cold>, Fallback<Tier::warm>>;

namespace law_internal {

/// The stack's invalidation bus: Backends::Bus when it names one, else NoBus.
template <class Backends>
struct law_bus {
  using type = NoBus;
  static NoBus make(const typename Backends::Hot&) { return {}; }
};
/// A Backends type that names a `Bus`: that bus, made by `make_bus(hot)`.
template <class Backends>
requires requires { typename Backends::Bus; }
struct law_bus<Backends> {
  using type = typename Backends::Bus;
  static type make(const typename Backends::Hot& hot) { return Backends::make_bus(hot); }
};

/// The cache the laws run over: LruCache, or the stack's own `Cache` when it names one.
template <class Backends>
struct law_cache {
  using type = LruCache<>;
};
/// A Backends type that names a `Cache`: that cache.
template <class Backends>
requires requires { typename Backends::Cache; }
struct law_cache<Backends> {
  using type = typename Backends::Cache;
};

/// The single-flight policy: NoSingleFlight, or the stack's own `SingleFlight` when it names one.
template <class Backends>
struct law_single_flight {
  using type = NoSingleFlight;
};
/// A Backends type that names a `SingleFlight`: that policy.
template <class Backends>
requires requires { typename Backends::SingleFlight; }
struct law_single_flight<Backends> {
  using type = typename Backends::SingleFlight;
};

}  // namespace law_internal

/// The store the laws run over: each tier of `Backends` behind FaultInjecting, under LawRouter.
template <class Backends, class Cache = typename law_internal::law_cache<Backends>::type>
using LawStore =
    TieredStore<Cache, LawRouter, FaultInjecting<typename Backends::Hot>,
                FaultInjecting<typename Backends::Warm>, FaultInjecting<typename Backends::Cold>,
                typename law_internal::law_bus<Backends>::type, StripedStats, NoMetrics,
                typename law_internal::law_single_flight<Backends>::type>;

/// A LawStore over fresh tiers made by `Backends` against `clock`.
template <class Backends, class Cache = typename law_internal::law_cache<Backends>::type>
LawStore<Backends, Cache> make_law_store(Clock clock, StoreOptions options = {}) {
  options.clock = clock;
  using Store = LawStore<Backends, Cache>;
  typename Backends::Hot hot = Backends::make_hot(clock);
  auto bus =
      law_internal::law_bus<Backends>::make(hot);  // made for the HOT tier (its Redis, its prefix)
  return Store(options, FaultInjecting<typename Backends::Hot>(std::move(hot)),
               FaultInjecting<typename Backends::Warm>(Backends::make_warm(clock)),
               FaultInjecting<typename Backends::Cold>(Backends::make_cold(clock)), Cache{},
               LawRouter{}, std::move(bus));
}

/// One tier of a Backends type as a setup of the repository laws
/// (strata/testing/repository_laws.hpp): `TierSetup<MyBackends, Tier::warm>`.
template <class Backends, Tier T>
struct TierSetup {
  /// The tier's repository type.
  using Repository = std::conditional_t<
      T == Tier::hot, typename Backends::Hot,
      std::conditional_t<T == Tier::warm, typename Backends::Warm, typename Backends::Cold>>;
  /// The tier's repository, made by the Backends' make_hot/warm/cold.
  static Repository make(Clock clock) {
    if constexpr (T == Tier::hot)
      return Backends::make_hot(clock);
    else if constexpr (T == Tier::warm)
      return Backends::make_warm(clock);
    else
      return Backends::make_cold(clock);
  }
};

}  // namespace strata::testing
