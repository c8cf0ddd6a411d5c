#pragma once
/// \file
/// The seams of strata: Repository, ScannableRepository, CachePolicy, Router.
///
/// Each concept has a `diagnose_*<T>()` companion that TieredStore calls; when
/// a type does not model the concept it stops at the first unmet requirement
/// with one static_assert naming the missing member, instead of a page of
/// template noise.

#include "strata/core/batch_result.hpp"
#include "strata/core/cached_value.hpp"
#include "strata/core/clock.hpp"
#include "strata/core/config.hpp"
#include "strata/core/load_result.hpp"
#include "strata/core/no_tier.hpp"
#include "strata/core/record.hpp"
#include "strata/core/tier.hpp"

#include <concepts>     // std::same_as, std::convertible_to
#include <cstddef>      // std::size_t
#include <cstdint>      // std::uint8_t
#include <optional>     // std::optional
#include <span>         // std::span
#include <string>       // std::string
#include <string_view>  // std::string_view
#include <type_traits>  // std::bool_constant

STRATA_BEGIN_NAMESPACE

namespace detail {

template <class R>
concept HasStoreMany = requires(R& r, std::span<const Record> records) {
  { r.store_many(records) } -> std::same_as<BatchResult>;
};
template <class R>
concept HasLoadMany = requires(R& r, std::span<const std::string_view> keys) {
  { r.load_many(keys) } -> std::same_as<LoadResult>;
};
/// The optional `load_many_into(keys, LoadResult&)`: load_many's answer
/// written into a result the caller reuses (TieredStore::batch_get_into).
template <class R>
concept HasLoadManyInto = requires(R& r, std::span<const std::string_view> keys,
                                   LoadResult& result) {
  r.load_many_into(keys, result);
};
template <class R>
concept HasEraseMany = requires(R& r, std::span<const std::string_view> keys) {
  requires(std::same_as<decltype(r.erase_many(keys)), std::size_t> ||
           std::same_as<decltype(r.erase_many(keys)), EraseResult>);
};
template <class R>
concept HasAtomicBatches = requires {
  typename std::bool_constant<R::atomic_batches>;
};
template <class R>
concept HasScan = requires(R& r, std::string_view prefix, std::string_view cursor, std::size_t n) {
  { r.scan(prefix, cursor, n) } -> std::same_as<ScanPage>;
};
/// The optional `scan_into(prefix, cursor, limit, ScanPage&)`: scan's page
/// written over a page the caller reuses (the page stream keeps two).
template <class R>
concept HasScanInto = requires(R& r, std::string_view prefix, std::string_view cursor,
                               std::size_t n, ScanPage& page) {
  r.scan_into(prefix, cursor, n, page);
};

/// `page` = repository.scan(prefix, cursor, limit), written over the page's
/// own strings where the repository can (scan_into).
template <class R>
void scan_over(R& repository, std::string_view prefix, std::string_view cursor, std::size_t limit,
               ScanPage& page) {
  if constexpr (HasScanInto<R>)
    repository.scan_into(prefix, cursor, limit, page);
  else
    page = repository.scan(prefix, cursor, limit);
}

}  // namespace detail

