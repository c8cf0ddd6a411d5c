#pragma once
/// \file
/// The InvalidationBus concept: how a TieredStore learns that another process
/// changed a key its cache may hold (ADR 15), and NoBus, the default, for a
/// store alone in its process.
///
/// A bus does three things:
///  - the store announces the keys of a confirmed (or possibly landed) write
///    or delete, per tier, after storage answered;
///  - the bus delivers keys changed elsewhere: the store drops them from its
///    cache and refuses the fills of reads that began before (coherence.hpp);
///  - the bus signals a gap when it cannot vouch that it delivered everything
///    (not yet subscribed, connection lost, messages possibly missed): the
///    store clears its cache and caches nothing until the gap closes.
///
/// And it bounds what it cannot see: staleness_bound(tier) is how long a
/// cache entry read from that tier may live when its invalidation can be
/// lost (a writer that dies between its write and its announcement).

#include "strata/core/clock.hpp"
#include "strata/core/config.hpp"
#include "strata/core/tier.hpp"

#include <concepts>     // std::same_as
#include <functional>   // std::function
#include <optional>     // std::optional
#include <span>         // std::span
#include <string_view>  // std::string_view

STRATA_BEGIN_NAMESPACE

/// What a bus calls back into its store with. Each member may be called from
/// the bus's own thread, concurrently with the store's calls; the store stays
/// valid until the bus is destroyed (it is destroyed before the store's cache).
struct BusSink {
  /// Keys another process wrote or deleted: drop them from the cache.
  std::function<void(std::span<const std::string_view> keys)> invalidate{};
  /// Everything may have changed (Redis FLUSHALL): drop the whole cache.
  std::function<void()> invalidate_all{};
  /// The bus can no longer vouch for delivery: clear the cache, fill nothing.
  std::function<void()> gap_opened{};
  /// Delivery is vouched for again, from now on: reads that begin now may fill.
  std::function<void()> gap_closed{};
};

/// A cross-process invalidation channel for TieredStore's sixth parameter.
///
/// Required: `static constexpr bool enabled`; `attach(BusSink)`, called once
/// by the store's constructor, after which the bus starts delivering (and,
/// until its first subscription is up, keeps the gap open);
/// `announce(Tier, std::span<const std::string_view>)` for keys the store
/// wrote or deleted in that tier (the keys' storage write has returned);
/// `staleness_bound(Tier) const -> std::optional<Millis>`: nullopt when every
/// change to that tier's keys reaches the bus even if the writer dies (server
/// assisted), else how long a cache entry read from that tier may be served.
/// Models: NoBus, RedisBus (strata/backends/redis_bus.hpp).
template <class B>
concept InvalidationBus = requires(B& bus, const B& cbus, BusSink sink, Tier tier,
                                   std::span<const std::string_view> keys) {
  { B::enabled } -> std::convertible_to<bool>;
  bus.attach(std::move(sink));
  bus.announce(tier, keys);
  { cbus.staleness_bound(tier) } -> std::same_as<std::optional<Millis>>;
};

/// No bus: the store is alone with its storage. Compiles out entirely: the
/// store keeps the instructions it has without a bus.
struct NoBus {
  /// False: TieredStore removes every use of the bus at compile time.
  static constexpr bool enabled = false;
  /// Nothing to deliver.
  void attach(const BusSink&) noexcept {}
  /// No one to tell.
  void announce(Tier, std::span<const std::string_view>) noexcept {}
  /// No bound: nothing else writes.
  std::optional<Millis> staleness_bound(Tier) const noexcept { return std::nullopt; }
};

STRATA_END_NAMESPACE
