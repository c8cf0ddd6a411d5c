#pragma once
/// \file
/// LruCache: a sharded cache that evicts the least recently used entries, by
/// CLOCK (second chance): a hit only sets the entry's referenced bit, under
/// its shard's lock taken shared, and eviction gives an entry whose bit is set
/// one more round at the front instead of removing it. So reads never write
/// the shard's list and threads reading distinct keys do not serialise, at
/// the price of LRU's order being approximate between two evictions.
/// Capacity in entries and in bytes, per-entry expiry; find/put/erase are
/// O(1) (eviction amortised); each shard has its own lock, chosen by key hash.

#include "strata/cache/cache_shards.hpp"
#include "strata/cache/on_write.hpp"
#include "strata/cache/read_mostly_mutex.hpp"
#include "strata/core/cached_value.hpp"
#include "strata/core/clock.hpp"
#include "strata/core/config.hpp"

#include <atomic>         // std::atomic
#include <cstddef>        // std::size_t
#include <cstdint>        // std::uint8_t
#include <list>           // std::list
#include <mutex>          // std::unique_lock
#include <optional>       // std::optional
#include <span>           // std::span
#include <string>         // std::string
#include <string_view>    // std::string_view
#include <unordered_map>  // std::unordered_map
#include <utility>        // std::forward

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
  explicit LruCache(LruOptions options) : shards_(options.shards) {
    shards_.set_up([&](Shard& shard) {
      shard.max_entries = shards_.share(options.max_entries);
      shard.max_bytes = shards_.share(options.max_bytes);
    });
  }

  /// The key's value and codec tag, or nullopt when absent or expired at `now` (an expired entry is
  /// dropped). A hit marks the key used: the next eviction that reaches it passes over it once.
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

  /// Inserts or replaces the key's entry as the most recently used, then evicts the least recently
  /// used entries of its shard (by CLOCK, see the file comment) until the shard is within capacity.
  /// An entry larger than a shard's byte capacity is not kept.
  void put(std::string_view key, std::string_view value, std::optional<TimePoint> expires_at,
           std::uint8_t codec_tag = 0) {
    Shard& shard = shards_.of(key);
    const std::size_t cost = key.size() + value.size();
    std::unique_lock lock(shard.mutex);
    if (auto it = shard.index.find(key); it != shard.index.end()) shard.remove(it);
    if (shard.max_bytes != 0 && cost > shard.max_bytes) return;  // would evict everything
    shard.order.emplace_front(std::string(key), std::string(value), expires_at, codec_tag);
    shard.index.emplace(shard.order.front().key, shard.order.begin());
    shard.bytes += cost;
    shard.evict_to_capacity();
  }

  /// Drops the key's entry, if any.
  void erase(std::string_view key) { shards_.erase(std::span<const std::string_view>(&key, 1)); }

  /// Drops the entries of every key, taking each shard's lock once for all
  /// its keys (what a batch write does to the keys it writes).
  void erase_many(std::span<const std::string_view> keys) { shards_.erase(keys); }

  /// Drops every entry.
  void clear() {
    shards_.each_locked([](Shard& shard) {
      shard.index.clear();
      shard.order.clear();
      shard.bytes = 0;
    });
  }

  /// The number of entries across all shards.
  std::size_t size() const {
    return shards_.sum([](const Shard& shard) { return shard.index.size(); });
  }

  /// Key + value bytes held, the quantity max_bytes bounds.
  std::size_t bytes() const {
    return shards_.sum([](const Shard& shard) { return shard.bytes; });
  }

  /// Entries evicted for capacity since the cache was made (not erased ones).
  std::size_t evictions() const {
    return shards_.sum([](const Shard& shard) { return shard.evictions; });
  }

 private:
  struct Node {
    Node(std::string k, std::string v, std::optional<TimePoint> e, std::uint8_t tag)
        : key(std::move(k)), value(std::move(v)), expires_at(e), codec_tag(tag) {}
    std::string key;
    std::string value;
    std::optional<TimePoint> expires_at;
    std::uint8_t codec_tag;
    mutable std::atomic<bool> referenced{false};  ///< read since eviction last passed it
  };
  using Order = std::list<Node>;  // front = most recently put (or passed over)

  // A hit's mark. Written only when not yet set: a key read often stops writing its line.
  // A function object, not a function: the hit path inlines it without
  // following a pointer.
  static constexpr auto note_read = [](const Node& node) noexcept {
    if (!node.referenced.load(std::memory_order_relaxed))
      node.referenced.store(true, std::memory_order_relaxed);
  };

  // Padded to a cache line (see detail::TwoFifoShard): a thread locking one
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
    // From the back: an entry read since the last pass goes to the front with
    // its bit cleared, the first one not read goes. Ends within two passes.
    void evict_to_capacity() {
      while (!order.empty() && ((max_entries != 0 && index.size() > max_entries) ||
                                (max_bytes != 0 && bytes > max_bytes))) {
        const auto last = std::prev(order.end());
        if (last->referenced.load(std::memory_order_relaxed)) {
          last->referenced.store(false, std::memory_order_relaxed);
          order.splice(order.begin(), order, last);
          continue;
        }
        remove(index.find(last->key));
        ++evictions;
      }
    }

    mutable detail::ReadMostlyMutex mutex;
    Order order;
    Index index;
    std::size_t bytes = 0;
    std::size_t evictions = 0;  // under the lock eviction holds anyway
    std::size_t max_entries = 0;
    std::size_t max_bytes = 0;
  };

  detail::CacheShards<Shard> shards_;
};

STRATA_END_NAMESPACE
