#pragma once
/// \file
/// TinyLfuCache: a sharded, scan-resistant cache after W-TinyLFU (Einziger,
/// Friedman and Manes, 2017; Caffeine's policy), with capacity in entries and
/// in bytes and per-entry expiry. New keys enter a small window FIFO (1% of
/// each capacity); the rest is main, evicted as a CLOCK. When the window's
/// oldest entry must leave a full shard, it competes with main's next victim
/// and only the one seen more often lately stays: how often is a count-min
/// sketch of the shard's misses (detail::FrequencySketch), which outlives the
/// entries and so remembers keys evicted long ago, plus the reads the
/// window entry had. A one-pass scan's keys, seen once, lose to every main
/// entry missed twice. A hit takes its shard's lock shared and bumps the
/// entry's two-bit read count, as in S3FifoCache: the sketch counts misses
/// only, so a hit writes nothing shared. ADR 26.

#include "strata/cache/cache_shards.hpp"
#include "strata/cache/frequency_sketch.hpp"
#include "strata/cache/on_write.hpp"
#include "strata/cache/two_fifo_cache.hpp"
#include "strata/core/clock.hpp"
#include "strata/core/config.hpp"

#include <cstddef>      // std::size_t
#include <cstdint>      // std::uint8_t
#include <optional>     // std::optional
#include <string_view>  // std::string_view

STRATA_BEGIN_NAMESPACE

/// Capacity and sharding of a TinyLfuCache.
struct TinyLfuOptions {
  std::size_t max_entries = 100'000;  ///< across all shards; 0 means no entry limit
  std::size_t max_bytes = 64u << 20;  ///< key + value bytes across all shards; 0 means no limit
  std::size_t shards = 16;            ///< rounded up to a power of two; 0 means 1
  /// The window's share of each capacity, in percent (Caffeine's 1). A larger window suits keys
  /// read again soon after their first miss and rarely after (ADR 26).
  std::size_t window_percent = 1;
};

namespace detail {

// A TinyLfuCache shard: the small FIFO is the window.
struct TinyLfuShard : TwoFifoShard {
  // A new key is a miss: counted, then into the window. While the shard has
  // room, the window's oldest entries beyond its share move to main
  // unopposed.
  void insert_new(std::size_t hash, std::string_view key, std::string_view value,
                  std::optional<TimePoint> expires_at, std::uint8_t codec_tag) {
    misses.increment(hash);
    insert(key, value, expires_at, codec_tag, false);
    while (small_over_share() && !over_capacity()) promote_oldest_small();
  }

  void evict_to_capacity() {
    while (over_capacity()) {
      if (!small.empty() && (small_over_share() || main.empty()))
        admit_or_drop_oldest_window_entry();
      else
        evict(main_victim());
    }
  }

  void clear() {
    clear_entries();
    misses.clear();
  }

  // The window's oldest entry against main's next victim (read fewer times
  // since its last pass than its lap, so read least lately): the one missed
  // more often lately stays, the window entry's own reads counting for it.
  // A tie keeps the victim: a key new to the shard does not displace one
  // that earned its place.
  void admit_or_drop_oldest_window_entry() {
    if (main.empty()) {
      promote_oldest_small();
      return;
    }
    const auto candidate = small.begin();
    const auto victim = main_victim();
    const unsigned candidate_frequency =
        misses.estimate(key_hash(candidate->key)) + candidate->read_count();
    if (candidate_frequency > misses.estimate(key_hash(victim->key))) {
      evict(victim);
      promote_oldest_small();
    } else {
      evict(candidate);
    }
  }

  FrequencySketch misses{0};  // sized by TinyLfuCache's constructor
};

}  // namespace detail

/// A CachePolicy that resists scans, admits by frequency and serves hits under a shared lock (see
/// the file comment). `Policy` says whether a confirmed write fills the cache or only drops the old
/// entry.
template <OnWrite Policy = OnWrite::populate>
class TinyLfuCache : public detail::TwoFifoCache<detail::TinyLfuShard> {
 public:
  /// Whether TieredStore puts a confirmed write's value (OnWrite::populate) or only erases the
  /// key.
  static constexpr bool populate_on_write = Policy == OnWrite::populate;

  TinyLfuCache() : TinyLfuCache(TinyLfuOptions{}) {}
  /// A cache of `options.shards` shards (rounded up to a power of two) sharing the capacities
  /// equally. Each shard's sketch has twice as many counters per row as the shard holds entries
  /// (with no entry limit: one per 64 bytes it holds), 8 to 16 bytes per entry.
  explicit TinyLfuCache(TinyLfuOptions options) : TwoFifoCache(options.shards) {
    set_up(options.max_entries, options.max_bytes, options.window_percent,
           [](detail::TinyLfuShard& shard) {
             const std::size_t entries = shard.max_entries != 0 ? shard.max_entries
                                         : shard.max_bytes != 0 ? shard.max_bytes / 64
                                                                : 0;
             shard.misses = detail::FrequencySketch(2 * entries);
           });
  }
};

STRATA_END_NAMESPACE
