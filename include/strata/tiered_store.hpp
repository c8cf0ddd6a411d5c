#pragma once
/// \file
/// TieredStore: the batch-first repository over a cache and up to three tiers,
/// composed at compile time from policies.
///
///     using Store = strata::TieredStore<strata::LruCache<>,
///     strata::FixedRouter<strata::Tier::hot>,
///                                       strata::MemoryRepository, strata::NoTier, strata::NoTier>;
///
/// Guarantees (each is pinned by a test named after it, tests/unit/laws_test.cpp):
///  - batch_set validates each item alone, groups the valid ones by tier, calls
///    store_many once per tier that has items, and caches only what a tier
///    reported stored.
///  - batch_get answers from the cache first, then one load_many per tier;
///    every envelope is verified (a checksum mismatch is an error, counted,
///    never a value); absent and failed are never confused.
///  - batch_delete erases from every tier (concurrently when they do I/O) and
///    invalidates the cache for every key whatever the tiers answered.
///  - set/get/erase answer as one-element batches: same bytes, TTL and cache state.
///  - an expired record is never returned by any path.
///  - of several writes of one key in a batch only the last is sent; the
///    earlier ones report its outcome.
///  - a value a lower tier answered because an upper tier failed is served,
///    never cached; a key whose write ended with an unknown outcome is not
///    filled into the cache until StoreOptions::unknown_outcome_hold passed.
///  - the cache stays a subset of storage under concurrent use
///    (cache/coherence.hpp explains how); with an invalidation bus (the sixth
///    parameter, ADR 15), also when other processes write the same storage,
///    within the bus's bound.
///
/// Thread safety: every member function may be called concurrently, provided
/// the repositories document the same (every strata repository does).

#include "strata/cache/coherence.hpp"
#include "strata/cache/no_cache.hpp"
#include "strata/core/batch_result.hpp"
#include "strata/core/clock.hpp"
#include "strata/core/concepts.hpp"
#include "strata/core/config.hpp"
#include "strata/core/envelope.hpp"
#include "strata/core/error.hpp"
#include "strata/core/invalidation_bus.hpp"
#include "strata/core/item_rules.hpp"
#include "strata/core/key.hpp"
#include "strata/core/last_write_wins.hpp"
#include "strata/core/load_result.hpp"
#include "strata/core/metrics.hpp"
#include "strata/core/no_tier.hpp"
#include "strata/core/record.hpp"
#include "strata/core/side_call.hpp"
#include "strata/core/single_flight.hpp"
#include "strata/core/small_array.hpp"
#include "strata/core/stats.hpp"
#include "strata/core/store_types.hpp"
#include "strata/core/tier.hpp"
#include "strata/core/tier_answer.hpp"

#include <array>             // std::array
#include <chrono>            // std::chrono::steady_clock
#include <cstddef>           // std::size_t
#include <cstdint>           // std::uint8_t
#include <functional>        // std::identity
#include <initializer_list>  // std::initializer_list

#include <memory>        // std::make_unique_for_overwrite
#include <optional>      // std::optional
#include <span>          // std::span
#include <string>        // std::string
#include <string_view>   // std::string_view
#include <system_error>  // std::system_category
#include <type_traits>   // std::is_same_v, std::integral_constant, std::enable_if_t
#include <utility>       // std::move, std::index_sequence
#include <vector>        // std::vector

#include <boost/hana/at.hpp>
#include <boost/hana/tuple.hpp>

STRATA_BEGIN_NAMESPACE

/// The batch-first repository: a `Cache` in front of up to three tiers (`Hot`, `Warm`, `Cold`;
/// NoTier for an absent one), with `Router` sending each key to one tier, and `Bus` carrying
/// invalidations between processes (NoBus: none), and `Stats` counting calls per tier
/// (StripedStats; NoStats counts nothing and compiles out), and `Metrics` timing each tier call
/// (NoMetrics: compiled out; StripedMetrics: latency histograms, core/metrics.hpp), and
/// `SingleFlight` letting reads that miss the same keys at once load them once (NoSingleFlight:
/// compiled out; BatchSingleFlight, core/single_flight.hpp). Every policy is checked against its
/// concept at compile time (core/concepts.hpp); see the file's description for the guarantees.
template <class Cache, class Router, class Hot, class Warm, class Cold, class Bus = NoBus,
          class Stats = StripedStats, class Metrics = NoMetrics,
          class SingleFlight = NoSingleFlight>
class TieredStore {
  static_assert(detail::diagnose_cache_policy<Cache>());
  static_assert(detail::diagnose_router<Router>());
  static_assert(detail::diagnose_repository<Hot>());
  static_assert(detail::diagnose_repository<Warm>());
  static_assert(detail::diagnose_repository<Cold>());
  static_assert(InvalidationBus<Bus>,
                "strata::TieredStore: Bus must model strata::InvalidationBus "
                "(core/invalidation_bus.hpp), or be strata::NoBus");
  static_assert(StatsPolicy<Stats>,
                "strata::TieredStore: Stats must model strata::StatsPolicy (core/stats.hpp): "
                "strata::StripedStats or strata::NoStats");
  static_assert(MetricsPolicy<Metrics>,
                "strata::TieredStore: Metrics must model strata::MetricsPolicy "
                "(core/metrics.hpp): strata::NoMetrics or strata::StripedMetrics");
  static_assert(SingleFlightPolicy<SingleFlight>,
                "strata::TieredStore: SingleFlight must model strata::SingleFlightPolicy "
                "(core/single_flight.hpp): strata::NoSingleFlight or strata::BatchSingleFlight");

  using Tiers = boost::hana::tuple<Hot, Warm, Cold>;

  template <std::size_t I>
  using RepoAt = std::remove_cvref_t<decltype(boost::hana::at_c<I>(std::declval<Tiers&>()))>;

  template <std::size_t I>
  static constexpr bool present = !std::is_same_v<RepoAt<I>, NoTier>;

  static constexpr std::array<bool, tier_count> present_tiers{present<0>, present<1>, present<2>};
  static_assert(present<0> || present<1> || present<2>,
                "strata::TieredStore needs at least one tier that is not NoTier");

  static constexpr bool router_avoids_absent_tiers() {
    if constexpr (requires { Router::routes_to(Tier::hot); }) {
      for (Tier tier : all_tiers)
        if (!present_tiers[index_of(tier)] && Router::routes_to(tier)) return false;
    }
    return true;
  }
  static_assert(router_avoids_absent_tiers(),
                "strata::TieredStore: the router can route keys to a tier this store is "
                "composed without (NoTier)");

