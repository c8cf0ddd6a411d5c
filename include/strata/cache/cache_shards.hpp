#pragma once
/// \file
/// detail::CacheShards: what LruCache, S3FifoCache and TinyLfuCache share: a power-of-two
/// array of shards chosen by key hash, each with its own
/// `mutex` (a detail::ReadMostlyMutex), capacities split evenly between them, totals
/// summed shard by shard, and the hit path (a shared lock, the policy's mark
/// of a read, an expired entry dropped), copying the value out or handing
/// it to a reader in place.

#include "strata/core/cached_value.hpp"
#include "strata/core/clock.hpp"
#include "strata/core/config.hpp"
#include "strata/core/small_array.hpp"

#include <bit>           // std::bit_ceil
#include <cstddef>       // std::size_t
#include <cstdint>       // std::uint32_t
#include <functional>    // std::hash
#include <memory>        // std::unique_ptr, std::make_unique
#include <mutex>         // std::unique_lock
#include <optional>      // std::optional
#include <shared_mutex>  // std::shared_lock
#include <span>          // std::span
#include <string_view>   // std::string_view
#include <utility>       // std::forward

STRATA_BEGIN_NAMESPACE

namespace detail {

/// The hash a cache picks a key's shard by (callers may reuse it).
inline std::size_t key_hash(std::string_view key) noexcept {
  return std::hash<std::string_view>{}(key);
}

template <class Shard>
class CacheShards {
 public:
  /// `requested` shards, rounded up to a power of two; 0 means 1.
  explicit CacheShards(std::size_t requested)
      : count_(std::bit_ceil(requested == 0 ? std::size_t{1} : requested)),
        shards_(std::make_unique<Shard[]>(count_)) {}

  static std::size_t hash(std::string_view key) noexcept { return key_hash(key); }
  Shard& of_hash(std::size_t hash) noexcept { return shards_[hash & (count_ - 1)]; }
  Shard& of(std::string_view key) noexcept { return of_hash(hash(key)); }

  /// A capacity `total` split evenly, rounded up so that a small total stays
  /// usable; 0 (no limit) stays 0.
  std::size_t share(std::size_t total) const noexcept {
    return total == 0 ? std::size_t{0} : (total + count_ - 1) / count_;
  }

  /// Calls `f(shard)` on every shard, under no lock: for construction.
  template <class F>
  void set_up(F f) {
    for (std::size_t i = 0; i < count_; ++i) f(shards_[i]);
  }
  /// Calls `f(shard)` on every shard under its lock taken exclusively.
  template <class F>
  void each_locked(F f) {
    for (std::size_t i = 0; i < count_; ++i) {
      std::unique_lock lock(shards_[i].mutex);
      f(shards_[i]);
    }
  }
  /// Calls `f(shard, key)` for every key, each shard's lock taken
  /// exclusively once for all its keys: a batch's erases cost a lock per
  /// shard, not per key (an exclusive lock looks at every reader stripe).
  /// Keys of one shard come in input order.
  template <class F>
  void each_locked_by_shard(std::span<const std::string_view> keys, F f) {
    if (keys.size() <= count_) {  // a small batch: grouping would cost more than it saves
      for (const std::string_view key : keys) {
        Shard& shard = of(key);
        std::unique_lock lock(shard.mutex);
        f(shard, key);
      }
      return;
    }
    // A stable counting sort of the keys by shard.
    SmallArray<std::uint32_t, 64> next(count_ + 1, 0);  // then: the next slot of each shard
    SmallArray<std::uint32_t, 256> shard_of(keys.size());
    for (std::size_t i = 0; i < keys.size(); ++i) {
      shard_of[i] = static_cast<std::uint32_t>(hash(keys[i]) & (count_ - 1));
      ++next[shard_of[i] + 1];
    }
    for (std::size_t s = 1; s <= count_; ++s) next[s] += next[s - 1];
    SmallArray<std::uint32_t, 256> order(keys.size());
    for (std::size_t i = 0; i < keys.size(); ++i)
      order[next[shard_of[i]]++] = static_cast<std::uint32_t>(i);
    std::size_t begin = 0;  // next[s] is now one past shard s's last slot
    for (std::size_t s = 0; s < count_; begin = next[s++]) {
      if (next[s] == begin) continue;
      std::unique_lock lock(shards_[s].mutex);
      for (std::size_t j = begin; j < next[s]; ++j) f(shards_[s], keys[order[j]]);
    }
  }
  /// Drops the entries of `keys` (a Shard has `index`, a map from key, and
  /// `remove(index iterator)`). A batch larger than the shard count first
  /// looks whether anything is cached at all, and in an empty cache (a
  /// process rebuilding its HOT tier after a restart, a bulk load) hashes
  /// nothing. Either way a key's erase takes effect at one instant inside
  /// this call, when its shard is visited: a shard seen empty has nothing of
  /// it to drop.
  void erase(std::span<const std::string_view> keys) {
    if (keys.size() > count_ && empty()) return;
    each_locked_by_shard(keys, [](Shard& shard, std::string_view key) {
      if (auto it = shard.index.find(key); it != shard.index.end()) shard.remove(it);
    });
  }
  /// Whether no shard holds an entry, each looked at under its lock taken
  /// shared.
  bool empty() const {
    for (std::size_t i = 0; i < count_; ++i) {
      std::shared_lock lock(shards_[i].mutex);
      if (!shards_[i].index.empty()) return false;
    }
    return true;
  }
  /// The sum of `f(shard)` over the shards, each read under its lock taken shared.
  template <class F>
  std::size_t sum(F f) const {
    std::size_t n = 0;
    for (std::size_t i = 0; i < count_; ++i) {
      std::shared_lock lock(shards_[i].mutex);
      n += f(shards_[i]);
    }
    return n;
  }

