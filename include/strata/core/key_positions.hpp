#pragma once
/// \file
/// detail::KeyPositions: which positions of a batch asked for a key. A
/// backend whose answer names keys rather than positions (PostgreSQL's
/// `key = ANY($1)` returns the rows it found, in its own order) places each
/// answer with one lookup here: an open-addressing table over the batch's
/// keys, built once, no allocation per key.

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
        slots_(mask_ + 1, empty) {
    for (std::size_t j = 0; j < positions.size(); ++j) {
      const std::string_view key = keys_[positions[j]];
      std::size_t slot = std::hash<std::string_view>{}(key)&mask_;
      while (slots_[slot] != empty && key_of(slots_[slot]) != key) slot = (slot + 1) & mask_;
      // A key asked for again joins the chain of the first asker.
      next_[j] = slots_[slot];
      slots_[slot] = static_cast<std::uint32_t>(j);
    }
  }

  /// Calls `f(position)` for every position that asked for `key`; returns
  /// whether any did.
  template <class F>
  bool for_each(std::string_view key, F f) const {
    std::size_t slot = std::hash<std::string_view>{}(key)&mask_;
    while (slots_[slot] != empty) {
      if (key_of(slots_[slot]) == key) {
        for (std::uint32_t j = slots_[slot]; j != empty; j = next_[j]) f(positions_[j]);
        return true;
      }
      slot = (slot + 1) & mask_;
    }
    return false;
  }

 private:
  static constexpr std::uint32_t empty = 0xFFFF'FFFF;
  std::string_view key_of(std::uint32_t j) const noexcept { return keys_[positions_[j]]; }

  std::span<const std::string_view> keys_;
  std::span<const std::size_t> positions_;
  SmallArray<std::uint32_t, 64> next_;    // j -> the previous asker of the same key, or empty
  std::size_t mask_;                      // slots - 1; slots is a power of two > 2 * positions
  SmallArray<std::uint32_t, 128> slots_;  // an asker of the key that hashes here, or empty
};

}  // namespace detail
STRATA_END_NAMESPACE