  static constexpr bool caching = !std::is_same_v<Cache, NoCache>;
  /// Whether reads that miss the same keys at once load them once.
  static constexpr bool flighted = SingleFlight::enabled;
  /// Whether the cache must hear of other processes' writes.
  static constexpr bool bussed = caching && Bus::enabled;
  using Guard = detail::CoherenceGuard<bussed>;

  /// Per-call scratch: inline for small batches, one allocation for large ones.
  template <class T>
  using Scratch = detail::SmallArray<T, 16>;
  static constexpr std::uint8_t unrouted = 0xFF;

  /// The CachePolicy.
 public:
  using cache_type = Cache;
  using router_type = Router;               ///< the Router
  using bus_type = Bus;                     ///< the InvalidationBus
  using stats_type = Stats;                 ///< the StatsPolicy
  using metrics_type = Metrics;             ///< the MetricsPolicy
  using single_flight_type = SingleFlight;  ///< the SingleFlightPolicy

  /// Default-constructs every policy. A store is neither copyable nor movable
  /// (it owns live counters and the cache's coherence state): share it by
  /// reference, or hold it in a std::unique_ptr.
  TieredStore() { attach_bus(); }

  /// Takes the repositories, cache, router and bus by value (they are movable
  /// handles); `options.clock` should be the clock the repositories were given.
  explicit TieredStore(StoreOptions options, Hot hot = {}, Warm warm = {}, Cold cold = {},
                       Cache cache = {}, Router router = {}, Bus bus = {})
      : options_(options),
        tiers_(std::move(hot), std::move(warm), std::move(cold)),
        cache_(std::move(cache)),
        router_(std::move(router)),
        bus_(std::move(bus)) {
    attach_bus();
  }

  TieredStore(const TieredStore&) = delete;             ///< not copyable (see above)
  TieredStore& operator=(const TieredStore&) = delete;  ///< not copyable (see above)

  // ---- single key: one-element batches, so the two paths cannot drift -----
  // (except that a store with nothing to keep coherent takes write_one /
  // read_one, built from the same checks and steps, and tested against the
  // batch path outcome by outcome)

  /// Stores one value (with the codec tag a typed writer gives it); the error
  /// is empty when it was stored. Answers as batch_set({{key, value, ttl, codec_tag}}).
  /// Always inlined, as write_one is into it: out of line, the call and the
  /// Item it passes cost 37 of a bare set's ~830 instructions (issue 21).
  [[gnu::always_inline]] std::error_code set(std::string_view key, std::string_view value,
                                             Millis ttl = Millis{0}, std::uint8_t codec_tag = 0) {
    const Item item{key, value, ttl, codec_tag};
    if constexpr (bare_writes) return write_one(item);
    const BatchResult result = write(std::span<const Item>(&item, 1), /*attach_keys=*/false);
    return result.error(0);  // empty when stored
  }

  /// The value, absent, or the error; exactly batch_get({key}, mode)[0].
  Lookup get(std::string_view key, ReadMode mode = ReadMode::cached) {
    if constexpr (bare_reads) return read_one(key);
    LoadResult result = read(std::span<const std::string_view>(&key, 1), mode);
    return std::move(result[0]);
  }

  /// Exactly batch_delete({key}).
  DeleteResult erase(std::string_view key) {
    return remove(std::span<const std::string_view>(&key, 1));
  }

  // ---- batches -------------------------------------------------------------

  /// Stores the items: each invalid one fails alone, the rest go to their
  /// tiers in one store_many per tier. The result names, per input position,
  /// stored or the error, and carries the input keys.
  BatchResult batch_set(std::span<const Item> items) { return write(items, true); }
  /// The same, for a braced list of items.
  BatchResult batch_set(std::initializer_list<Item> items) {
    return write(std::span<const Item>(items.begin(), items.size()), true);
  }

  /// Per key, in input order: the value, absent, or the error. Cache first
  /// (unless `mode` is ReadMode::refresh), then one load_many per tier for the misses.
  LoadResult batch_get(std::span<const std::string_view> keys, ReadMode mode = ReadMode::cached) {
    return read(keys, mode);
  }
  /// batch_get's answer written into `result`, which a caller reading in a
  /// loop keeps: its value strings are reused, so that a tier answering for
  /// the whole batch through `load_many_into` (Redis, PostgreSQL) copies
  /// each value into the string that held the last one instead of
  /// allocating a new one. Nothing of the earlier contents survives.
  void batch_get_into(std::span<const std::string_view> keys, LoadResult& result,
                      ReadMode mode = ReadMode::cached) {
    read_into(keys, mode, result);
  }
  /// The same, for a braced list of keys.
  LoadResult batch_get(std::initializer_list<std::string_view> keys,
                       ReadMode mode = ReadMode::cached) {
    return read(std::span<const std::string_view>(keys.begin(), keys.size()), mode);
  }
  /// Any range of things convertible to std::string_view (std::vector<std::string>, ...).
  template <class KeyRange>
  requires(!std::is_convertible_v<const KeyRange&, std::span<const std::string_view>>) LoadResult
      batch_get(const KeyRange& keys, ReadMode mode = ReadMode::cached) {
    const auto views = to_views(keys);
    return read(views, mode);
  }

  /// Erases the keys from every tier and invalidates them in the cache,
  /// whatever the tiers answered.
  DeleteResult batch_delete(std::span<const std::string_view> keys) { return remove(keys); }
  /// The same, for a braced list of keys.
  DeleteResult batch_delete(std::initializer_list<std::string_view> keys) {
    return remove(std::span<const std::string_view>(keys.begin(), keys.size()));
  }
  /// Any range of things convertible to std::string_view.
  template <class KeyRange>
  requires(!std::is_convertible_v<const KeyRange&, std::span<const std::string_view>>) DeleteResult
      batch_delete(const KeyRange& keys) {
    const auto views = to_views(keys);
    return remove(views);
  }

