#pragma once
/// \file
/// MemoryRepository: the embedded HOT tier. An ordered map per shard, a
/// reader-writer lock per shard, TTL read through the injected Clock.
///
/// Thread safety: every member may be called concurrently. store_many and
/// erase_many lock every shard they touch (in ascending order, so they cannot
/// deadlock) and so apply all-or-none and become visible at once
/// (atomic_batches = true). After any call the repository is consistent; there
/// is no failure state to recover from.

#include "strata/core/batch_result.hpp"
#include "strata/core/clock.hpp"
#include "strata/core/config.hpp"
#include "strata/core/load_result.hpp"
#include "strata/core/record.hpp"
#include "strata/core/small_array.hpp"

#include <algorithm>     // std::min
#include <bit>           // std::bit_ceil, std::countr_zero
#include <cstddef>       // std::size_t
#include <cstdint>       // std::uint32_t, std::uint64_t
#include <functional>    // std::less, std::hash
#include <map>           // std::map
#include <memory>        // std::unique_ptr
#include <mutex>         // std::unique_lock
#include <optional>      // std::optional
#include <shared_mutex>  // std::shared_mutex, std::shared_lock
#include <span>          // std::span
#include <string>        // std::string
#include <string_view>   // std::string_view

STRATA_BEGIN_NAMESPACE

/// Sharding and expiry of the in-memory tier.
struct MemoryOptions {
  std::size_t shards = 16;  ///< rounded up to a power of two; 0 means 1
  Clock clock{};            ///< decides expiry; the system clock by default
};

/// The embedded HOT tier: records in ordered maps, one per shard, each behind a reader-writer lock;
/// what a test or a single process wants when it needs no server. Models ScannableRepository.
class MemoryRepository {
 public:
  /// True: a batch takes every shard lock it needs, so readers see all of it or none.
  static constexpr bool atomic_batches = true;
  /// True: calls do no I/O, so the store never hands them to another thread.
  static constexpr bool in_process = true;

  MemoryRepository() : MemoryRepository(MemoryOptions{}) {}
  /// A repository with `options.shards` shards (rounded up to a power of two).
  explicit MemoryRepository(MemoryOptions options)
      : clock_(options.clock),
        shard_count_(std::bit_ceil(options.shards == 0 ? std::size_t{1} : options.shards)),
        shards_(std::make_unique<Shard[]>(shard_count_)) {}

  /// Stores every record, all under the locks of the shards they touch.
  BatchResult store_many(std::span<const Record> records) {
    BatchResult result(records.size());
    {
      const ShardLocks locks(*this, records, [](const Record& record) { return record.key; });
      for (std::size_t i = 0; i < records.size(); ++i) {
        const Record& record = records[i];
        auto& map = locks.shard(i).map;
        auto it = map.find(record.key);
        if (it == map.end()) it = map.emplace(std::string(record.key), Entry{}).first;
        Entry& entry = it->second;
        entry.envelope.assign(record.envelope);
        entry.expires_at = record.expires_at;
      }
    }
    result.mark_all_stored();
    return result;
  }

  /// Per key the unexpired value, or absent.
  LoadResult load_many(std::span<const std::string_view> keys) const {
    LoadResult result(keys.size());
    const TimePoint now = clock_.now();
    for (std::size_t i = 0; i < keys.size(); ++i) {
      const Shard& shard = shard_of(keys[i]);
      std::shared_lock lock(shard.mutex);
      auto it = shard.map.find(keys[i]);
      if (it != shard.map.end() && it->second.live(now))
        result.set_found(i, it->second.envelope);
      else
        result.set_absent(i);
    }
    return result;
  }

  /// Erases the keys and counts the unexpired ones that existed.
  EraseResult erase_many(std::span<const std::string_view> keys) {
    const TimePoint now = clock_.now();
    std::size_t erased = 0;
    const ShardLocks locks(*this, keys, [](std::string_view key) { return key; });
    for (std::size_t i = 0; i < keys.size(); ++i) {
      const std::string_view key = keys[i];
      Shard& shard = locks.shard(i);
      auto it = shard.map.find(key);
      if (it == shard.map.end()) continue;
      erased += it->second.live(now);
      shard.map.erase(it);
    }
    return {erased, {}};
  }