/// A storage tier's repository.
///
/// Required:
///   - `store_many(std::span<const Record>) -> BatchResult`: stores every record,
///     reporting per position whether it was stored or the error. One round
///     trip (or one pipeline) per call, never one per record.
///   - `load_many(std::span<const std::string_view>) -> LoadResult`: per key the
///     envelope, absent, or the error (backend_unavailable, timeout, ...).
///   - `erase_many(std::span<const std::string_view>) -> std::size_t` or
///     `-> EraseResult`: removes the keys, returning how many existed.
///   - `static constexpr bool atomic_batches`: whether store_many is
///     all-or-none (Redis MULTI/EXEC, one SQL transaction) or per item (S3).
/// Optional:
///   - `static constexpr bool in_process`: calls do no I/O, so the store never
///     spends a thread to overlap them with another tier's.
///   - `load_many_into(std::span<const std::string_view>, LoadResult&)`:
///     load_many's answer written into the given result (reset to one lookup
///     per key), reusing its strings' capacity; TieredStore::batch_get_into
///     reads a tier that answers for the whole batch through it.
/// Laws:
///   - A position marked stored is durable in this tier; one not marked is not
///     claimed (an unmarked position reads as errc::outcome_unknown).
///   - With atomic_batches, a BatchResult is all stored or all failed.
///   - An expired record is absent from load_many, scan and the erase count.
///   - The envelope bytes come back exactly as they were stored.
///   - Malformed bytes from the backend are an error, never a crash.
/// Models: every ScannableRepository below, NoTier (vacuously), FaultInjecting<R> in tests.
template <class R>
concept Repository = detail::HasStoreMany<R> && detail::HasLoadMany<R> && detail::HasEraseMany<R> &&
    detail::HasAtomicBatches<R>;

/// A Repository that can enumerate its records by key prefix.
///
/// Required: `scan(std::string_view prefix, std::string_view cursor,
/// std::size_t limit) -> ScanPage`; an empty cursor starts the scan, the
/// page's next_cursor continues it, done marks the last page.
/// Optional: `scan_into(prefix, cursor, limit, ScanPage&)`, the same page
/// written over the given one, reusing its records' strings (PostgreSQL).
/// Laws: a full scan returns every live record with the prefix exactly once,
/// even across pages (Redis's SCAN may repeat a key across pages: see
/// RedisRepository); at most `limit` records per page.
/// Models: MemoryRepository, SqliteRepository, FilesystemRepository,
/// RedisRepository, PostgresRepository, S3Repository, AnyRepository.
template <class R>
concept ScannableRepository = Repository<R> && detail::HasScan<R>;

/// An in-process cache in front of the tiers.
///
/// Required (all thread-safe):
///   - `find(std::string_view key, TimePoint now) -> std::optional<CachedValue>`
///     (an entry expired at `now` is a miss),
///   - `put(std::string_view key, std::string_view value, std::optional<TimePoint> expires_at,
///     std::uint8_t codec_tag)` (the tag is handed back by find),
///   - `erase(std::string_view key)`, `clear()`, `size() -> std::size_t`.
/// Optional: `static constexpr bool populate_on_write` (default true): after a
/// write the store puts the stored value into the cache, or (false) only
/// invalidates it; `erase_many(std::span<const std::string_view>)`: a batch
/// write's keys erased at once (otherwise one erase per key).
/// Laws (kept by TieredStore, see tiered_store.hpp): the cache only holds keys
/// that are durably stored with the cached value; a delete always invalidates.
/// Models: NoCache, LruCache.
template <class C>
concept CachePolicy = requires(C& c, const C& cc, std::string_view key, std::string_view value,
                               std::optional<TimePoint> expires_at, TimePoint now,
                               std::uint8_t codec_tag) {
  { c.find(key, now) } -> std::same_as<std::optional<CachedValue>>;
  c.put(key, value, expires_at, codec_tag);
  c.erase(key);
  c.clear();
  { cc.size() } -> std::convertible_to<std::size_t>;
};

/// Chooses the tier of a key.
///
/// Required: `operator()(std::string_view key) const noexcept -> Tier`.
/// Optional: `static constexpr bool routes_to(Tier)`: lets the store reject at
/// compile time a router that can choose a tier the store lacks.
/// Laws: pure; the same key always routes to the same tier.
/// Models: FixedRouter, PrefixRouter, RuntimePrefixRouter.
template <class R>
concept Router = requires(const R& router, std::string_view key) {
  { router(key) }
  noexcept->std::same_as<Tier>;
};

