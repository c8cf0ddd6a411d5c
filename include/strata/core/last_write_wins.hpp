#pragma once
/// \file
/// detail::find_superseded: which positions of a batch a later write of the
/// same key supersedes; detail::settle_superseded gives them its outcome.
/// The store sends only the last write of each key in a batch, so that
/// storage ends with it whatever order a repository applies a batch in (S3
/// runs PUTs concurrently), and reports every earlier write of the key with
/// the outcome of the last (docs/adr/0013-integrity-at-the-edges.md).

#include "strata/core/batch_result.hpp"
#include "strata/core/config.hpp"
#include "strata/core/small_array.hpp"

#include <bit>          // std::bit_ceil
#include <cstddef>      // std::size_t
#include <cstdint>      // std::uint32_t
#include <string_view>  // std::string_view

#ifndef XXH_INLINE_ALL
#define XXH_INLINE_ALL
#endif
#include <xxhash.h>

STRATA_BEGIN_NAMESPACE
namespace detail {

/// Marks "no later write of this key".
inline constexpr std::uint32_t not_superseded = 0xFFFF'FFFF;

/// For each of the `n` positions for which `take(i)` is true, sets `next[i]`
/// to the next such position with the same key (`key_at(i)`); every other
/// position gets not_superseded. Returns how many
/// positions a later one supersedes. One pass over an open-addressing table
/// of positions (no allocation up to 32 keys); a batch of one is free.
template <class KeyAt, class Take>
std::size_t find_superseded(std::size_t n, KeyAt key_at, Take take, std::uint32_t* next) {
  for (std::size_t i = 0; i < n; ++i) next[i] = not_superseded;
  if (n < 2) return 0;
  const std::size_t capacity = std::bit_ceil(2 * n);
  const std::size_t mask = capacity - 1;
  SmallArray<std::uint32_t, 64> table(capacity, not_superseded);  // the last position seen per key
  std::size_t superseded = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (!take(i)) continue;
    const std::string_view key = key_at(i);
    for (std::size_t slot = XXH3_64bits(key.data(), key.size()) & mask;; slot = (slot + 1) & mask) {
      std::uint32_t& seen = table[slot];
      if (seen == not_superseded) {
        seen = static_cast<std::uint32_t>(i);
        break;
      }
      if (key_at(seen) == key) {
        next[seen] = static_cast<std::uint32_t>(i);
        seen = static_cast<std::uint32_t>(i);
        ++superseded;
        break;
      }
    }
  }
  return superseded;
}

/// Gives every superseded position (`next[i]`, see find_superseded) the
/// outcome of the last write of its key. Walks backwards, so a chain of
/// several writes of one key settles in one pass.
inline void settle_superseded(BatchResult& result, std::size_t n, const std::uint32_t* next) {
  for (std::size_t i = n; i-- > 0;) {
    if (next[i] == not_superseded) continue;
    if (result.stored(next[i]))
      result.mark_stored(i);
    else
      result.mark_failed(i, result.error(next[i]));
  }
}

}  // namespace detail
STRATA_END_NAMESPACE