  /// Live records whose key starts with `prefix`, in key order, after `cursor`
  /// (the last key of the previous page).
  ScanPage scan(std::string_view prefix, std::string_view cursor, std::size_t limit) const {
    ScanPage page;
    const TimePoint now = clock_.now();
    const std::string_view from = cursor.empty() ? prefix : cursor;
    // Each shard contributes its first limit + 1 candidates; the smallest
    // `limit` of all of them are the page, and a leftover means more pages.
    std::map<std::string, std::string, std::less<>> candidates;
    for (std::size_t s = 0; s < shard_count_; ++s) {
      std::shared_lock lock(shards_[s].mutex);
      const auto& map = shards_[s].map;
      auto it = cursor.empty() ? map.lower_bound(from) : map.upper_bound(from);
      for (std::size_t taken = 0; it != map.end() && taken <= limit; ++it) {
        if (!it->first.starts_with(prefix)) break;
        if (!it->second.live(now)) continue;
        candidates.emplace(it->first, it->second.envelope);
        ++taken;
      }
    }
    page.done = candidates.size() <= limit;
    for (auto& [key, envelope] : candidates) {
      if (page.records.size() == limit) break;
      page.records.push_back({key, std::move(envelope)});
    }
    if (!page.records.empty()) page.next_cursor = page.records.back().key;
    return page;
  }

  /// Removes expired records, returning how many.
  std::size_t purge_expired() {
    const TimePoint now = clock_.now();
    std::size_t purged = 0;
    for (std::size_t s = 0; s < shard_count_; ++s) {
      std::unique_lock lock(shards_[s].mutex);
      purged += std::erase_if(shards_[s].map, [&](const auto& kv) { return !kv.second.live(now); });
    }
    return purged;
  }

  /// Records held, expired or not (a diagnostic, not a count of live keys).
  std::size_t size() const {
    std::size_t n = 0;
    for (std::size_t s = 0; s < shard_count_; ++s) {
      std::shared_lock lock(shards_[s].mutex);
      n += shards_[s].map.size();
    }
    return n;
  }

 private:
  struct Entry {
    std::string envelope;
    std::optional<TimePoint> expires_at;
    bool live(TimePoint now) const noexcept { return !expires_at || !is_expired(*expires_at, now); }
  };
  struct Shard {
    mutable std::shared_mutex mutex;
    std::map<std::string, Entry, std::less<>> map;
  };

  std::size_t shard_index(std::string_view key) const noexcept {
    return std::hash<std::string_view>{}(key) & (shard_count_ - 1);
  }
  Shard& shard_of(std::string_view key) noexcept { return shards_[shard_index(key)]; }
  const Shard& shard_of(std::string_view key) const noexcept { return shards_[shard_index(key)]; }

  /// Locks exclusively, in ascending shard order, every shard one of the
  /// items maps to, and keeps each item's shard so that no key is hashed twice.
  /// No allocation for up to 16 items and 256 shards.
  class ShardLocks {
   public:
    template <class Items, class KeyOf>
    ShardLocks(MemoryRepository& repo, const Items& items, KeyOf key_of)
        : repo_(repo), shard_of_(items.size()), touched_((repo.shard_count_ + 63) / 64, 0) {
      for (std::size_t i = 0; i < items.size(); ++i) {
        const std::size_t s = repo.shard_index(key_of(items[i]));
        shard_of_[i] = static_cast<std::uint32_t>(s);
        touched_[s / 64] |= std::uint64_t{1} << (s % 64);
      }
      std::size_t locked = 0;
      try {
        for_each_touched([&](std::size_t s) {
          repo.shards_[s].mutex.lock();
          ++locked;
        });
      } catch (...) {  // std::system_error from the mutex: release what was taken
        for_each_touched([&](std::size_t s) {
          if (locked > 0) repo.shards_[s].mutex.unlock(), --locked;
        });
        throw;
      }
    }
    ShardLocks(const ShardLocks&) = delete;
    ShardLocks& operator=(const ShardLocks&) = delete;
    ~ShardLocks() {
      for_each_touched([&](std::size_t s) { repo_.shards_[s].mutex.unlock(); });
    }

    /// The shard of item i, locked.
    Shard& shard(std::size_t i) const noexcept { return repo_.shards_[shard_of_[i]]; }

   private:
    template <class F>
    void for_each_touched(F f) const {
      for (std::size_t w = 0; w < touched_.size(); ++w)
        for (std::uint64_t bits = touched_[w]; bits != 0; bits &= bits - 1)
          f(w * 64 + static_cast<std::size_t>(std::countr_zero(bits)));
    }

    MemoryRepository& repo_;
    detail::SmallArray<std::uint32_t, 16> shard_of_;
    detail::SmallArray<std::uint64_t, 4> touched_;
  };

  Clock clock_;
  std::size_t shard_count_;
  std::unique_ptr<Shard[]> shards_;
};

STRATA_END_NAMESPACE