  /// Writes already-encoded records into tier T verbatim (times, expiry and
  /// checksum preserved), whatever the router says: the path of rehydrate and
  /// restore. Each envelope is verified first; a bad key or envelope fails
  /// alone. For keys that route to T the cache is invalidated, never populated:
  /// a bulk copy of a million records must not evict the working set the
  /// cache holds (the next read of a key fills it). For other keys the
  /// store's answer does not change, so the cache is not touched.
  template <Tier T>
  BatchResult store_records(std::span<const Record> records) {
    return store_records_checked<T, true>(records);
  }
  /// The same for records whose envelopes the caller has just verified, with
  /// their expiry set from them (see EnvelopesVerified): rehydrate's path.
  template <Tier T>
  BatchResult store_records(std::span<const Record> records, EnvelopesVerified) {
    return store_records_checked<T, false>(records);
  }

  /// Erases the keys from tier T only — demote's path, where each record
  /// lives on in a lower tier — and invalidates them in the cache whatever
  /// the tier answered. Invalid keys are skipped (they cannot be stored).
  template <Tier T>
  EraseResult erase_records(std::span<const std::string_view> keys) {
    constexpr std::size_t I = index_of(T);
    static_assert(present<I>, "strata::TieredStore::erase_records: the store has no such tier");
    EraseResult erased;
    erase_invalidating(
        keys,
        [&](std::span<const std::string_view> valid) {
          erased = as_erase_result(timed<I, TierOperation::erase_many>(
              valid.size(), [&] { return boost::hana::at_c<I>(tiers_).erase_many(valid); }));
          counters_.record(T, valid.size(), erased.error ? valid.size() : 0);
          if constexpr (Bus::enabled) bus_.announce(T, valid);
        },
        [&] { return write_may_still_land(erased.error); });
    return erased;
  }

  // ---- access --------------------------------------------------------------

  /// The repository of tier T, for operations and tests that go around the cache.
  template <Tier T>
  auto& tier() noexcept {
    return boost::hana::at_c<index_of(T)>(tiers_);
  }
  /// The cache, for tests and for operations that invalidate around the store.
  Cache& cache() noexcept { return cache_; }
  /// The router.
  const Router& router() const noexcept { return router_; }
  /// The invalidation bus.
  Bus& bus() noexcept { return bus_; }
  /// The single-flight policy (BatchSingleFlight::joined_keys() counts the
  /// keys reads answered from another read's load).
  SingleFlight& single_flight() noexcept { return flights_; }
  /// The options the store was made with.
  const StoreOptions& options() const noexcept { return options_; }
  /// The store's counters, as a snapshot (see StoreStats); only with a
  /// counting Stats policy (a NoStats store has no stats()).
  // A defaulted template argument, not a requires-clause: Doxygen 1.9.4
  // misreads the members after one as public and undocumented.
  template <class Counting = Stats, class = std::enable_if_t<Counting::enabled>>
  StoreStats stats() const noexcept {
    return counters_.snapshot();
  }
  /// Latency histograms of the store's tier calls, as a snapshot; only with
  /// a recording Metrics policy (StripedMetrics).
  template <class Recording = Metrics, class = std::enable_if_t<Recording::enabled>>
  MetricsSnapshot metrics() const noexcept {
    return metrics_.snapshot();
  }

 private:
  // ---- tier dispatch ---------------------------------------------------------

  /// `call()`, a call of `operation` to tier I carrying `keys` keys, timed
  /// when the Metrics policy records (otherwise no clock is read).
  template <std::size_t I, TierOperation operation, class Call>
  auto timed(std::size_t keys, Call&& call) {
    if constexpr (Metrics::enabled) {
      const auto start = std::chrono::steady_clock::now();
      auto result = std::forward<Call>(call)();
      metrics_.record(static_cast<Tier>(I), operation, std::chrono::steady_clock::now() - start,
                      keys);
      return result;
    } else {
      return std::forward<Call>(call)();
    }
  }

