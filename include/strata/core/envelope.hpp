#pragma once
/// \file
/// The record envelope: the one binary layout every tier stores, so a record
/// can move between tiers byte for byte and be verified wherever it is read.
///
/// Layout, version 2 (what strata writes since 0.2; all integers little-endian,
/// 56-byte header):
///
/// | offset | size | field                                                      |
/// |--------|------|------------------------------------------------------------|
/// | 0      | 4    | magic "STRA"                                               |
/// | 4      | 1    | version (2)                                                |
/// | 5      | 1    | flags: bit 0 has expiry; bits 4-7 codec tag; others zero   |
/// | 6      | 2    | header size (56); a reader refuses a size it does not know |
/// | 8      | 8    | created, ms since the Unix epoch (at most INT64_MAX)       |
/// | 16     | 8    | updated, ms since the Unix epoch (at most INT64_MAX)       |
/// | 24     | 8    | expires, ms since the epoch: 0 unless flag bit 0, else 1 to latest_expiry |
/// | 32     | 8    | value length in bytes                                      |
/// | 40     | 8    | XXH3-64 of the value bytes                                 |
/// | 48     | 8    | XXH3-64 of bytes 0-47, seeded with the XXH3-64 of the key  |
/// | 56     | n    | value bytes                                                |
///
/// The header checksum covers every other header byte (and, through the value
/// checksum, the value) and binds the record to its key: a record copied under
/// another key fails like a damaged one. A reader that has only the header (a
/// file's first bytes) can verify it alone. docs/adr/0012-envelope-v2.md says
/// why, and how version-1 records (48-byte header, value checksum only) are
/// still read.

#include "strata/core/clock.hpp"
#include "strata/core/config.hpp"
#include "strata/core/error.hpp"

#include <bit>           // std::endian
#include <cstddef>       // std::size_t
#include <cstdint>       // std::uint8_t, std::uint64_t
#include <cstring>       // std::memcpy
#include <limits>        // std::numeric_limits
#include <optional>      // std::optional
#include <string>        // std::string
#include <string_view>   // std::string_view
#include <system_error>  // std::error_code

#ifndef XXH_INLINE_ALL
#define XXH_INLINE_ALL  // header-only: no libxxhash to link, symbols stay private
#endif
#include <xxhash.h>

STRATA_BEGIN_NAMESPACE

/// The layout version this header writes.
inline constexpr std::uint8_t envelope_version = 2;
/// The header's size in bytes, before the value, in the version this header writes.
inline constexpr std::size_t envelope_header_bytes = 56;
/// The flags byte has four bits for the codec tag.
inline constexpr std::uint8_t envelope_max_codec_tag = 15;
/// The latest expiry a record can carry: 9999-12-31T23:59:59.999Z, which every
/// tier can represent (a PostgreSQL timestamp, an HTTP date, Redis' PX). A
/// write whose TTL reaches past it fails with errc::invalid_ttl.
inline constexpr TimePoint latest_expiry{Millis{253'402'300'799'999}};

namespace envelope_flags {
inline constexpr std::uint8_t has_expiry = 0x01;  ///< bit 0: the header's expires field is set
inline constexpr std::uint8_t codec_mask = 0xF0;  ///< bits 4-7: the codec tag
/// Bits no version defines; a record that sets one is refused.
inline constexpr std::uint8_t reserved_mask = 0x0E;
}  // namespace envelope_flags

/// XXH3-64 of a value, the value checksum every envelope carries.
inline std::uint64_t value_checksum(std::string_view value) noexcept {
  return XXH3_64bits(value.data(), value.size());
}

/// What a writer supplies besides the key and the value.
struct EnvelopeMeta {
  /// When the record was created; TieredStore::batch_set stamps it and `updated` with the time of
  /// the write.
  TimePoint created{};
  TimePoint updated{};                    ///< when the value was last written
  std::optional<TimePoint> expires_at{};  ///< nullopt: never expires; else at most latest_expiry
  std::uint8_t codec_tag = 0;             ///< 0-15, set by a typed codec; 0 means raw bytes
};

/// A decoded envelope. `value` points into the bytes it was decoded from.
struct EnvelopeView {
  EnvelopeMeta meta{};          ///< times, expiry and codec tag from the header
  std::uint8_t version = 0;     ///< the layout version the record was written in (1 or 2)
  std::size_t header_size = 0;  ///< where the value starts: 56 (version 2) or 48 (version 1)
  std::uint64_t checksum = 0;   ///< the XXH3-64 of the value the header declares (verified)
  std::string_view value{};     ///< the value bytes
};

