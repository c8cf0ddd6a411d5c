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
#include "strata/cache/read_mostly_mutex.hpp"
#include "strata/core/cached_value.hpp"
#include "strata/core/clock.hpp"
#include "strata/core/config.hpp"

#include <algorithm>      // std::max
#include <atomic>         // std::atomic
#include <cstddef>        // std::size_t
#include <cstdint>        // std::uint8_t, std::uint64_t
#include <deque>          // std::deque
#include <list>           // std::list
#include <mutex>          // std::unique_lock
#include <optional>       // std::optional
#include <span>           // std::span
#include <string>         // std::string
#include <string_view>    // std::string_view
#include <unordered_map>  // std::unordered_map
#include <utility>        // std::forward

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

/// A CachePolicy that resists scans and serves hits under a shared lock (see the file comment).
/// `Policy` says whether a confirmed write fills the cache or only drops the old entry.
template <OnWrite Policy = OnWrite::populate>
class S3FifoCache {
 public:
  /// Whether TieredStore puts a confirmed write's value (OnWrite::populate) or only erases the
  /// key.
  static constexpr bool populate_on_write = Policy == OnWrite::populate;

  S3FifoCache() : S3FifoCache(S3FifoOptions{}) {}
  /// A cache of `options.shards` shards (rounded up to a power of two) sharing the capacities
  /// equally.
  explicit S3FifoCache(S3FifoOptions options) : shards_(options.shards) {
    const auto probation = [&](std::size_t capacity) {
      return capacity == 0 ? std::size_t{0}
                           : std::max<std::size_t>(1, capacity * options.probation_percent / 100);
    };
    shards_.set_up([&](Shard& shard) {
      shard.max_entries = shards_.share(options.max_entries);
      shard.max_bytes = shards_.share(options.max_bytes);
      shard.probation_entries = probation(shard.max_entries);
      shard.probation_bytes = probation(shard.max_bytes);
    });
  }

  /// The key's value and codec tag, or nullopt when absent or expired at `now` (an expired entry is
  /// dropped). A hit only counts the read; the entry stays where it is.
  std::optional<CachedValue> find(std::string_view key, TimePoint now) {
    return detail::find_in_shard(shards_.of(key), key, now, note_read);
  }

  /// As find, but instead of copying the value out, calls `reader(value, codec_tag)` on it in
  /// place, with `value` a `std::string_view`, and returns whether it did. The reader runs under
  /// the shard's lock taken shared: it must not call back into this cache.
  template <class Reader>
  bool read(std::string_view key, TimePoint now, Reader&& reader) {
    return detail::read_value_in_shard(shards_.of(key), key, now, note_read,
                                       std::forward<Reader>(reader));
  }

  /// Inserts or replaces the key's entry, then evicts until its shard is within capacity. A new
  /// key enters probation, or main when its hash is among the recently evicted (the ghost); a
  /// replaced key keeps its place. An entry larger than a shard's byte capacity is not kept.
  void put(std::string_view key, std::string_view value, std::optional<TimePoint> expires_at,
           std::uint8_t codec_tag = 0) {
    const std::size_t hash = Shards::hash(key);
    Shard& shard = shards_.of_hash(hash);
    const std::size_t cost = key.size() + value.size();
    std::unique_lock lock(shard.mutex);
    auto it = shard.index.find(key);
    if (shard.max_bytes != 0 && cost > shard.max_bytes) {  // would evict everything
      if (it != shard.index.end()) shard.remove(it);
      return;
    }
    if (it != shard.index.end()) {
      Node& node = *it->second;
      shard.queue_bytes(node.in_main) -= node.value.size();
      shard.queue_bytes(node.in_main) += value.size();
      node.value.assign(value);
      node.expires_at = expires_at;
      node.codec_tag = codec_tag;
    } else {
      const bool to_main = shard.forget_ghost(hash);
      Queue& queue = to_main ? shard.main : shard.probation;
      queue.emplace_back(std::string(key), std::string(value), expires_at, codec_tag, to_main);
      shard.index.emplace(queue.back().key, std::prev(queue.end()));
      shard.queue_bytes(to_main) += cost;
    }
    shard.evict_to_capacity();
  }

  /// Drops the key's entry, if any.
  void erase(std::string_view key) { shards_.erase(std::span<const std::string_view>(&key, 1)); }

  /// Drops the entries of every key, taking each shard's lock once for all
  /// its keys (what a batch write does to the keys it writes).
  void erase_many(std::span<const std::string_view> keys) { shards_.erase(keys); }

  /// Drops every entry (and forgets the ghosts).
  void clear() {
    shards_.each_locked([](Shard& shard) {
      shard.index.clear();
      shard.probation.clear();
      shard.main.clear();
      shard.probation_held = shard.main_held = 0;
      shard.ghost_order.clear();
      shard.ghosts.clear();
    });
  }

