#pragma once
/// \file
/// What S3FifoCache and TinyLfuCache share. New keys enter a small FIFO
/// (S3-FIFO's probation, W-TinyLFU's window); the rest of a shard is a main
/// FIFO evicted as a CLOCK: its oldest entry, read since its last pass, goes
/// round again with one read fewer. A hit only bumps its entry's two-bit
/// read count (written only below its cap), under the shard's lock taken
/// shared, and never moves a node. What differs between the two caches is
/// what a new key's entry starts as and what becomes of the small FIFO's
/// oldest entry, which each cache's Shard, deriving from
/// detail::TwoFifoShard, decides; detail::TwoFifoCache is the rest of the
/// CachePolicy over such shards.

#include "strata/cache/cache_shards.hpp"
#include "strata/cache/read_mostly_mutex.hpp"
#include "strata/core/cached_value.hpp"
#include "strata/core/clock.hpp"
#include "strata/core/config.hpp"

#include <atomic>         // std::atomic
#include <cstddef>        // std::size_t
#include <cstdint>        // std::uint8_t
#include <iterator>       // std::prev
#include <list>           // std::list
#include <mutex>          // std::unique_lock
#include <optional>       // std::optional
#include <span>           // std::span
#include <string>         // std::string
#include <string_view>    // std::string_view
#include <unordered_map>  // std::unordered_map
#include <utility>        // std::forward, std::move

STRATA_BEGIN_NAMESPACE

namespace detail {

/// One cached entry.
struct FifoNode {
  FifoNode(std::string k, std::string v, std::optional<TimePoint> e, std::uint8_t tag, bool main)
      : key(std::move(k)), value(std::move(v)), expires_at(e), codec_tag(tag), in_main(main) {}
  std::string key;
  std::string value;
  std::optional<TimePoint> expires_at;
  std::uint8_t codec_tag;
  bool in_main;
  /// Reads since the entry entered its queue (or since main's last pass), capped at 3.
  mutable std::atomic<std::uint8_t> reads{0};

  std::size_t cost() const noexcept { return key.size() + value.size(); }
  std::uint8_t read_count() const noexcept { return reads.load(std::memory_order_relaxed); }
};

/// A hit's mark. Written only below the cap: a key read often stops writing
/// its line. A function object, not a function: the hit path inlines it
/// without following a pointer.
inline constexpr auto note_fifo_read = [](const FifoNode& node) noexcept {
  if (const std::uint8_t reads = node.read_count(); reads < 3)
    node.reads.store(static_cast<std::uint8_t>(reads + 1), std::memory_order_relaxed);
};

// Padded to a cache line (64 bytes on the x86-64 and AArch64 cores this
// targets; std::hardware_destructive_interference_size would make the
// layout depend on compiler flags, and GCC warns about it in a header):
// threads on neighbouring shards do not share one. A deriving Shard keeps
// the alignment.
struct alignas(64) TwoFifoShard {
  using Queue = std::list<FifoNode>;  // front: the oldest, evicted first
  // The index's keys view the nodes' keys: list nodes never move, not even
  // when spliced from the small queue to main.
  using Index = std::unordered_map<std::string_view, Queue::iterator>;

  std::size_t& queue_bytes(bool in_main) noexcept { return in_main ? main_held : small_held; }

  /// A new key's entry, at the back of main or of the small queue.
  void insert(std::string_view key, std::string_view value, std::optional<TimePoint> expires_at,
              std::uint8_t codec_tag, bool to_main) {
    Queue& queue = to_main ? main : small;
    queue.emplace_back(std::string(key), std::string(value), expires_at, codec_tag, to_main);
    index.emplace(queue.back().key, std::prev(queue.end()));
    queue_bytes(to_main) += queue.back().cost();
  }

  /// A present key's new value: it keeps its place and its reads.
  void replace(FifoNode& node, std::string_view value, std::optional<TimePoint> expires_at,
               std::uint8_t codec_tag) {
    queue_bytes(node.in_main) -= node.value.size();
    queue_bytes(node.in_main) += value.size();
    node.value.assign(value);
    node.expires_at = expires_at;
    node.codec_tag = codec_tag;
  }

  void remove(Index::iterator it) {
    const auto node = it->second;
    queue_bytes(node->in_main) -= node->cost();
    index.erase(it);
    (node->in_main ? main : small).erase(node);
  }
  /// Drops the node at a queue's front (for capacity).
  void evict(Queue::iterator node) {
    remove(index.find(node->key));
    ++evictions;
  }

  bool over_capacity() const noexcept {
    return (max_entries != 0 && index.size() > max_entries) ||
           (max_bytes != 0 && small_held + main_held > max_bytes);
  }
  bool small_over_share() const noexcept {
    return (max_entries != 0 && small.size() > small_entries) ||
           (max_bytes != 0 && small_held > small_bytes);
  }

  /// The small queue's oldest entry moves to main's back, its reads reset.
  void promote_oldest_small() {
    const auto node = small.begin();
    const std::size_t cost = node->cost();
    small_held -= cost;
    main_held += cost;
    node->in_main = true;
    node->reads.store(0, std::memory_order_relaxed);
    main.splice(main.end(), small, node);
  }

