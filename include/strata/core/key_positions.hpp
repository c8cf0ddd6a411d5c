#pragma once
/// \file
/// detail::KeyPositions: which positions of a batch asked for a key. A
/// backend whose answer names keys rather than positions (PostgreSQL's
/// `key = ANY($1)` returns the rows it found, in its own order) places each
/// answer with one lookup here: an open-addressing table over the batch's
/// keys, built once, no allocation per key; or, while the answer follows a
/// batch sent in key order, one comparison.

#include "strata/core/config.hpp"
#include "strata/core/small_array.hpp"

#include <bit>          // std::bit_ceil
#include <cstddef>      // std::size_t
#include <cstdint>      // std::uint32_t
#include <functional>   // std::hash
#include <span>         // std::span
#include <string_view>  // std::string_view

STRATA_BEGIN_NAMESPACE
namespace detail {

class KeyPositions {
 public:
  /// Indexes `keys[p]` for every p in `positions` (at most 2^32 - 2 of them).
  /// `keys` must outlive this object.
  KeyPositions(std::span<const std::string_view> keys, std::span<const std::size_t> positions)
      : keys_(keys),
        positions_(positions),
        next_(positions.size()),
        mask_(std::bit_ceil(2 * positions.size() + 1) - 1),
        slots_(mask_ + 1),
        ascending_(strictly_ascending()) {
    if (!ascending_) build_table();
  }

  /// Calls `f(position)` for every position that asked for `key`; returns
  /// whether any did.
  template <class F>
  bool for_each(std::string_view key, F f) {
    // A batch sent in key order usually comes back in that order (an index
    // scan walks the sorted array; a table written in key order is read in
    // it): the key after the last one found is tried before any hashing, and
    // the table is built only when a row breaks the order. Ascending keys are
    // distinct, so that position is the only one asking.
    if (ascending_ && expected_ < positions_.size() && key_of(expected_) == key) {
      f(positions_[expected_++]);
      return true;
    }
    if (!table_built_) build_table();
    std::size_t slot = std::hash<std::string_view>{}(key)&mask_;
    while (slots_[slot] != empty) {
      if (key_of(slots_[slot]) == key) {
        if (ascending_) expected_ = slots_[slot] + std::size_t{1};
        for (std::uint32_t j = slots_[slot]; j != empty; j = next_[j]) f(positions_[j]);
        return true;
      }
      slot = (slot + 1) & mask_;
    }
    return false;
  }

 private:
  static constexpr std::uint32_t empty = 0xFFFF'FFFF;
  std::string_view key_of(std::size_t j) const noexcept { return keys_[positions_[j]]; }

  bool strictly_ascending() const noexcept {
    for (std::size_t j = 1; j < positions_.size(); ++j)
      if (!(key_of(j - 1) < key_of(j))) return false;
    return true;
  }

  void build_table() noexcept {
    for (std::uint32_t& slot : slots_) slot = empty;
    for (std::size_t j = 0; j < positions_.size(); ++j) {
      const std::string_view key = key_of(j);
      std::size_t slot = std::hash<std::string_view>{}(key)&mask_;
      while (slots_[slot] != empty && key_of(slots_[slot]) != key) slot = (slot + 1) & mask_;
      // A key asked for again joins the chain of the first asker.
      next_[j] = slots_[slot];
      slots_[slot] = static_cast<std::uint32_t>(j);
    }
    table_built_ = true;
  }

  std::span<const std::string_view> keys_;
  std::span<const std::size_t> positions_;
  SmallArray<std::uint32_t, 64> next_;    // j -> the previous asker of the same key, or empty
  std::size_t mask_;                      // slots - 1; slots is a power of two > 2 * positions
  SmallArray<std::uint32_t, 128> slots_;  // an asker of the key that hashes here, or empty
  bool ascending_;                        // each key sorts after the one before it
  bool table_built_ = false;
  std::size_t expected_ = 0;  // the j whose key comes next if rows follow the batch's order
};

}  // namespace detail
STRATA_END_NAMESPACE
