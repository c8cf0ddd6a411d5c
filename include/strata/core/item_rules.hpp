#pragma once
/// \file
/// detail::item_error: the rules an Item must meet before any tier sees it
/// (its key, value size, TTL and codec tag). Every write path of every store
/// checks items here; routing, which depends on the store, is checked by the
/// store itself.

#include "strata/core/config.hpp"
#include "strata/core/envelope.hpp"
#include "strata/core/error.hpp"
#include "strata/core/key.hpp"
#include "strata/core/store_types.hpp"

#include <cstddef>  // std::size_t

STRATA_BEGIN_NAMESPACE
namespace detail {

/// Why `item` cannot be written, or an empty errc{} when it can: an invalid
/// key, a value above `max_value_bytes`, a negative TTL or one expiring later
/// than `longest_ttl` from now (zero never expires, so it cannot be too
/// long), a codec tag above 15.
inline errc item_error(const Item& item, std::size_t max_value_bytes, Millis longest_ttl) noexcept {
  if (!is_valid_key(item.key)) return errc::invalid_key;
  if (item.value.size() > max_value_bytes) return errc::value_too_large;
  if (item.ttl < Millis{0} || (item.ttl > Millis{0} && item.ttl > longest_ttl))
    return errc::invalid_ttl;
  if (item.codec_tag > envelope_max_codec_tag) return errc::invalid_codec_tag;
  return errc{};
}

}  // namespace detail
STRATA_END_NAMESPACE
