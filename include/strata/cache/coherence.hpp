#pragma once
/// \file
/// CoherenceGuard: keeps a cache a subset of storage while threads race.
///
/// The hazard: thread A stores v1 while thread B deletes the key; if A puts v1
/// into the cache after B's delete invalidated it, the cache holds a value that
/// storage does not. Two writers of one key race the same way (whichever store
/// lands last in storage need not be the one that caches last), and so does a
/// read that fills the cache while a write is under way. The guard closes all
/// three with a generation counter and an in-flight count per stripe of keys:
///
///  - a write (set or delete) begins by bumping the stripe's generation and
///    in-flight count, then drops the cache entry; its ticket is the new
///    generation, or "no fill" if another write of the stripe was already in
///    flight. A batch is one write per stripe it touches, so its own keys do
///    not count as overlapping each other;
///  - it ends by putting the stored value only if its ticket still equals the
///    generation, i.e. no write of the stripe overlapped it at any moment
///    (none was in flight when it began, none began since); otherwise the
///    entry stays dropped. Nothing can have cached it in between: a read
///    fills only with no write in flight, and another write puts only with a
///    ticket that this write's begin made stale (or "no fill");
///  - a read that missed fills the cache only if no write of the stripe was in
///    flight when it started, none is now, and none began in between.
///
/// One more hazard outlives the write itself: a write that ended with its
/// outcome unknown (a timeout, a lost reply) may still be applied by the
/// server later. A read that fills the cache with the old value in between
/// would keep it stale after the write lands, so such a write holds its
/// stripe's fills until a deadline (StoreOptions::unknown_outcome_hold), by
/// which the write has landed or never will.
///
/// Across processes (ADR 15), two more events reach the guard from an
/// invalidation bus, when the store has one (`Gaps` is true):
///
///  - a key another process changed is invalidated like a write that begins
///    and ends at once: its stripe's generation is bumped and its entry
///    dropped under the stripe's lock, so a read that fetched the old value
///    before the invalidation arrived cannot fill the cache after it;
///  - a gap (the bus cannot vouch that it delivered everything) bumps every
///    stripe and clears the cache; until it closes, no read or write fills
///    the cache, so what was missed cannot be cached. The guard starts in a
///    gap, which the bus closes once it is subscribed.
///
/// Every check and the cache operation that follows it happen under the
/// stripe's lock, so no interleaving can slip between them; a write's erase
/// alone comes after the lock, which is safe because nothing can fill the
/// stripe from its begin to its end (see begin_write). A conflict only
/// ever costs a cache fill, never coherence. Stripes are shared by keys, so an
/// unrelated key's write can also skip a fill; with 1024 stripes that is rare.

#include "strata/core/clock.hpp"
#include "strata/core/config.hpp"

#include <algorithm>    // std::sort
#include <atomic>       // std::atomic
#include <cstddef>      // std::size_t
#include <cstdint>      // std::uint64_t
#include <functional>   // std::hash
#include <limits>       // std::numeric_limits
#include <memory>       // std::unique_ptr
#include <mutex>        // std::mutex, std::lock_guard
#include <optional>     // std::optional
#include <string_view>  // std::string_view
#include <vector>       // std::vector

STRATA_BEGIN_NAMESPACE
namespace detail {

/// What every guard shares: tickets and stripes.
struct CoherenceStripes {
  using Ticket = std::uint64_t;
  static constexpr Ticket no_fill = std::numeric_limits<Ticket>::max();
  static constexpr std::size_t stripe_count = 1024;

  static std::size_t stripe_of(std::string_view key) noexcept {
    // The high bits: the cache shards by the low ones.
    return (std::hash<std::string_view>{}(key) >> 20) % stripe_count;
  }
};

/// The guard; with `Gaps`, it also takes invalidations and gaps from a bus.
/// Without, it compiles to what it was before buses existed.
template <bool Gaps = false>
class CoherenceGuard : public CoherenceStripes {
 public:
  CoherenceGuard() : stripes_(std::make_unique<Stripe[]>(stripe_count)) {}

  /// Begins one write of a stripe: a batch begins each stripe it touches once,
  /// so that its own keys never count as overlapping each other. The caller
  /// then erases the keys it writes in the stripe from the cache, before
  /// end_write: from here until then nothing can cache a key of the stripe
  /// (a read fills only with no write in flight; a write that began earlier
  /// holds a ticket the generation has passed, one that begins later "no
  /// fill"), so an erase after this call drops whatever was cached before,
  /// and a batch can erase all its keys at once, a cache lock per shard.
  Ticket begin_write(std::size_t stripe) {
    Stripe& s = stripes_[stripe];
    std::lock_guard lock(s.mutex);
    const bool overlapped = s.in_flight++ != 0;
    ++s.generation;
    return overlapped || in_gap() ? no_fill : s.generation;
  }

  /// Ends a write begun with `ticket`. `settle(may_fill)` runs under the
  /// stripe's lock and puts or erases the batch's keys of this stripe; it may
  /// put only when may_fill is true (no other write overlapped this one).
  template <class Settle>
  void end_write(std::size_t stripe, Ticket ticket, Settle settle) {
    Stripe& s = stripes_[stripe];
    std::lock_guard lock(s.mutex);
    --s.in_flight;
    settle(write_may_fill(s, ticket));
  }