 private:
  std::size_t count_;
  std::unique_ptr<Shard[]> shards_;
};

/// The hit path both caches share: looks `key` up under its shard's lock
/// taken shared and, for a live entry, calls `note_read(node)` (the policy's
/// mark of a read: it must only touch the node's atomics), then
/// `on_hit(node)`, still under the lock, and returns true. An entry found
/// expired at `now` is dropped under the lock taken exclusively, if it is
/// still there and still expired (another thread may have replaced it
/// meanwhile). The shard's `index` maps keys to list iterators of nodes with
/// `value`, `codec_tag` and `expires_at`, and its `remove(index iterator)`
/// drops one.
template <class Shard, class NoteRead, class OnHit>
bool read_in_shard(Shard& shard, std::string_view key, TimePoint now, NoteRead note_read,
                   OnHit&& on_hit) {
  {
    std::shared_lock lock(shard.mutex);
    const auto it = shard.index.find(key);
    if (it == shard.index.end()) return false;
    const auto& node = *it->second;
    if (!node.expires_at || !is_expired(*node.expires_at, now)) {
      note_read(node);
      on_hit(node);
      return true;
    }
  }
  std::unique_lock lock(shard.mutex);
  const auto it = shard.index.find(key);
  if (it != shard.index.end() && it->second->expires_at && is_expired(*it->second->expires_at, now))
    shard.remove(it);
  return false;
}

/// read_in_shard that copies a live entry's value and codec tag out.
template <class Shard, class NoteRead>
std::optional<CachedValue> find_in_shard(Shard& shard, std::string_view key, TimePoint now,
                                         NoteRead note_read) {
  std::optional<CachedValue> found;
  read_in_shard(shard, key, now, note_read, [&](const auto& node) {
    found.emplace(CachedValue{node.value, node.codec_tag});
  });
  return found;
}

/// A cache's `read`: calls `reader(value, codec_tag)` on a live entry.
template <class Shard, class NoteRead, class Reader>
bool read_value_in_shard(Shard& shard, std::string_view key, TimePoint now, NoteRead note_read,
                         Reader&& reader) {
  return read_in_shard(shard, key, now, note_read, [&](const auto& node) {
    std::forward<Reader>(reader)(std::string_view(node.value), node.codec_tag);
  });
}

}  // namespace detail

STRATA_END_NAMESPACE