/// The envelope's size for a value of `value_bytes` bytes, in the version written.
constexpr std::size_t encoded_envelope_size(std::size_t value_bytes) noexcept {
  return envelope_header_bytes + value_bytes;
}

namespace detail {

inline void put_u64(char* out, std::uint64_t v) noexcept {
  if constexpr (std::endian::native == std::endian::little) {
    std::memcpy(out, &v, 8);
  } else {
    for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
  }
}
inline std::uint64_t get_u64(const char* in) noexcept {
  std::uint64_t v = 0;
  if constexpr (std::endian::native == std::endian::little) {
    std::memcpy(&v, in, 8);
  } else {
    for (int i = 0; i < 8; ++i) v |= std::uint64_t{static_cast<unsigned char>(in[i])} << (8 * i);
  }
  return v;
}
inline std::int64_t to_ms(TimePoint t) noexcept { return t.time_since_epoch().count(); }
inline TimePoint from_ms(std::uint64_t ms) noexcept {
  return TimePoint{Millis{static_cast<std::int64_t>(ms)}};
}

inline constexpr std::size_t envelope_v1_header_bytes = 48;
inline constexpr std::uint64_t max_envelope_ms =
    static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());

/// The version-2 header checksum of `header` (its first 48 bytes) for `key`.
inline std::uint64_t header_checksum(std::string_view key, const char* header) noexcept {
  return XXH3_64bits_withSeed(header, 48, XXH3_64bits(key.data(), key.size()));
}

/// The header fields as read, before any check against the value.
struct ParsedHeader {
  std::error_code error{};
  std::uint8_t version = 0;
  std::size_t header_size = 0;
  std::uint8_t flags = 0;
  std::uint64_t created = 0, updated = 0, expires = 0, length = 0, value_sum = 0;
};

/// Reads and checks the header at the front of `bytes` (which may be the header
/// alone): structure, the strict rules for unused fields, and for version 2
/// the header checksum against `key`. Never reads past `bytes`.
inline ParsedHeader parse_header(std::string_view key, std::string_view bytes) noexcept {
  ParsedHeader h;
  const auto corrupt = [&] {
    h.error = make_error_code(errc::corrupt_record);
    return h;
  };
  if (bytes.size() < envelope_v1_header_bytes) return corrupt();
  const char* in = bytes.data();
  if (in[0] != 'S' || in[1] != 'T' || in[2] != 'R' || in[3] != 'A') return corrupt();
  h.version = static_cast<std::uint8_t>(in[4]);
  h.flags = static_cast<std::uint8_t>(in[5]);
  h.header_size =
      static_cast<unsigned char>(in[6]) | (std::size_t{static_cast<unsigned char>(in[7])} << 8);
  if (h.version == 2) {
    if (h.header_size != envelope_header_bytes || bytes.size() < envelope_header_bytes)
      return corrupt();
    h.length = get_u64(in + 32);
    h.value_sum = get_u64(in + 40);
    // Checked before any field is trusted: a flipped bit anywhere in the header
    // (or a record filed under another key) is a mismatch, whatever it hit.
    if (header_checksum(key, in) != get_u64(in + 48)) {
      h.error = make_error_code(errc::checksum_mismatch);
      return h;
    }
  } else if (h.version == 1) {
    if (h.header_size != envelope_v1_header_bytes) return corrupt();
    h.value_sum = get_u64(in + 32);
    h.length = get_u64(in + 40);
  } else {
    return corrupt();
  }
  if ((h.flags & envelope_flags::reserved_mask) != 0) return corrupt();
  h.created = get_u64(in + 8);
  h.updated = get_u64(in + 16);
  h.expires = get_u64(in + 24);
  // Every version's writer leaves expires 0 without the flag and writes a time
  // after the epoch with it, and no clock reads past INT64_MAX ms: anything
  // else is damage (in version 1, where no checksum covers the header, these
  // rules are what catches a flipped expiry bit).
  const bool has_expiry = (h.flags & envelope_flags::has_expiry) != 0;
  if (has_expiry ? h.expires == 0 || h.expires > max_envelope_ms : h.expires != 0) return corrupt();
  if (h.created > max_envelope_ms || h.updated > max_envelope_ms) return corrupt();
  return h;
}

}  // namespace detail

