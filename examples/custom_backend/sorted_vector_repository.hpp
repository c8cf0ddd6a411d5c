#pragma once
// A custom strata Repository, as a downstream team would write one: records
// in one vector sorted by an encoding of their key (hex, so that a key prefix
// stays a prefix and the order stays byte order), behind one mutex. It stores
// whole batches under the lock, so it declares atomic_batches.

#include <strata/strata.hpp>

#include <algorithm>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace example {

class SortedVectorRepository {
 public:
  static constexpr bool atomic_batches = true;  // a batch is applied whole, under one lock
  static constexpr bool in_process = true;      // no I/O: the store need not overlap calls

  explicit SortedVectorRepository(strata::Clock clock = {})
      : state_(std::make_unique<State>()), clock_(clock) {}

  strata::BatchResult store_many(std::span<const strata::Record> records) {
    strata::BatchResult result(records.size());
    const std::lock_guard lock(state_->mutex);
    for (const strata::Record& record : records) {
      Entry entry{encode(record.key), std::string(record.envelope), record.expires_at};
      const auto at = lower_bound(entry.encoded_key);
      if (at != state_->entries.end() && at->encoded_key == entry.encoded_key)
        *at = std::move(entry);
      else
        state_->entries.insert(at, std::move(entry));
    }
    result.mark_all_stored();
    return result;
  }

  strata::LoadResult load_many(std::span<const std::string_view> keys) const {
    strata::LoadResult result(keys.size());
    const strata::TimePoint now = clock_.now();
    const std::lock_guard lock(state_->mutex);
    for (std::size_t i = 0; i < keys.size(); ++i) {
      const Entry* entry = find_live(encode(keys[i]), now);
      if (entry != nullptr)
        result.set_found(i, entry->envelope);
      else
        result.set_absent(i);
    }
    return result;
  }

  /// How many of `keys` held a live record; expired ones go too, uncounted.
  std::size_t erase_many(std::span<const std::string_view> keys) {
    const strata::TimePoint now = clock_.now();
    std::size_t erased = 0;
    const std::lock_guard lock(state_->mutex);
    for (std::string_view key : keys) {
      const std::string encoded = encode(key);
      const auto at = lower_bound(encoded);
      if (at == state_->entries.end() || at->encoded_key != encoded) continue;
      erased += at->live(now) ? 1 : 0;
      state_->entries.erase(at);
    }
    return erased;
  }

  /// Live records whose key starts with `prefix`, in key order; the cursor is
  /// the encoded key of the last record returned.
  strata::ScanPage scan(std::string_view prefix, std::string_view cursor, std::size_t limit) const {
    strata::ScanPage page;
    const std::string encoded_prefix = encode(prefix);
    const strata::TimePoint now = clock_.now();
    const std::lock_guard lock(state_->mutex);
    auto at = cursor.empty() ? lower_bound(encoded_prefix) : upper_bound(cursor);
    for (; at != state_->entries.end() && at->encoded_key.starts_with(encoded_prefix); ++at) {
      if (!at->live(now)) continue;
      if (page.records.size() == limit) {
        page.next_cursor =
            page.records.empty() ? std::string(cursor) : encode(page.records.back().key);
        return page;
      }
      page.records.push_back({decode(at->encoded_key), at->envelope});
    }
    page.done = true;
    return page;
  }

 private:
  struct Entry {
    std::string encoded_key;
    std::string envelope;
    std::optional<strata::TimePoint> expires_at;
    bool live(strata::TimePoint now) const {
      return !expires_at || !strata::is_expired(*expires_at, now);
    }
  };
  struct State {
    std::mutex mutex;
    std::vector<Entry> entries;  // sorted by encoded_key
  };

  static std::string encode(std::string_view key) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string hex;
    hex.reserve(key.size() * 2);
    for (unsigned char c : key) {
      hex.push_back(digits[c >> 4]);
      hex.push_back(digits[c & 15]);
    }
    return hex;
  }
  static std::string decode(std::string_view hex) {
    const auto nibble = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
    std::string key;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
      key.push_back(static_cast<char>(nibble(hex[i]) * 16 + nibble(hex[i + 1])));
    return key;
  }

  std::vector<Entry>::iterator lower_bound(std::string_view encoded) const {
    return std::lower_bound(state_->entries.begin(), state_->entries.end(), encoded,
                            [](const Entry& e, std::string_view k) { return e.encoded_key < k; });
  }
  std::vector<Entry>::iterator upper_bound(std::string_view encoded) const {
    return std::upper_bound(state_->entries.begin(), state_->entries.end(), encoded,
                            [](std::string_view k, const Entry& e) { return k < e.encoded_key; });
  }
  const Entry* find_live(const std::string& encoded, strata::TimePoint now) const {
    const auto at = lower_bound(encoded);
    if (at == state_->entries.end() || at->encoded_key != encoded || !at->live(now)) return nullptr;
    return &*at;
  }

  std::unique_ptr<State> state_;  // movable, as a Repository handle must be
  strata::Clock clock_;
};

}  // namespace example
