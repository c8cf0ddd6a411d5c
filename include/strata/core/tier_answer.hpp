#pragma once
/// \file
/// Reading one tier's answer (a LoadResult of envelopes) into a read's
/// result: adopting the answer whole when it covers the batch, opening each
/// slot's envelope, and settling each key (found, absent, failed, or on to a
/// lower tier). None of it depends on the store's policies or the tier, so
/// these are plain functions that every TieredStore shares, not member
/// templates copied into each store and each of its tiers.

#include "strata/core/clock.hpp"
#include "strata/core/config.hpp"
#include "strata/core/envelope.hpp"
#include "strata/core/error.hpp"
#include "strata/core/load_result.hpp"
#include "strata/core/small_array.hpp"
#include "strata/core/tier.hpp"

#include <cstddef>       // std::size_t
#include <cstdint>       // std::uint8_t
#include <optional>      // std::optional
#include <string_view>   // std::string_view
#include <system_error>  // std::error_code
#include <utility>       // std::swap

STRATA_BEGIN_NAMESPACE
namespace detail {

/// The LoadResult whose slot j holds the tier's answer for its j-th key
/// (`m` keys asked). `sized` says whether `result` holds this read's slots
/// yet (it may hold an earlier read's, to be reused). A tier asked for all
/// `n` keys of the batch, in order, whose answer covers them, becomes the
/// batch's result when that is not sized yet: nothing is lost and no second
/// LoadResult is allocated. Otherwise the result is reset to `n` lookups (if
/// it was not yet) and the answer stays apart.
inline LoadResult& adopt_or_size(LoadResult& result, bool& sized, LoadResult& answer, std::size_t n,
                                 std::size_t m) {
  if (sized) return answer;
  sized = true;
  if (m == n && answer.size() == n) {
    std::swap(result, answer);
    return result;
  }
  result.reset(n);
  return answer;
}

/// What one slot of a tier's answer holds once its envelope is opened.
struct OpenedSlot {
  LookupStatus status = LookupStatus::absent;  ///< found, absent (or expired), failed
  std::error_code error{};                     ///< when failed: the tier's or the envelope's
  bool bad_checksum = false;                   ///< the envelope failed its checksum
  std::optional<TimePoint> expires_at{};       ///< when found: the record's expiry
};

/// Opens the envelope in `slot`, the tier's answer for `key`. When found, the
/// slot's value becomes the stored value (the header stripped in place, no
/// allocation) and its codec tag is set; an expired record is absent. The
/// clock is read only for a record with an expiry, once per read
/// (`clock_read` keeps it).
inline OpenedSlot open_slot(std::string_view key, Lookup& slot, const Clock& clock,
                            std::optional<TimePoint>& clock_read) {
  if (slot.failed()) return {LookupStatus::failed, slot.error};
  if (slot.absent()) return {};
  const DecodedEnvelope decoded = decode_envelope(key, slot.value);
  if (!decoded)
    return {LookupStatus::failed, decoded.error, decoded.error == errc::checksum_mismatch};
  const std::optional<TimePoint> expires = decoded.envelope.meta.expires_at;
  if (expires) {
    if (!clock_read) clock_read = clock.now();
    if (is_expired(*expires, *clock_read)) return {};
  }
  slot.value.erase(0, decoded.envelope.header_size);
  slot.codec_tag = decoded.envelope.meta.codec_tag;
  return {LookupStatus::found, {}, false, expires};
}

// Where each key of a read stands while the tiers answer in turn, hot to
// cold: `route[i]` is the tier still to ask (a lower one after a miss or a
// failure that falls back), `failed_above[i]` says an upper tier failed key i
// (empty when failures do not fall back: then none is tracked). `lower` is
// the next present tier below the one that answered, or tier_count.

/// Whether an upper tier failed key i.
inline bool upper_failed(const SmallArray<std::uint8_t, 16>& failed_above, std::size_t i) noexcept {
  return failed_above.size() != 0 && failed_above[i] != 0;
}

/// The tier answered "absent" for key i: the key goes on to the lower tier
/// when misses fall back and there is one; otherwise it is absent, unless an
/// upper tier failed it ("absent" would hide that failure: its error stays).
inline void settle_absent(LoadResult& result, SmallArray<std::uint8_t, 16>& route,
                          const SmallArray<std::uint8_t, 16>& failed_above, std::size_t i,
                          bool misses_fall_back, std::size_t lower) {
  if (misses_fall_back && lower < tier_count)
    route[i] = static_cast<std::uint8_t>(lower);
  else if (!upper_failed(failed_above, i))
    result.set_absent(i);
}

/// The tier failed key i with `error`: final when failures do not fall back;
/// otherwise the first (upper) error is kept and the key goes on to the lower
/// tier, if any.
inline void settle_failure(LoadResult& result, SmallArray<std::uint8_t, 16>& route,
                           SmallArray<std::uint8_t, 16>& failed_above, std::size_t i,
                           std::size_t lower, std::error_code error) {
  if (failed_above.size() == 0) {
    result.set_failed(i, error);
    return;
  }
  if (!failed_above[i]) result.set_failed(i, error);
  failed_above[i] = 1;
  if (lower < tier_count) route[i] = static_cast<std::uint8_t>(lower);
}

}  // namespace detail
STRATA_END_NAMESPACE