namespace detail {

// Each branch below asserts a different message; their identical `return
// false` is not a cloned branch.
// NOLINTBEGIN(bugprone-branch-clone)

template <class T>
inline constexpr bool dependent_false = false;

/// Stops at the first unmet Repository requirement of R with a message naming it.
template <class R>
consteval bool diagnose_repository() {
  if constexpr (std::same_as<R, NoTier>) {
    return true;
  } else if constexpr (!HasStoreMany<R>) {
    static_assert(dependent_false<R>,
                  "strata::Repository: the type has no member "
                  "store_many(std::span<const strata::Record>) -> strata::BatchResult");
    return false;
  } else if constexpr (!HasLoadMany<R>) {
    static_assert(dependent_false<R>,
                  "strata::Repository: the type has no member "
                  "load_many(std::span<const std::string_view>) -> strata::LoadResult");
    return false;
  } else if constexpr (!HasEraseMany<R>) {
    static_assert(dependent_false<R>,
                  "strata::Repository: the type has no member "
                  "erase_many(std::span<const std::string_view>) returning std::size_t or "
                  "strata::EraseResult");
    return false;
  } else if constexpr (!HasAtomicBatches<R>) {
    static_assert(dependent_false<R>,
                  "strata::Repository: the type has no member "
                  "'static constexpr bool atomic_batches'");
    return false;
  } else {
    return true;
  }
}

template <class C>
consteval bool diagnose_cache_policy() {
  if constexpr (!requires(C & c, std::string_view k, TimePoint now) {
                  { c.find(k, now) } -> std::same_as<std::optional<CachedValue>>;
                }) {
    static_assert(
        dependent_false<C>,
        "strata::CachePolicy: the type has no member "
        "find(std::string_view, strata::TimePoint) -> std::optional<strata::CachedValue>");
    return false;
  } else if constexpr (!requires(C & c, std::string_view k, std::optional<TimePoint> e,
                                 std::uint8_t tag) { c.put(k, k, e, tag); }) {
    static_assert(dependent_false<C>,
                  "strata::CachePolicy: the type has no member put(std::string_view key, "
                  "std::string_view value, std::optional<strata::TimePoint> expires_at, "
                  "std::uint8_t codec_tag)");
    return false;
  } else if constexpr (!requires(C & c, std::string_view k) { c.erase(k); }) {
    static_assert(dependent_false<C>,
                  "strata::CachePolicy: the type has no member erase(std::string_view)");
    return false;
  } else if constexpr (!requires(C & c) { c.clear(); }) {
    static_assert(dependent_false<C>, "strata::CachePolicy: the type has no member clear()");
    return false;
  } else if constexpr (!CachePolicy<C>) {
    static_assert(dependent_false<C>,
                  "strata::CachePolicy: the type has no member size() const -> std::size_t");
    return false;
  } else {
    return true;
  }
}

template <class R>
consteval bool diagnose_router() {
  if constexpr (!Router<R>) {
    static_assert(dependent_false<R>,
                  "strata::Router: the type has no member "
                  "operator()(std::string_view) const noexcept -> strata::Tier");
    return false;
  } else {
    return true;
  }
}

// NOLINTEND(bugprone-branch-clone)

template <class C>
consteval bool cache_populates_on_write() {
  if constexpr (requires { typename std::bool_constant<C::populate_on_write>; })
    return C::populate_on_write;
  else
    return true;
}

/// Erases `keys` from `cache`: with its erase_many when it has one.
template <class C>
void erase_from_cache(C& cache, std::span<const std::string_view> keys) {
  if constexpr (requires { cache.erase_many(keys); })
    cache.erase_many(keys);
  else
    for (const std::string_view key : keys) cache.erase(key);
}

template <class R>
consteval bool is_in_process() {
  if constexpr (requires { typename std::bool_constant<R::in_process>; })
    return R::in_process;
  else
    return false;
}

}  // namespace detail

STRATA_END_NAMESPACE
