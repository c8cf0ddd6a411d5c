#pragma once
/// \file
/// The record envelope: the one binary layout every tier stores, so a record
/// can move between tiers byte for byte and be verified wherever it is read.
///
/// Layout (version 1, all integers little-endian, 48-byte header):
///
/// | offset | size | field                                                     |
/// |--------|------|-----------------------------------------------------------|
/// | 0      | 4    | magic "STRA"                                              |
/// | 4      | 1    | version (1)                                               |
/// | 5      | 1    | flags: bit 0 has expiry; bits 4-7 codec tag; others zero  |
/// | 6      | 2    | header size (48); a reader refuses a size it does not know|
/// | 8      | 8    | created, ms since the Unix epoch                          |
/// | 16     | 8    | updated, ms since the Unix epoch                          |
/// | 24     | 8    | expires, ms since the Unix epoch (0 unless flag bit 0)    |
/// | 32     | 8    | XXH3-64 of the value bytes                                |
/// | 40     | 8    | value length in bytes                                     |
/// | 48     | n    | value bytes                                               |

#include "strata/core/clock.hpp"
#include "strata/core/config.hpp"
#include "strata/core/error.hpp"

#include <cstddef>       // std::size_t
#include <cstdint>       // std::uint8_t, std::uint64_t
#include <cstring>       // std::memcpy
#include <optional>      // std::optional
#include <string>        // std::string
#include <string_view>   // std::string_view
#include <system_error>  // std::error_code

#ifndef XXH_INLINE_ALL
#define XXH_INLINE_ALL  // header-only: no libxxhash to link, symbols stay private
#endif
#include <xxhash.h>

STRATA_BEGIN_NAMESPACE

/// The layout version this header writes and reads.
inline constexpr std::uint8_t envelope_version = 1;
/// The header's size in bytes, before the value.
inline constexpr std::size_t envelope_header_bytes = 48;
/// The flags byte has four bits for the codec tag.
inline constexpr std::uint8_t envelope_max_codec_tag = 15;

namespace envelope_flags {
inline constexpr std::uint8_t has_expiry = 0x01;  ///< bit 0: the header's expires field is set
inline constexpr std::uint8_t codec_mask = 0xF0;  ///< bits 4-7: the codec tag
/// Bits a version-1 reader does not know; a record that sets one is refused.
inline constexpr std::uint8_t reserved_mask = 0x0E;
}  // namespace envelope_flags

/// XXH3-64 of a value, the checksum every envelope carries.
inline std::uint64_t value_checksum(std::string_view value) noexcept {
  return XXH3_64bits(value.data(), value.size());
}

/// What a writer supplies besides the value.
struct EnvelopeMeta {
  /// When the record was created; TieredStore::batch_set stamps it and `updated` with the time of
  /// the write.
  TimePoint created{};
  TimePoint updated{};                    ///< when the value was last written
  std::optional<TimePoint> expires_at{};  ///< nullopt: never expires
  std::uint8_t codec_tag = 0;             ///< 0-15, set by a typed codec; 0 means raw bytes
};

/// A decoded envelope. `value` points into the bytes it was decoded from.
struct EnvelopeView {
  EnvelopeMeta meta{};         ///< times, expiry and codec tag from the header
  std::uint64_t checksum = 0;  ///< the XXH3-64 of the value the header declares (already verified)
  std::string_view value{};    ///< the value bytes
};

/// The envelope's size for a value of `value_bytes` bytes.
constexpr std::size_t encoded_envelope_size(std::size_t value_bytes) noexcept {
  return envelope_header_bytes + value_bytes;
}

namespace detail {

inline void put_u64(char* out, std::uint64_t v) noexcept {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}
inline std::uint64_t get_u64(const char* in) noexcept {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= std::uint64_t{static_cast<unsigned char>(in[i])} << (8 * i);
  return v;
}
inline std::int64_t to_ms(TimePoint t) noexcept { return t.time_since_epoch().count(); }
inline TimePoint from_ms(std::uint64_t ms) noexcept {
  return TimePoint{Millis{static_cast<std::int64_t>(ms)}};
}

}  // namespace detail