  /// Calls f(std::integral_constant<std::size_t, I>) for every present tier I.
  template <class F>
  static void for_each_present(F&& f) {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (
          [&] {
            if constexpr (present<I>) f(std::integral_constant<std::size_t, I>{});
          }(),
          ...);
    }
    (std::make_index_sequence<tier_count>{});
  }

  template <class KeyRange>
  static std::vector<std::string_view> to_views(const KeyRange& keys) {
    std::vector<std::string_view> views;
    if constexpr (requires { keys.size(); }) views.reserve(keys.size());
    for (const auto& key : keys) views.emplace_back(key);
    return views;
  }

  template <class R>
  static EraseResult as_erase_result(R&& r) {
    if constexpr (std::is_same_v<std::remove_cvref_t<R>, EraseResult>)
      return r;
    else
      return EraseResult{static_cast<std::size_t>(r), {}};
  }

  /// store_records, decoding each envelope first when `verify` (the caller
  /// has not).
  template <Tier T, bool verify>
  BatchResult store_records_checked(std::span<const Record> records) {
    constexpr std::size_t I = index_of(T);
    static_assert(present<I>, "strata::TieredStore::store_records: the store has no such tier");
    const std::size_t n = records.size();

    BatchResult result(n);
    result.attach_keys(records, &Record::key);
    Scratch<Record> valid(n);
    Scratch<std::size_t> position(n);
    Scratch<std::string_view> open_keys(n);
    Scratch<std::uint8_t> usable(n);
    Scratch<std::optional<TimePoint>> expiry(n);
    for (std::size_t i = 0; i < n; ++i) {
      open_keys[i] = {};
      usable[i] = false;
      if (!is_valid_key(records[i].key)) {
        result.mark_failed(i, errc::invalid_key);
        continue;
      }
      if constexpr (verify) {
        const DecodedEnvelope decoded = decode_envelope(records[i].key, records[i].envelope);
        if (!decoded) {
          result.mark_failed(i, decoded.error);
          continue;
        }
        expiry[i] = decoded.envelope.meta.expires_at;
      } else {
        expiry[i] = records[i].expires_at;
      }
      usable[i] = true;
    }
    Scratch<std::uint32_t> next_same(n);
    detail::find_superseded(
        n, [&](std::size_t i) { return records[i].key; }, [&](std::size_t i) { return usable[i]; },
        next_same.data());
    std::size_t m = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (!usable[i] || next_same[i] != detail::not_superseded) continue;
      valid[m] = Record{records[i].key, records[i].envelope, expiry[i]};
      position[m++] = i;
      if (router_(records[i].key) == T) open_keys[i] = records[i].key;
    }
    std::optional<OpenWrites> open;
    if constexpr (caching) open.emplace(*this, open_keys.span());
    if (m > 0) store_slice<I>(valid.span().first(m), position.data(), result);
    if constexpr (flighted) flights_.forget(valid.span().first(m), &Record::key);
    if constexpr (caching) {
      hold_unsettled(*open, result);
      open->close_invalidating();
    }
    if constexpr (Bus::enabled) announce_written(T, valid.span().first(m), position.data(), result);
    detail::settle_superseded(result, n, next_same.data());
    return result;
  }

  // ---- write -----------------------------------------------------------------

  /// The writes a batch has open in the coherence guard. Opening invalidates
  /// every key; closing ends the writes, filling the cache only where the
  /// guard allows; the destructor closes if the batch did not (a repository
  /// threw), so an exception can cost cache fills but never leave a stripe
  /// marked in flight for ever.
  struct OpenWrites {
    TieredStore& store;
    std::span<const std::string_view> keys;  // empty at positions with no open write
    Scratch<std::uint32_t> order;            // open positions, grouped by stripe
    Scratch<std::uint16_t> stripe;           // stripe of each open input position
    /// Per group of one stripe, at its first slot in `order`.
    struct Group {
      typename Guard::Ticket ticket;  ///< the group's write in the coherence guard
      std::uint32_t end;              ///< one past the group's last slot in `order`
    };
    Scratch<Group> groups;
    std::size_t open = 0;
    bool closed = false;

    OpenWrites(TieredStore& owner, std::span<const std::string_view> open_keys)
        : store(owner),
          keys(open_keys),
          order(open_keys.size()),
          stripe(open_keys.size()),
          groups(open_keys.size()) {
      for (std::size_t i = 0; i < keys.size(); ++i) {
        if (keys[i].empty()) continue;
        stripe[i] = static_cast<std::uint16_t>(Guard::stripe_of(keys[i]));
        order[open++] = static_cast<std::uint32_t>(i);
      }
      // Stripe then input order: each group begins once, and duplicate keys
      // (always in one group) settle in input order, so the last one wins.
      detail::order_by_stripe(order.data(), stripe.data(), open);
      for (std::size_t first = 0; first < open; first = groups[first].end)
        groups[first].end = static_cast<std::uint32_t>(
            detail::stripe_run_end(order.data(), stripe.data(), open, first));
      Scratch<std::string_view> begun(open);  // the open keys, by stripe
      for (std::size_t j = 0; j < open; ++j) begun[j] = keys[order[j]];
      for_each_group([&](std::size_t first, std::size_t) {
        groups[first].ticket = store.coherence_.begin_write(stripe[order[first]]);
      });
      // Every stripe begun: nothing can cache these keys until the write
      // ends, so one erase drops what was cached before (a lock per shard).
      try {
        detail::erase_from_cache(store.cache_, begun.span());
      } catch (...) {
        close_invalidating();  // the destructor of a half-built object never runs
        throw;
      }
    }
    OpenWrites(const OpenWrites&) = delete;
    OpenWrites& operator=(const OpenWrites&) = delete;

    /// Ends every open write: the stored value cached, per the cache's write
    /// policy, where no other write overlapped; otherwise the key stays out
    /// of the cache. Nothing needs erasing here: the constructor erased every
    /// open key under its stripe's lock, and nothing can cache a key of the
    /// stripe until this write ends (a read's fill needs no write in flight,
    /// another write's put a ticket this write's begin made stale).
    template <class ValueAt, class ExpiryAt, class TagAt>
    void close(const BatchResult& result, ValueAt value_at, ExpiryAt expires_at, TagAt tag_at) {
      if constexpr (detail::cache_populates_on_write<Cache>()) {
        settle([&](bool may_fill, std::size_t i) {
          if (may_fill && result.stored(i))
            store.cache_.put(keys[i], value_at(i), expires_at(i), tag_at(i));
        });
      } else {
        close_invalidating();
      }
    }
    /// Ends every open write and caches nothing: the keys stay invalidated.
    void close_invalidating() {
      settle([](bool, std::size_t) {});
    }
    /// Holds the fills of every stripe with an open key for which
    /// `may_land(i)` is true, until `until`. Before close: the writes still
    /// count as in flight, so no read can begin in between.
    template <class MayLand>
    void hold_fills(TimePoint until, MayLand may_land) {
      for_each_group([&](std::size_t first, std::size_t last) {
        for (std::size_t j = first; j < last; ++j)
          if (may_land(order[j])) {
            store.coherence_.hold_fills(stripe[order[first]], until);
            return;
          }
      });
    }
    ~OpenWrites() {
      if (!closed) close_invalidating();
    }

   private:
    // The groups were found once, in the constructor: this loop is all each
    // caller instantiates.
    template <class F>
    void for_each_group(F f) {
      for (std::size_t first = 0; first < open; first = groups[first].end)
        f(first, groups[first].end);
    }
    template <class Apply>
    void settle(Apply apply) {
      for_each_group([&](std::size_t first, std::size_t last) {
        store.coherence_.end_write(stripe[order[first]], groups[first].ticket, [&](bool may_fill) {
          for (std::size_t j = first; j < last; ++j) apply(may_fill, order[j]);
        });
      });
      closed = true;
    }
  };

  /// Why `item` cannot be written (success if it can), and when it can, the
  /// index of its tier in `route`. Every write path checks items here.
  std::error_code check_item(const Item& item, Millis longest_ttl, std::uint8_t& route) const {
    if (const errc error = detail::item_error(item, options_.max_value_bytes, longest_ttl);
        error != errc{})
      return error;
    const Tier tier = router_(item.key);
    if (!present_tiers[index_of(tier)]) return errc::tier_not_configured;
    route = static_cast<std::uint8_t>(index_of(tier));
    return {};
  }

  /// The envelope header of `item` written at `now`.
  static EnvelopeMeta meta_of(const Item& item, TimePoint now) noexcept {
    EnvelopeMeta meta{now, now, std::nullopt, item.codec_tag};
    if (item.ttl > Millis{0}) meta.expires_at = now + item.ttl;
    return meta;
  }

  // A store with no cache and no bus has nothing to keep coherent: a single
  // set is check, encode, one store_many, exactly what write() does for one
  // item without its batch bookkeeping (issue 21: the hand-written cost).
  static constexpr bool bare_writes = !caching && !Bus::enabled && !flighted;

  [[gnu::always_inline]] std::error_code write_one(const Item& item) {
    const TimePoint now = options_.clock.now();
    std::uint8_t route = unrouted;
    if (const std::error_code error = check_item(item, latest_expiry - now, route)) return error;
    const EnvelopeMeta meta = meta_of(item, now);
    const std::size_t size = encoded_envelope_size(item.value.size());
    if (size > stack_envelope_bytes) [[unlikely]]
      return write_one_on_heap(item.key, item.value, meta, route);
    char envelope[stack_envelope_bytes];
    return store_encoded(item.key, item.value, meta, route, envelope);
  }

  // A single set's envelope up to this size is encoded on the stack; a larger
  // one on the heap, out of line, so the common path has no owner to test and
  // free (issue 21: ~10 of a bare set's instructions).
  static constexpr std::size_t stack_envelope_bytes = 512;

  [[gnu::noinline]] std::error_code write_one_on_heap(std::string_view key, std::string_view value,
                                                      EnvelopeMeta meta, std::uint8_t route) {
    const auto envelope =
        std::make_unique_for_overwrite<char[]>(encoded_envelope_size(value.size()));
    return store_encoded(key, value, meta, route, envelope.get());
  }

  /// Encodes the envelope of `key` and `value` into `envelope` (room for
  /// encoded_envelope_size(value.size()) bytes) and stores it in tier `route`.
  [[gnu::always_inline]] std::error_code store_encoded(std::string_view key, std::string_view value,
                                                       const EnvelopeMeta& meta,
                                                       [[maybe_unused]] std::uint8_t route,
                                                       char* envelope) {
    encode_envelope_into(envelope, key, meta, value);
    const Record record{key, std::string_view(envelope, encoded_envelope_size(value.size())),
                        meta.expires_at};
    if constexpr (tiers_present == 1) {
      return store_one<only_tier>(record);  // check_item routed it there
    } else {
      std::error_code error = make_error_code(errc::tier_not_configured);  // check_item routed it
      for_each_present([&](auto index) {
        constexpr std::size_t I = decltype(index)::value;
        if (route == I) error = store_one<I>(record);
      });
      return error;
    }
  }

  /// One record through tier I's store_many: what store_slice does for a batch of one.
  template <std::size_t I>
  std::error_code store_one(const Record& record) {
    const BatchResult stored = timed<I, TierOperation::store_many>(
        1, [&] { return boost::hana::at_c<I>(tiers_).store_many(std::span(&record, 1)); });
    const bool ok = !stored.empty() && stored.stored(0);
    counters_.record(static_cast<Tier>(I), 1, ok ? 0 : 1);
    if (ok) return {0, *success_category_};
    return stored.empty() ? make_error_code(errc::outcome_unknown) : stored.error(0);
  }

  BatchResult write(std::span<const Item> items, bool attach_keys) {
    const std::size_t n = items.size();
    BatchResult result(n);
    if (attach_keys) result.attach_keys(items, &Item::key);
    const TimePoint now = options_.clock.now();
    // The longest TTL whose expiry every tier can hold; computed once, so the
    // check below cannot overflow however large a TTL is.
    const Millis longest_ttl = latest_expiry - now;

    // Validate and route every item; each bad one fails alone.
    Scratch<std::uint8_t> route(n, unrouted);
    std::array<std::size_t, tier_count> count{};
    for (std::size_t i = 0; i < n; ++i) {
      if (const std::error_code error = check_item(items[i], longest_ttl, route[i]))
        result.mark_failed(i, error);
    }

    // Only the last write of a key is sent (see core/last_write_wins.hpp).
    Scratch<std::uint32_t> next_same(n);
    const bool any_superseded =
        detail::find_superseded(
            n, [&](std::size_t i) { return items[i].key; },
            [&](std::size_t i) { return route[i] != unrouted; }, next_same.data()) > 0;
    const auto sent = [&](std::size_t i) {
      return route[i] != unrouted && next_same[i] == detail::not_superseded;
    };
    std::size_t arena_bytes = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (!sent(i)) continue;
      ++count[route[i]];
      arena_bytes += encoded_envelope_size(items[i].value.size());
    }

    // Encode every envelope into one buffer, records grouped by tier in input
    // order (a stable counting sort).
    std::array<std::size_t, tier_count> begin{0, count[0], count[0] + count[1]};
    std::array<std::size_t, tier_count> next = begin;
    const std::size_t valid = count[0] + count[1] + count[2];
    Scratch<Record> records(valid);
    Scratch<std::size_t> position(valid);
    detail::SmallArray<char, 512> arena(arena_bytes);
    std::size_t offset = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (!sent(i)) continue;
      const Item& item = items[i];
      const EnvelopeMeta meta = meta_of(item, now);
      const std::size_t size = encoded_envelope_size(item.value.size());
      encode_envelope_into(arena.data() + offset, item.key, meta, item.value);
      const std::size_t slot = next[route[i]]++;
      records[slot] =
          Record{item.key, std::string_view(arena.data() + offset, size), meta.expires_at};
      position[slot] = i;
      offset += size;
    }

    std::optional<Scratch<std::string_view>> open_keys;
    std::optional<OpenWrites> open;
    if constexpr (caching) {
      open_keys.emplace(n);
      for (std::size_t i = 0; i < n; ++i)
        (*open_keys)[i] = sent(i) ? items[i].key : std::string_view{};
      open.emplace(*this, open_keys->span());
    }

    for_each_present([&](auto index) {
      constexpr std::size_t I = decltype(index)::value;
      if (count[I] == 0) return;
      store_slice<I>(records.span().subspan(begin[I], count[I]), position.data() + begin[I],
                     result);
    });
    if constexpr (flighted) flights_.forget(records.span(), &Record::key);

    if constexpr (caching) {
      hold_unsettled(*open, result);
      open->close(
          result, [&](std::size_t i) { return items[i].value; },
          [&](std::size_t i) {
            const auto expires = items[i].ttl > Millis{0}
                                     ? std::optional<TimePoint>(now + items[i].ttl)
                                     : std::nullopt;
            return cache_expiry(route[i], expires, now);
          },
          [&](std::size_t i) { return items[i].codec_tag; });
    }
    if constexpr (Bus::enabled) {
      for_each_present([&](auto index) {
        constexpr std::size_t I = decltype(index)::value;
        if (count[I] == 0) return;
        announce_written(static_cast<Tier>(I), records.span().subspan(begin[I], count[I]),
                         position.data() + begin[I], result);
      });
    }
    if (any_superseded) detail::settle_superseded(result, n, next_same.data());
    return result;
  }

  /// Tells the bus which records of a slice written to `tier` changed (or may
  /// have: an unknown outcome may still land), after storage answered.
  void announce_written(Tier tier, std::span<const Record> slice, const std::size_t* positions,
                        const BatchResult& result) {
    Scratch<std::string_view> changed(slice.size());
    std::size_t m = 0;
    for (std::size_t j = 0; j < slice.size(); ++j) {
      const std::size_t i = positions[j];
      if (result.stored(i) || write_may_still_land(result.error(i))) changed[m++] = slice[j].key;
    }
    if (m > 0) bus_.announce(tier, std::span<const std::string_view>(changed.data(), m));
  }

  /// How long a value read from (or written to) `tier` may stay cached: its
  /// expiry, capped by the bus's staleness bound for the tier, if any.
  std::optional<TimePoint> cache_expiry(std::size_t tier, std::optional<TimePoint> expires,
                                        TimePoint now) const {
    if constexpr (bussed) {
      if (const std::optional<Millis> bound = bus_.staleness_bound(static_cast<Tier>(tier))) {
        const TimePoint cap = now + *bound;
        return expires && *expires < cap ? expires : cap;
      }
    }
    return expires;
  }

  /// Gives the bus the store's side: invalidations and gaps go through the
  /// coherence guard. A store without a cache still announces (other
  /// processes' caches need it) and has nothing to invalidate.
  void attach_bus() {
    if constexpr (bussed) {
      bus_.attach(BusSink{.invalidate =
                              [this](std::span<const std::string_view> keys) {
                                for (const std::string_view key : keys)
                                  coherence_.invalidate(key, [&] { cache_.erase(key); });
                                if constexpr (flighted) flights_.forget(keys);
                              },
                          .invalidate_all =
                              [this] {
                                coherence_.invalidate_all([this] { cache_.clear(); });
                                if constexpr (flighted) flights_.forget_all();
                              },
                          .gap_opened =
                              [this] {
                                coherence_.open_gap([this] { cache_.clear(); });
                                if constexpr (flighted) flights_.forget_all();
                              },
                          .gap_closed = [this] { coherence_.close_gap(); }});
    } else if constexpr (Bus::enabled) {
      bus_.attach(BusSink{});
    }
  }

  /// Holds cache fills for the open keys whose write may still land.
  void hold_unsettled(OpenWrites& open, const BatchResult& result) {
    if (options_.unknown_outcome_hold <= Millis{0} || result.all_stored()) return;
    open.hold_fills(hold_deadline(), [&](std::size_t i) {
      return !result.stored(i) && write_may_still_land(result.error(i));
    });
  }

  /// When a hold begun now ends (saturating: a huge hold never overflows).
  TimePoint hold_deadline() const noexcept {
    const TimePoint now = options_.clock.now();
    return options_.unknown_outcome_hold >= TimePoint::max() - now
               ? TimePoint::max()
               : now + options_.unknown_outcome_hold;
  }

  /// One store_many on tier I; each record's outcome lands at its input
  /// position (`positions[j]` for record j).
  template <std::size_t I>
  void store_slice(std::span<const Record> slice, const std::size_t* positions,
                   BatchResult& result) {
    const BatchResult stored = timed<I, TierOperation::store_many>(
        slice.size(), [&] { return boost::hana::at_c<I>(tiers_).store_many(slice); });
    const std::size_t failures = detail::place_outcomes(stored, slice.size(), positions, result);
    counters_.record(static_cast<Tier>(I), slice.size(), failures);
  }

  // ---- read ------------------------------------------------------------------

  // With no cache and one tier there is nothing to fill and nowhere to fall
  // back to: a single get is check, one load_many, decode, exactly what
  // read() does for one key without its batch bookkeeping.
  static constexpr std::size_t tiers_present = present<0> + present<1> + present<2>;
  static constexpr bool bare_reads = !caching && tiers_present == 1 && !flighted;
  static constexpr std::size_t only_tier = present<0> ? 0 : present<1> ? 1 : 2;

  Lookup read_one(std::string_view key) {
    const auto failed = [](errc error) {
      return Lookup{LookupStatus::failed, {}, make_error_code(error), 0};
    };
    if (!is_valid_key(key)) return failed(errc::invalid_key);
    if (index_of(router_(key)) != only_tier) return failed(errc::tier_not_configured);
    constexpr Tier tier = static_cast<Tier>(only_tier);
    LoadResult loaded = timed<only_tier, TierOperation::load_many>(1, [&] {
      return boost::hana::at_c<only_tier>(tiers_).load_many(
          std::span<const std::string_view>(&key, 1));
    });
    if (loaded.size() == 0) {
      counters_.record(tier, 1, 1);
      return failed(errc::outcome_unknown);
    }
    Lookup& slot = loaded[0];
    std::uint64_t failures = 0, bad_checksums = 0;
    if (slot.failed()) {
      ++failures;
      loaded.set_failed(0, slot.error);  // an empty error reads as outcome_unknown
    } else if (slot.found()) {
      const DecodedEnvelope decoded = decode_envelope(key, slot.value);
      const auto expires = decoded ? decoded.envelope.meta.expires_at : std::nullopt;
      if (!decoded) {
        ++failures;
        bad_checksums += decoded.error == errc::checksum_mismatch;
        loaded.set_failed(0, decoded.error);
      } else if (expires && is_expired(*expires, options_.clock.now())) {
        loaded.set_absent(0);
      } else {
        // The value is the envelope's tail: shift it down in place, no allocation.
        slot.value.erase(0, decoded.envelope.header_size);
        slot.codec_tag = decoded.envelope.meta.codec_tag;
      }
    }
    counters_.record(tier, 1, failures, bad_checksums);
    return std::move(slot);
  }

  LoadResult read(std::span<const std::string_view> keys, ReadMode mode = ReadMode::cached) {
    LoadResult result;
    read_into(keys, mode, result);
    return result;
  }

  void read_into(std::span<const std::string_view> keys, ReadMode mode, LoadResult& result) {
    const std::size_t n = keys.size();
    // Sized on first use (`result` may hold an earlier read's answer): when
    // one tier answers for every key (a single-key get, a single-tier batch)
    // that tier writes its answer into `result` (load_many_into) or the store
    // adopts its LoadResult, and decodes it in place, instead of allocating a
    // second one.
    bool sized_yet = false;
    const auto sized = [&]() -> LoadResult& {
      if (!sized_yet) result.reset(n);
      sized_yet = true;
      return result;
    };
    // Read once, when first needed: a store without a cache needs the time
    // only for an envelope that carries an expiry.
    std::optional<TimePoint> clock_read;
    const auto now = [&] {
      if (!clock_read) clock_read = options_.clock.now();
      return *clock_read;
    };

    Scratch<std::uint8_t> route(n, unrouted);
    Scratch<typename Guard::Ticket> tickets(caching ? n : 0, Guard::no_fill);
    // Which keys an upper tier failed, when a failure falls back to a lower
    // tier: their first error is kept, and a lower tier's value is served but
    // never cached (the upper tier may hold a newer one once it recovers).
    Scratch<std::uint8_t> failed_above(
        options_.read_fallback == ReadFallback::on_miss_or_error ? n : 0, 0);
    const bool misses_fall_back = options_.read_fallback != ReadFallback::none;
    std::uint64_t hits = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (!is_valid_key(keys[i])) {
        sized().set_failed(i, errc::invalid_key);
        continue;
      }
      if constexpr (caching) {
        if (mode == ReadMode::refresh) {
          cache_.erase(keys[i]);  // what the tiers answer replaces it, or nothing does
        } else if (auto cached = cache_.find(keys[i], now())) {
          sized().set_found(i, std::move(cached->value), cached->codec_tag);
          ++hits;
          continue;
        }
        tickets[i] = coherence_.begin_read(keys[i], now());
      }
      const Tier tier = router_(keys[i]);
      if (!present_tiers[index_of(tier)]) {
        sized().set_failed(i, errc::tier_not_configured);
        continue;
      }
      route[i] = static_cast<std::uint8_t>(index_of(tier));
    }
    if constexpr (caching) counters_.cache(hits, n - hits);

    // A key another read is loading is waited for, not loaded again.
    [[maybe_unused]] std::optional<typename detail::FlightClaim<SingleFlight>::type> flight;
    if constexpr (flighted) {
      if (mode != ReadMode::refresh) {
        flight.emplace(flights_, keys, [&](std::size_t i) { return route[i] != unrouted; });
        flight->for_each_joined([&](std::size_t i) { route[i] = unrouted; });
      }
    }

    // Tiers in order hot -> cold, so that a fallback can hand a key down to a
    // lower tier still to come in this same pass.
    Scratch<std::string_view> batch_keys(n);
    Scratch<std::size_t> position(n);
    for_each_present([&](auto index) {
      constexpr std::size_t I = decltype(index)::value;
      const std::size_t m = gather_route(I, keys, route, batch_keys.data(), position.data());
      if (m == 0) return;
      const auto batch = std::span<const std::string_view>(batch_keys.data(), m);
      auto& repository = boost::hana::at_c<I>(tiers_);
      LoadResult loaded;
      bool asked = false, answered_in_place = false;
      if constexpr (detail::HasLoadManyInto<RepoAt<I>>) {
        if (!sized_yet && m == n) {  // the whole batch, in order: straight into `result`
          asked = true;
          timed<I, TierOperation::load_many>(m, [&] {
            repository.load_many_into(batch, result);
            return true;
          });
          answered_in_place = result.size() == n;
          if (!answered_in_place) std::swap(loaded, result);  // a short answer stays apart
        }
      }
      if (!asked)
        loaded = timed<I, TierOperation::load_many>(m, [&] { return repository.load_many(batch); });
      if (answered_in_place) sized_yet = true;
      // slot j: key j's answer
      LoadResult& source =
          answered_in_place ? result : detail::adopt_or_size(result, sized_yet, loaded, n, m);
      settle_answers(I, keys, position.data(), m, source, answered_in_place,
                     ReadPass{result, route, failed_above, tickets, clock_read, misses_fall_back});
    });
    if constexpr (flighted) {
      if (flight) {
        flight->publish(sized());  // before waiting: nobody waits on a read that waits
        flight->collect(sized());
      }
    }
    sized();  // an empty batch: nothing sized it
  }

  /// The keys routed to tier `tier` (`route[i] == tier`), in input order,
  /// into batch_keys with their input positions; returns how many.
  static std::size_t gather_route(std::size_t tier, std::span<const std::string_view> keys,
                                  const Scratch<std::uint8_t>& route, std::string_view* batch_keys,
                                  std::size_t* position) {
    std::size_t m = 0;
    for (std::size_t i = 0; i < keys.size(); ++i)
      if (route[i] == tier) {
        batch_keys[m] = keys[i];
        position[m++] = i;
      }
    return m;
  }

  /// What a read pass keeps across its tiers.
  struct ReadPass {
    LoadResult& result;                              ///< the answer, one slot per key
    Scratch<std::uint8_t>& route;                    ///< the tier each key is still to ask
    Scratch<std::uint8_t>& failed_above;             ///< keys an upper tier failed
    const Scratch<typename Guard::Ticket>& tickets;  ///< each key's cache fill ticket
    std::optional<TimePoint>& clock_read;            ///< the time, once read
    bool misses_fall_back;                           ///< a miss asks the next tier down
  };

  /// Settles tier `tier`'s answers to the m keys it was asked (`source[j]`
  /// answers the key at input position `position[j]`): each opened (decoded,
  /// its checksum checked), cached where the guard allows, and a failure or
  /// miss handed down to the next tier. Not per tier: one copy per store.
  void settle_answers(std::size_t tier, std::span<const std::string_view> keys,
                      const std::size_t* position, std::size_t m, LoadResult& source,
                      bool answered_in_place, ReadPass pass) {
    LoadResult& result = pass.result;
    const std::size_t lower = lower_present(tier);
    std::size_t failures = 0;
    std::size_t bad_checksums = 0;
    for (std::size_t j = 0; j < m; ++j) {
      const std::size_t i = position[j];
      pass.route[i] = unrouted;
      if (j >= source.size()) {
        ++failures;
        detail::settle_failure(result, pass.route, pass.failed_above, i, lower,
                               make_error_code(errc::outcome_unknown));
        continue;
      }
      Lookup& slot = source[j];
      const detail::OpenedSlot opened =
          detail::open_slot(keys[i], slot, options_.clock, pass.clock_read);
      bad_checksums += opened.bad_checksum;
      if (opened.status == LookupStatus::failed) {
        ++failures;
        detail::settle_failure(result, pass.route, pass.failed_above, i, lower, opened.error);
        continue;
      }
      if (opened.status == LookupStatus::absent) {
        detail::settle_absent(result, pass.route, pass.failed_above, i, pass.misses_fall_back,
                              lower);
        continue;
      }
      if constexpr (caching) {
        if (!detail::upper_failed(pass.failed_above, i)) {
          if (!pass.clock_read) pass.clock_read = options_.clock.now();
          coherence_.end_read(cache_, keys[i], pass.tickets[i], slot.value,
                              cache_expiry(tier, opened.expires_at, *pass.clock_read),
                              slot.codec_tag);
        }
      }
      // In place, `slot` is result[i]: found, opened, its tag set.
      if (!answered_in_place) result.set_found(i, std::move(slot.value), slot.codec_tag);
    }
    counters_.record(static_cast<Tier>(tier), m, failures, bad_checksums);
  }

  /// The next present tier below `from`, or tier_count.
  static constexpr std::size_t lower_present(std::size_t from) noexcept {
    for (std::size_t t = from + 1; t < tier_count; ++t)
      if (present_tiers[t]) return t;
    return tier_count;
  }

  // ---- delete ----------------------------------------------------------------

  DeleteResult remove(std::span<const std::string_view> keys) {
    DeleteResult out;
    erase_invalidating(
        keys,
        [&](std::span<const std::string_view> valid) {
          erase_everywhere(valid, out);
          if constexpr (Bus::enabled) announce_erased(valid);
        },
        [&] {
          for (const std::error_code& error : out.errors)
            if (write_may_still_land(error)) return true;
          return false;
        },
        &out.invalid_keys);
    return out;
  }

  /// Runs erase(valid keys) with the keys' writes open in the coherence guard,
  /// then invalidates them whatever the tiers answered: a delete never leaves
  /// a cached value behind. When `may_land()` says an erase may still be
  /// applied later, the keys' fills are held as after a write (hold_unsettled).
  /// An invalid key cannot be stored anywhere, so no tier is asked about it
  /// (its position goes to `invalid`, when given); erase is not called when
  /// no key is valid.
  template <class Erase, class MayLand>
  void erase_invalidating(std::span<const std::string_view> keys, Erase erase, MayLand may_land,
                          std::vector<std::size_t>* invalid = nullptr) {
    Scratch<std::string_view> valid_keys(keys.size());
    std::size_t m = 0;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (is_valid_key(keys[i]))
        valid_keys[m++] = keys[i];
      else if (invalid != nullptr)
        invalid->push_back(i);
    }
    const auto valid = std::span<const std::string_view>(valid_keys.data(), m);
    std::optional<OpenWrites> open;
    if constexpr (caching) open.emplace(*this, valid);
    if (m > 0) erase(valid);
    if constexpr (flighted) flights_.forget(valid);
    if constexpr (caching) {
      if (m > 0 && options_.unknown_outcome_hold > Millis{0} && may_land())
        open->hold_fills(hold_deadline(), [](std::size_t) { return true; });
      open->close_invalidating();
    }
  }

  /// Tells the bus of erased keys, grouped by the tier each routes to (a key
  /// copied to other tiers is cached, if at all, as its routed tier's value).
  void announce_erased(std::span<const std::string_view> keys) {
    Scratch<std::uint8_t> tier_of(keys.size());
    for (std::size_t i = 0; i < keys.size(); ++i)
      tier_of[i] = static_cast<std::uint8_t>(index_of(router_(keys[i])));  // routed once
    Scratch<std::string_view> routed(keys.size());
    for (std::size_t t = 0; t < tier_count; ++t) {
      std::size_t m = 0;
      for (std::size_t i = 0; i < keys.size(); ++i)
        if (tier_of[i] == t) routed[m++] = keys[i];
      if (m > 0)
        bus_.announce(static_cast<Tier>(t), std::span<const std::string_view>(routed.data(), m));
    }
  }

  // Which tiers do I/O: an erase overlaps their round trips.
  static constexpr std::array<bool, tier_count> does_io{
      present<0> && !detail::is_in_process<RepoAt<0>>(),
      present<1> && !detail::is_in_process<RepoAt<1>>(),
      present<2> && !detail::is_in_process<RepoAt<2>>()};

  /// Whether tier `tier` erases on a thread of its own: it does I/O and a
  /// lower tier does too. In-process tiers and the last I/O tier run on the
  /// caller's thread, which would otherwise only wait. Decided at compile
  /// time.
  static constexpr bool erases_on_own_thread(std::size_t tier) noexcept {
    if (!does_io[tier]) return false;
    for (std::size_t t = tier + 1; t < tier_count; ++t)
      if (does_io[t]) return true;
    return false;
  }

  void erase_everywhere(std::span<const std::string_view> keys, DeleteResult& out) {
    std::array<EraseResult, tier_count> results{};
    std::array<detail::SideCall<EraseResult>, tier_count> pending{};
    const auto run = [&](auto index) {
      constexpr std::size_t I = decltype(index)::value;
      return as_erase_result(timed<I, TierOperation::erase_many>(
          keys.size(), [&] { return boost::hana::at_c<I>(tiers_).erase_many(keys); }));
    };
    for_each_present([&](auto index) {
      constexpr std::size_t I = decltype(index)::value;
      if constexpr (erases_on_own_thread(I)) {
        // run is copied: should a later tier throw, run is destroyed before
        // pending, whose destructor waits for this call.
        if (pending[I].start([run, index] { return run(index); })) return;
        // No thread to be had: erase on this thread instead.
      }
      results[I] = run(index);
    });
    for_each_present([&](auto index) {
      constexpr std::size_t I = decltype(index)::value;
      if (pending[I].started()) results[I] = pending[I].get();
      out.erased_by_tier[I] = results[I].erased;
      out.errors[I] = results[I].error;
      out.erased += results[I].erased;
      counters_.record(static_cast<Tier>(I), keys.size(), results[I].error ? keys.size() : 0);
    });
  }

  StoreOptions options_{};
  Tiers tiers_{};
  Cache cache_{};
  Router router_{};
  Guard coherence_{};
  [[no_unique_address]] Stats counters_{};
  [[no_unique_address]] Metrics metrics_{};
  [[no_unique_address]] SingleFlight flights_{};
  // std::error_code{}'s category, read once: its constructor calls the
  // out-of-line std::system_category() on every success (issue 21).
  const std::error_category* success_category_ = &std::system_category();
  // Last: destroyed first, so its thread stops calling into the members above.
  Bus bus_{};
};

STRATA_END_NAMESPACE