  /// Main's next victim: its oldest entry, after every older one read since
  /// its last pass went round again with one read fewer. Main is not empty.
  Queue::iterator main_victim() {
    while (true) {
      const auto node = main.begin();
      const std::uint8_t reads = node->read_count();
      if (reads == 0) return node;
      node->reads.store(static_cast<std::uint8_t>(reads - 1), std::memory_order_relaxed);
      main.splice(main.end(), main, node);
    }
  }

  /// Drops every entry (a deriving Shard's `clear` also forgets what it
  /// remembers of evicted keys).
  void clear_entries() {
    index.clear();
    small.clear();
    main.clear();
    small_held = main_held = 0;
  }

  mutable ReadMostlyMutex mutex;
  Queue small, main;
  Index index;
  std::size_t small_held = 0, main_held = 0;  // key + value bytes of each queue
  std::size_t evictions = 0;                  // under the lock eviction holds anyway
  std::size_t max_entries = 0, max_bytes = 0;
  std::size_t small_entries = 0, small_bytes = 0;  // the small queue's share
};

/// A share of a capacity, in percent, at least 1 when the capacity is
/// bounded; 0 (no limit) stays 0.
inline std::size_t percent_of(std::size_t capacity, std::size_t percent) noexcept {
  if (capacity == 0) return 0;
  const std::size_t share = capacity * percent / 100;
  return share == 0 ? 1 : share;
}

/// The CachePolicy over `Shard`s deriving from TwoFifoShard, each with
/// `insert_new(hash, key, value, expires_at, codec_tag)`, `evict_to_capacity()`
/// and `clear()`. The caches derive from it and set the shards up.
template <class Shard>
class TwoFifoCache {
 public:
  /// The key's value and codec tag, or nullopt when absent or expired at `now` (an expired entry is
  /// dropped). A hit only counts the read; the entry stays where it is.
  std::optional<CachedValue> find(std::string_view key, TimePoint now) {
    return find_in_shard(shards_.of(key), key, now, note_fifo_read);
  }

  /// As find, but instead of copying the value out, calls `reader(value, codec_tag)` on it in
  /// place, with `value` a `std::string_view`, and returns whether it did. The reader runs under
  /// the shard's lock taken shared: it must not call back into this cache.
  template <class Reader>
  bool read(std::string_view key, TimePoint now, Reader&& reader) {
    return read_value_in_shard(shards_.of(key), key, now, note_fifo_read,
                               std::forward<Reader>(reader));
  }

  /// Inserts or replaces the key's entry, then evicts until its shard is within capacity. A
  /// replaced key keeps its place; where a new key goes is the cache's choice. An entry larger
  /// than a shard's byte capacity is not kept.
  void put(std::string_view key, std::string_view value, std::optional<TimePoint> expires_at,
           std::uint8_t codec_tag = 0) {
    const std::size_t hash = key_hash(key);
    Shard& shard = shards_.of_hash(hash);
    std::unique_lock lock(shard.mutex);
    auto it = shard.index.find(key);
    if (shard.max_bytes != 0 && key.size() + value.size() > shard.max_bytes) {
      if (it != shard.index.end()) shard.remove(it);  // it would evict everything
      return;
    }
    if (it != shard.index.end())
      shard.replace(*it->second, value, expires_at, codec_tag);
    else
      shard.insert_new(hash, key, value, expires_at, codec_tag);
    shard.evict_to_capacity();
  }

  /// Drops the key's entry, if any.
  void erase(std::string_view key) { shards_.erase(std::span<const std::string_view>(&key, 1)); }

  /// Drops the entries of every key, taking each shard's lock once for all
  /// its keys (what a batch write does to the keys it writes).
  void erase_many(std::span<const std::string_view> keys) { shards_.erase(keys); }

  /// Drops every entry, and what the cache remembers of evicted keys.
  void clear() {
    shards_.each_locked([](Shard& shard) { shard.clear(); });
  }

  /// The number of entries across all shards.
  std::size_t size() const {
    return shards_.sum([](const Shard& shard) { return shard.index.size(); });
  }

  /// Key + value bytes held, the quantity max_bytes bounds.
  std::size_t bytes() const {
    return shards_.sum([](const Shard& shard) { return shard.small_held + shard.main_held; });
  }

  /// Entries evicted for capacity since the cache was made (not erased ones).
  std::size_t evictions() const {
    return shards_.sum([](const Shard& shard) { return shard.evictions; });
  }

 protected:
  /// `shards` shards, rounded up to a power of two (0 means 1), for the
  /// deriving cache to set up.
  explicit TwoFifoCache(std::size_t shards) : shards_(shards) {}

  /// Sets each shard's capacities: `max_entries` and `max_bytes` split
  /// evenly, the small queue's share `small_percent` of each; then calls
  /// `more(shard)`.
  template <class More>
  void set_up(std::size_t max_entries, std::size_t max_bytes, std::size_t small_percent,
              More more) {
    shards_.set_up([&](Shard& shard) {
      shard.max_entries = shards_.share(max_entries);
      shard.max_bytes = shards_.share(max_bytes);
      shard.small_entries = percent_of(shard.max_entries, small_percent);
      shard.small_bytes = percent_of(shard.max_bytes, small_percent);
      more(shard);
    });
  }

 private:
  CacheShards<Shard> shards_;
};

}  // namespace detail

STRATA_END_NAMESPACE