  /// Holds every fill of a stripe until `until` (exclusive): a write of it
  /// ended with an outcome the server may still apply. Call before end_write,
  /// while the write still counts as in flight, so no read slips in between.
  void hold_fills(std::size_t stripe, TimePoint until) {
    Stripe& s = stripes_[stripe];
    std::lock_guard lock(s.mutex);
    if (until > s.hold_until) s.hold_until = until;
  }

  /// Begins a read that may fill the cache; `now` is checked against a hold.
  Ticket begin_read(std::string_view key, TimePoint now) {
    Stripe& s = stripes_[stripe_of(key)];
    std::lock_guard lock(s.mutex);
    return s.in_flight == 0 && now >= s.hold_until && !in_gap() ? s.generation : no_fill;
  }

  template <class Cache>
  void end_read(Cache& cache, std::string_view key, Ticket ticket, std::string_view value,
                std::optional<TimePoint> expires_at, std::uint8_t codec_tag) {
    if (ticket == no_fill) return;
    Stripe& s = stripes_[stripe_of(key)];
    std::lock_guard lock(s.mutex);
    if (s.in_flight == 0 && s.generation == ticket) cache.put(key, value, expires_at, codec_tag);
  }

  /// Another process changed `key`: `drop_entry()` runs under the stripe's
  /// lock and must erase it from the cache; reads of the stripe that began
  /// before cannot fill.
  template <class DropEntry>
  void invalidate(std::string_view key, DropEntry drop_entry) requires Gaps {
    Stripe& s = stripes_[stripe_of(key)];
    std::lock_guard lock(s.mutex);
    drop_entry();
    ++s.generation;
  }

  /// Opens a gap (or, already open, keeps it): no fill from now on, none
  /// from a read or write begun before; `clear()` then empties the cache.
  template <class Clear>
  void open_gap(Clear clear) requires Gaps {
    gap_.store(true);
    bump_every_stripe();
    clear();
  }

  /// Everything changed at once: every stripe bumped and the cache cleared,
  /// without a gap (fills may resume at once).
  template <class Clear>
  void invalidate_all(Clear clear) requires Gaps {
    bump_every_stripe();
    clear();
  }

  /// Closes the gap: reads that begin from now on may fill again.
  void close_gap() requires Gaps { gap_.store(false); }

  /// Whether a gap is open (never, without Gaps).
  bool in_gap() const noexcept {
    if constexpr (Gaps)
      return gap_.load();
    else
      return false;
  }

 private:
  struct Stripe {
    std::mutex mutex;
    std::uint64_t generation = 0;
    std::uint64_t in_flight = 0;
    TimePoint hold_until = TimePoint::min();  ///< no fill before this (see hold_fills)
  };

  // A write that ended with `ticket` may fill: nothing overlapped it and no
  // gap is open. Under the stripe's lock. Out of end_write, a template per
  // caller's callable, so that each guard has one copy of the decision.
  bool write_may_fill(const Stripe& s, Ticket ticket) const noexcept {
    return ticket != no_fill && s.generation == ticket && !in_gap();
  }

  void bump_every_stripe() {
    for (std::size_t i = 0; i < stripe_count; ++i) {
      std::lock_guard lock(stripes_[i].mutex);
      ++stripes_[i].generation;
    }
  }

  std::unique_ptr<Stripe[]> stripes_;
  // Open from the start: a store with a bus caches nothing until its bus is
  // subscribed. Only with Gaps does anything read it.
  std::atomic<bool> gap_{Gaps};
};

/// Orders order[0, open), input positions in ascending order, by stripe
/// (`stripe[order[j]]`), keeping input order within a stripe. Large batches
/// take a counting sort over the stripes, linear where std::sort's
/// comparisons were 4% of the failover drill's client samples at a million
/// keys; a batch of fewer than a quarter of the stripes keeps std::sort and
/// does not pay for clearing 1024 counters.
/// Not a template, so every store shares this one copy.
inline void order_by_stripe(std::uint32_t* order, const std::uint16_t* stripe, std::size_t open) {
  constexpr std::size_t stripes = CoherenceStripes::stripe_count;
  if (open < stripes / 4) {
    std::sort(order, order + open, [&](std::uint32_t a, std::uint32_t b) {
      return stripe[a] != stripe[b] ? stripe[a] < stripe[b] : a < b;
    });
    return;
  }
  std::vector<std::uint32_t> first(stripes + 1, 0);  // then: the next slot of each stripe
  for (std::size_t j = 0; j < open; ++j) ++first[stripe[order[j]] + 1];
  for (std::size_t s = 1; s <= stripes; ++s) first[s] += first[s - 1];
  const std::vector<std::uint32_t> positions(order, order + open);
  for (std::uint32_t i : positions) order[first[stripe[i]]++] = i;  // stable: input order kept
}

/// One past the run of equal stripes that begins at slot `first` of
/// order[0, open) (`stripe[order[j]]` is slot j's stripe; equal stripes are
/// adjacent). Not a template, so every store shares this one copy.
inline std::size_t stripe_run_end(const std::uint32_t* order, const std::uint16_t* stripe,
                                  std::size_t open, std::size_t first) noexcept {
  std::size_t last = first + 1;
  while (last < open && stripe[order[last]] == stripe[order[first]]) ++last;
  return last;
}

}  // namespace detail
STRATA_END_NAMESPACE