/// Writes the envelope of `value`, stored under `key`, into `out`, which must
/// hold exactly encoded_envelope_size(value.size()) bytes. Lets a batch encode
/// every record into one buffer instead of allocating per record. `meta` must
/// be valid: a codec tag of at most 15 and an expiry of at most latest_expiry
/// (TieredStore checks both before it encodes).
inline void encode_envelope_into(char* out, std::string_view key, const EnvelopeMeta& meta,
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
  detail::put_u64(out + 32, value.size());
  detail::put_u64(out + 40, value_checksum(value));
  detail::put_u64(out + 48, detail::header_checksum(key, out));
  if (!value.empty()) std::memcpy(out + envelope_header_bytes, value.data(), value.size());
}

/// The envelope of `value` stored under `key`, with `meta`, in a new string.
inline std::string encode_envelope(std::string_view key, const EnvelopeMeta& meta,
                                   std::string_view value) {
  std::string out(encoded_envelope_size(value.size()), '\0');
  encode_envelope_into(out.data(), key, meta, value);
  return out;
}

/// What a header alone says: its error, or the record's expiry.
struct EnvelopeHeader {
  std::error_code error{};                ///< corrupt_record or checksum_mismatch; empty when valid
  std::optional<TimePoint> expires_at{};  ///< nullopt: never expires (or `error` is set)
};

/// Verifies the header at the front of `bytes` (the header alone is enough) for
/// `key`, without touching the value: for a tier that reads a file's first bytes
/// to decide whether its record expired. A version-2 header is verified whole;
/// a version-1 header as far as its structure allows.
inline EnvelopeHeader peek_envelope_header(std::string_view key, std::string_view bytes) noexcept {
  const detail::ParsedHeader h = detail::parse_header(key, bytes);
  EnvelopeHeader out{h.error, std::nullopt};
  if (!h.error && (h.flags & envelope_flags::has_expiry) != 0)
    out.expires_at = detail::from_ms(h.expires);
  return out;
}

/// Whether the record in `bytes` (or its header alone) is known to have expired
/// at `now`. False for a header that does not verify: such a record is kept,
/// and reading it reports the damage instead of hiding it as "expired".
inline bool envelope_expired(std::string_view key, std::string_view bytes, TimePoint now) noexcept {
  const EnvelopeHeader header = peek_envelope_header(key, bytes);
  return !header.error && header.expires_at && is_expired(*header.expires_at, now);
}

/// The result of decoding: the view, or the error that stopped it.
struct DecodedEnvelope {
  EnvelopeView envelope{};  ///< the decoded view; meaningful only when `error` is empty
  std::error_code error{};  ///< errc::corrupt_record or errc::checksum_mismatch
  /// True when the bytes decoded and verified.
  explicit operator bool() const noexcept { return !error; }
};

/// Decodes and verifies `bytes`, the record stored under `key`. Never reads
/// outside `bytes`. Truncated, foreign, unknown-version bytes, or a header
/// field outside its rules give errc::corrupt_record; a header (version 2) or
/// value that does not match its checksum, or a version-2 record filed under
/// another key, gives errc::checksum_mismatch.
inline DecodedEnvelope decode_envelope(std::string_view key, std::string_view bytes) noexcept {
  const detail::ParsedHeader h = detail::parse_header(key, bytes);
  if (h.error) return DecodedEnvelope{{}, h.error};
  if (h.length != bytes.size() - h.header_size)
    return DecodedEnvelope{{}, make_error_code(errc::corrupt_record)};

  DecodedEnvelope out;
  out.envelope.version = h.version;
  out.envelope.header_size = h.header_size;
  out.envelope.meta.created = detail::from_ms(h.created);
  out.envelope.meta.updated = detail::from_ms(h.updated);
  if (h.flags & envelope_flags::has_expiry)
    out.envelope.meta.expires_at = detail::from_ms(h.expires);
  out.envelope.meta.codec_tag = static_cast<std::uint8_t>(h.flags >> 4);
  out.envelope.checksum = h.value_sum;
  out.envelope.value = bytes.substr(h.header_size);
  if (value_checksum(out.envelope.value) != h.value_sum)
    out.error = make_error_code(errc::checksum_mismatch);
  return out;
}

STRATA_END_NAMESPACE
