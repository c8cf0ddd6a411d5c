#pragma once
/// \file
/// S3FifoCache: a sharded, scan-resistant cache after S3-FIFO (Yang et al.,
/// SOSP 2023), with capacity in entries and in bytes and per-entry expiry.
/// New keys enter a small probation FIFO; a key read again while there moves
/// to the main FIFO when it reaches the probation queue's head, and a key
/// that was not is dropped, leaving its hash in a ghost FIFO, so that a key
/// coming back soon after goes straight to main. Main evicts in FIFO order,
/// giving each key read since its last pass another round. A one-pass scan
/// thus only churns the probation queue. A hit takes its shard's lock shared
/// and bumps a two-bit counter (written only while below its cap); it never
/// moves a node, so concurrent readers of one shard do not serialise. ADR 18.

#include "strata/cache/cache_shards.hpp"
#include "strata/cache/on_write.hpp"
#include "strata/cache/two_fifo_cache.hpp"
#include "strata/core/clock.hpp"
#include "strata/core/config.hpp"

#include <algorithm>      // std::max
#include <cstddef>        // std::size_t
#include <cstdint>        // std::uint8_t, std::uint32_t
#include <deque>          // std::deque
#include <optional>       // std::optional
#include <string_view>    // std::string_view
#include <unordered_map>  // std::unordered_map

STRATA_BEGIN_NAMESPACE

/// Capacity and sharding of an S3FifoCache.
struct S3FifoOptions {
  std::size_t max_entries = 100'000;  ///< across all shards; 0 means no entry limit
  std::size_t max_bytes = 64u << 20;  ///< key + value bytes across all shards; 0 means no limit
  std::size_t shards = 16;            ///< rounded up to a power of two; 0 means 1
  /// The probation queue's share of each capacity, in percent (the paper's 10). A smaller share
  /// suits a stationary popularity, a larger one keys read back long after they are written: the
  /// hit-ratio table of docs/design.md (ADR 18).
  std::size_t probation_percent = 10;
};

namespace detail {

// An S3FifoCache shard: the small FIFO is the probation queue.
struct S3FifoShard : TwoFifoShard {
  // A new key enters probation, or main when its hash is among the recently
  // evicted (a ghost).
  void insert_new(std::size_t hash, std::string_view key, std::string_view value,
                  std::optional<TimePoint> expires_at, std::uint8_t codec_tag) {
    insert(key, value, expires_at, codec_tag, forget_ghost(hash));
  }

  void evict_to_capacity() {
    while (over_capacity()) {
      if (!small.empty() && (small_over_share() || main.empty()))
        evict_from_probation();
      else
        evict(main_victim());
    }
  }

  void clear() {
    clear_entries();
    ghost_order.clear();
    ghosts.clear();
  }

  // The oldest probationer: read since it came in, it moves to main; if
  // not, it goes, and its hash joins the ghosts.
  void evict_from_probation() {
    if (small.front().read_count() > 0) {
      promote_oldest_small();
      return;
    }
    remember_ghost(key_hash(small.front().key));
    evict(small.begin());
  }

  // The ghosts: hashes of keys evicted from probation, as many as the shard
  // holds entries at most (at least 64), the oldest forgotten first.
  void remember_ghost(std::size_t hash) {
    ghost_order.push_back(hash);
    ++ghosts[hash];
    const std::size_t limit =
        std::max<std::size_t>(64, max_entries != 0 ? max_entries : index.size());
    while (ghost_order.size() > limit) {
      forget_one(ghost_order.front());
      ghost_order.pop_front();
    }
  }
  bool forget_ghost(std::size_t hash) {
    auto it = ghosts.find(hash);
    if (it == ghosts.end()) return false;
    ghosts.erase(it);  // its places in ghost_order are skipped when they come up
    return true;
  }
  void forget_one(std::size_t hash) {
    if (auto it = ghosts.find(hash); it != ghosts.end() && --it->second == 0) ghosts.erase(it);
  }

  std::deque<std::size_t> ghost_order;
  std::unordered_map<std::size_t, std::uint32_t> ghosts;  // hash -> places in ghost_order
};

}  // namespace detail

/// A CachePolicy that resists scans and serves hits under a shared lock (see the file comment).
/// `Policy` says whether a confirmed write fills the cache or only drops the old entry.
template <OnWrite Policy = OnWrite::populate>
class S3FifoCache : public detail::TwoFifoCache<detail::S3FifoShard> {
 public:
  /// Whether TieredStore puts a confirmed write's value (OnWrite::populate) or only erases the
  /// key.
  static constexpr bool populate_on_write = Policy == OnWrite::populate;

  S3FifoCache() : S3FifoCache(S3FifoOptions{}) {}
  /// A cache of `options.shards` shards (rounded up to a power of two) sharing the capacities
  /// equally.
  explicit S3FifoCache(S3FifoOptions options) : TwoFifoCache(options.shards) {
    set_up(options.max_entries, options.max_bytes, options.probation_percent,
           [](detail::S3FifoShard&) {});
  }
};

STRATA_END_NAMESPACE
