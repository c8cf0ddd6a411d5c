#pragma once
/// \file
/// LruCache: a sharded least-recently-used cache with capacity in entries and
/// in bytes, and per-entry expiry. find/put/erase are O(1); each shard has its
/// own lock, chosen by key hash, so threads touching different keys rarely
/// contend.

#include "strata/cache/on_write.hpp"
#include "strata/core/cached_value.hpp"
#include "strata/core/clock.hpp"
#include "strata/core/config.hpp"

#include <bit>            // std::bit_ceil
#include <cstddef>        // std::size_t
#include <cstdint>        // std::uint8_t
#include <functional>     // std::hash
#include <list>           // std::list
#include <memory>         // std::unique_ptr
#include <mutex>          // std::mutex, std::lock_guard
#include <optional>       // std::optional
#include <string>         // std::string
#include <string_view>    // std::string_view
#include <unordered_map>  // std::unordered_map

STRATA_BEGIN_NAMESPACE

/// Capacity and sharding of an LruCache.
struct LruOptions {
  std::size_t max_entries = 100'000;  ///< across all shards; 0 means no entry limit
  std::size_t max_bytes = 64u << 20;  ///< key + value bytes across all shards; 0 means no limit
  std::size_t shards = 16;            ///< rounded up to a power of two; 0 means 1
};

/// The CachePolicy most stores want: a sharded LRU bounded in entries and bytes, with per-entry
/// expiry. `Policy` says whether a confirmed write fills the cache or only drops the old entry.
template <OnWrite Policy = OnWrite::populate>
class LruCache {
 public:
  /// Whether TieredStore puts a confirmed write's value (OnWrite::populate) or only erases the
  /// key.
  static constexpr bool populate_on_write = Policy == OnWrite::populate;

  LruCache() : LruCache(LruOptions{}) {}
  /// A cache of `options.shards` shards (rounded up to a power of two) sharing the capacities
  /// equally.
  explicit LruCache(LruOptions options)
      : shard_count_(std::bit_ceil(options.shards == 0 ? std::size_t{1} : options.shards)),
        shards_(std::make_unique<Shard[]>(shard_count_)) {
    // Capacity is split evenly; rounding up keeps a small total usable.
    const auto per_shard = [this](std::size_t total) {
      return total == 0 ? std::size_t{0} : (total + shard_count_ - 1) / shard_count_;
    };
    for (std::size_t i = 0; i < shard_count_; ++i) {
      shards_[i].max_entries = per_shard(options.max_entries);
      shards_[i].max_bytes = per_shard(options.max_bytes);
    }
  }

  /// The key's value and codec tag, or nullopt when absent or expired at `now` (an expired entry is
  /// dropped). A hit makes the key the most recently used.
  std::optional<CachedValue> find(std::string_view key, TimePoint now) {
    Shard& shard = shard_of(key);
    std::lock_guard lock(shard.mutex);
    auto it = shard.index.find(key);
    if (it == shard.index.end()) return std::nullopt;
    auto node = it->second;
    if (node->expires_at && is_expired(*node->expires_at, now)) {
      shard.remove(it);
      return std::nullopt;
    }
    shard.order.splice(shard.order.begin(), shard.order, node);
    return CachedValue{node->value, node->codec_tag};
  }

  /// Inserts or replaces the key's entry as the most recently used, then evicts the least recently
  /// used entries of its shard until the shard is within capacity. An entry larger than a shard's
  /// byte capacity is not kept.
  void put(std::string_view key, std::string_view value, std::optional<TimePoint> expires_at,
           std::uint8_t codec_tag = 0) {
    Shard& shard = shard_of(key);
    const std::size_t cost = key.size() + value.size();
    std::lock_guard lock(shard.mutex);
    if (auto it = shard.index.find(key); it != shard.index.end()) shard.remove(it);
    if (shard.max_bytes != 0 && cost > shard.max_bytes) return;  // would evict everything
    shard.order.push_front(Node{std::string(key), std::string(value), expires_at, codec_tag});
    shard.index.emplace(shard.order.front().key, shard.order.begin());
    shard.bytes += cost;
    shard.evict_to_capacity();
  }

  /// Drops the key's entry, if any.
  void erase(std::string_view key) {
    Shard& shard = shard_of(key);
    std::lock_guard lock(shard.mutex);
    if (auto it = shard.index.find(key); it != shard.index.end()) shard.remove(it);
  }

  /// Drops every entry.
  void clear() {
    for (std::size_t i = 0; i < shard_count_; ++i) {
      std::lock_guard lock(shards_[i].mutex);
      shards_[i].index.clear();
      shards_[i].order.clear();
      shards_[i].bytes = 0;
    }
  }

  /// The number of entries across all shards.
  std::size_t size() const {
    std::size_t n = 0;
    for (std::size_t i = 0; i < shard_count_; ++i) {
      std::lock_guard lock(shards_[i].mutex);
      n += shards_[i].index.size();
    }
    return n;
  }

  /// Key + value bytes held, the quantity max_bytes bounds.
  std::size_t bytes() const {
    std::size_t n = 0;
    for (std::size_t i = 0; i < shard_count_; ++i) {
      std::lock_guard lock(shards_[i].mutex);
      n += shards_[i].bytes;
    }
    return n;
  }

 private:
  struct Node {
    std::string key;
    std::string value;
    std::optional<TimePoint> expires_at;
    std::uint8_t codec_tag;
  };
  using Order = std::list<Node>;  // front = most recently used

  // Padded to a cache line (see S3FifoCache::Shard): a thread locking one
  // shard does not invalidate the line of the shard next to it.
  struct alignas(64) Shard {
    // The index's keys view the list nodes' keys: list nodes never move.
    using Index = std::unordered_map<std::string_view, typename Order::iterator>;

    void remove(typename Index::iterator it) {
      auto node = it->second;
      bytes -= node->key.size() + node->value.size();
      index.erase(it);
      order.erase(node);
    }
    void evict_to_capacity() {
      while (!order.empty() && ((max_entries != 0 && index.size() > max_entries) ||
                                (max_bytes != 0 && bytes > max_bytes)))
        remove(index.find(order.back().key));
    }

    mutable std::mutex mutex;
    Order order;
    Index index;
    std::size_t bytes = 0;
    std::size_t max_entries = 0;
    std::size_t max_bytes = 0;
  };

  Shard& shard_of(std::string_view key) noexcept {
    return shards_[std::hash<std::string_view>{}(key) & (shard_count_ - 1)];
  }

  std::size_t shard_count_;
  std::unique_ptr<Shard[]> shards_;
};

STRATA_END_NAMESPACE