/// Writes the envelope of `value` into `out`, which must hold exactly
/// encoded_envelope_size(value.size()) bytes. Lets a batch encode every record
/// into one buffer instead of allocating per record.
inline void encode_envelope_into(char* out, const EnvelopeMeta& meta,
                                 std::string_view value) noexcept {
  std::uint8_t flags = static_cast<std::uint8_t>((meta.codec_tag & envelope_max_codec_tag) << 4);
  if (meta.expires_at) flags |= envelope_flags::has_expiry;
  out[0] = 'S';
  out[1] = 'T';
  out[2] = 'R';
  out[3] = 'A';
  out[4] = static_cast<char>(envelope_version);
  out[5] = static_cast<char>(flags);
  out[6] = static_cast<char>(envelope_header_bytes & 0xFF);
  out[7] = static_cast<char>(envelope_header_bytes >> 8);
  detail::put_u64(out + 8, static_cast<std::uint64_t>(detail::to_ms(meta.created)));
  detail::put_u64(out + 16, static_cast<std::uint64_t>(detail::to_ms(meta.updated)));
  detail::put_u64(
      out + 24, meta.expires_at ? static_cast<std::uint64_t>(detail::to_ms(*meta.expires_at)) : 0);
  detail::put_u64(out + 32, value_checksum(value));
  detail::put_u64(out + 40, value.size());
  if (!value.empty()) std::memcpy(out + envelope_header_bytes, value.data(), value.size());
}

/// The envelope of `value` with `meta`, in a new string.
inline std::string encode_envelope(const EnvelopeMeta& meta, std::string_view value) {
  std::string out(encoded_envelope_size(value.size()), '\0');
  encode_envelope_into(out.data(), meta, value);
  return out;
}

/// The expiry in an envelope's header, read without touching the value (a tier
/// that only has the first bytes at hand, such as a file's header). nullopt
/// when the record never expires or the bytes are not a version-1 header;
/// decode_envelope is what judges a record's integrity.
inline std::optional<TimePoint> peek_expiry(std::string_view header) noexcept {
  if (header.size() < envelope_header_bytes || header.substr(0, 4) != "STRA" ||
      static_cast<std::uint8_t>(header[4]) != envelope_version ||
      (static_cast<std::uint8_t>(header[5]) & envelope_flags::has_expiry) == 0)
    return std::nullopt;
  return detail::from_ms(detail::get_u64(header.data() + 24));
}

/// The result of decoding: the view, or the error that stopped it.
struct DecodedEnvelope {
  EnvelopeView envelope{};  ///< the decoded view; meaningful only when `error` is empty
  std::error_code error{};  ///< errc::corrupt_record or errc::checksum_mismatch
  /// True when the bytes decoded and verified.
  explicit operator bool() const noexcept { return !error; }
};

/// Decodes and verifies `bytes`. Never reads outside `bytes`: truncated,
/// foreign or future-version bytes give errc::corrupt_record, a value that does
/// not match its checksum gives errc::checksum_mismatch.
inline DecodedEnvelope decode_envelope(std::string_view bytes) noexcept {
  const auto corrupt = [] { return DecodedEnvelope{{}, make_error_code(errc::corrupt_record)}; };
  if (bytes.size() < envelope_header_bytes) return corrupt();
  const char* in = bytes.data();
  if (in[0] != 'S' || in[1] != 'T' || in[2] != 'R' || in[3] != 'A') return corrupt();
  if (static_cast<std::uint8_t>(in[4]) != envelope_version) return corrupt();
  const auto flags = static_cast<std::uint8_t>(in[5]);
  if ((flags & envelope_flags::reserved_mask) != 0) return corrupt();
  const std::size_t header =
      static_cast<unsigned char>(in[6]) | (std::size_t{static_cast<unsigned char>(in[7])} << 8);
  if (header != envelope_header_bytes) return corrupt();
  const std::uint64_t length = detail::get_u64(in + 40);
  if (length != bytes.size() - envelope_header_bytes) return corrupt();

  DecodedEnvelope out;
  out.envelope.meta.created = detail::from_ms(detail::get_u64(in + 8));
  out.envelope.meta.updated = detail::from_ms(detail::get_u64(in + 16));
  if (flags & envelope_flags::has_expiry)
    out.envelope.meta.expires_at = detail::from_ms(detail::get_u64(in + 24));
  out.envelope.meta.codec_tag = static_cast<std::uint8_t>(flags >> 4);
  out.envelope.checksum = detail::get_u64(in + 32);
  out.envelope.value = bytes.substr(envelope_header_bytes);
  if (value_checksum(out.envelope.value) != out.envelope.checksum)
    out.error = make_error_code(errc::checksum_mismatch);
  return out;
}

STRATA_END_NAMESPACE