  /// The number of entries across all shards.
  std::size_t size() const {
    return shards_.sum([](const Shard& shard) { return shard.index.size(); });
  }

  /// Key + value bytes held, the quantity max_bytes bounds.
  std::size_t bytes() const {
    return shards_.sum([](const Shard& shard) { return shard.probation_held + shard.main_held; });
  }

  /// Entries evicted for capacity since the cache was made (not erased ones).
  std::size_t evictions() const {
    return shards_.sum([](const Shard& shard) { return shard.evictions; });
  }

 private:
  struct Node {
    Node(std::string k, std::string v, std::optional<TimePoint> e, std::uint8_t tag, bool main)
        : key(std::move(k)), value(std::move(v)), expires_at(e), codec_tag(tag), in_main(main) {}
    std::string key;
    std::string value;
    std::optional<TimePoint> expires_at;
    std::uint8_t codec_tag;
    bool in_main;
    /// Reads since the entry entered its queue (or since main's last pass), capped at 3.
    mutable std::atomic<std::uint8_t> reads{0};
  };
  using Queue = std::list<Node>;  // front: the oldest, evicted first

  // A hit's mark. Written only below the cap: a key read often stops writing its line.
  // A function object, not a function: the hit path inlines it without
  // following a pointer.
  static constexpr auto note_read = [](const Node& node) noexcept {
    if (const std::uint8_t reads = node.reads.load(std::memory_order_relaxed); reads < 3)
      node.reads.store(static_cast<std::uint8_t>(reads + 1), std::memory_order_relaxed);
  };

  // Padded to a cache line (64 bytes on the x86-64 and AArch64 cores this
  // targets; std::hardware_destructive_interference_size would make the
  // layout depend on compiler flags, and GCC warns about it in a header):
  // threads on neighbouring shards do not share one.
  struct alignas(64) Shard {
    // The index's keys view the nodes' keys: list nodes never move, not even
    // when spliced from probation to main.
    using Index = std::unordered_map<std::string_view, typename Queue::iterator>;

    std::size_t& queue_bytes(bool in_main) noexcept { return in_main ? main_held : probation_held; }

    void remove(typename Index::iterator it) {
      const auto node = it->second;
      queue_bytes(node->in_main) -= node->key.size() + node->value.size();
      index.erase(it);
      (node->in_main ? main : probation).erase(node);
    }

    bool over_capacity() const noexcept {
      return (max_entries != 0 && index.size() > max_entries) ||
             (max_bytes != 0 && probation_held + main_held > max_bytes);
    }
    bool probation_over_share() const noexcept {
      return (max_entries != 0 && probation.size() > probation_entries) ||
             (max_bytes != 0 && probation_held > probation_bytes);
    }

    void evict_to_capacity() {
      while (over_capacity()) {
        if (!probation.empty() && (probation_over_share() || main.empty()))
          evict_from_probation();
        else
          evict_from_main();
      }
    }

    // The oldest probationer: read since it came in, it moves to main; if
    // not, it goes, and its hash joins the ghosts.
    void evict_from_probation() {
      const auto node = probation.begin();
      if (node->reads.load(std::memory_order_relaxed) > 0) {
        const std::size_t cost = node->key.size() + node->value.size();
        probation_held -= cost;
        main_held += cost;
        node->in_main = true;
        node->reads.store(0, std::memory_order_relaxed);
        main.splice(main.end(), probation, node);
        return;
      }
      remember_ghost(Shards::hash(node->key));
      remove(index.find(node->key));
      ++evictions;
    }

    // The oldest of main: read since its last pass, it goes round again with
    // one read fewer; if not, it goes.
    void evict_from_main() {
      const auto node = main.begin();
      if (const std::uint8_t reads = node->reads.load(std::memory_order_relaxed); reads > 0) {
        node->reads.store(static_cast<std::uint8_t>(reads - 1), std::memory_order_relaxed);
        main.splice(main.end(), main, node);
        return;
      }
      remove(index.find(node->key));
      ++evictions;
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

    mutable detail::ReadMostlyMutex mutex;
    Queue probation, main;
    Index index;
    std::size_t probation_held = 0, main_held = 0;  // key + value bytes of each queue
    std::size_t evictions = 0;                      // under the lock eviction holds anyway
    std::size_t max_entries = 0, max_bytes = 0;
    std::size_t probation_entries = 0, probation_bytes = 0;
    std::deque<std::size_t> ghost_order;
    std::unordered_map<std::size_t, std::uint32_t> ghosts;  // hash -> places in ghost_order
  };

  using Shards = detail::CacheShards<Shard>;
  Shards shards_;
};

STRATA_END_NAMESPACE
