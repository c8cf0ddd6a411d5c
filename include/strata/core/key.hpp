#pragma once
/// \file
/// Key validation. A key is 1 to STRATA_MAX_KEY_BYTES bytes, each in the
/// printable ASCII range 0x21-0x7E. The limit keeps every key usable, unescaped,
/// by every tier: a Redis key, a PostgreSQL text primary key, an S3 object key
/// that needs no URL-encoding surprises, and a file name after encoding.

#include "strata/core/config.hpp"
#include "strata/core/error.hpp"

#include <cstddef>       // std::size_t
#include <cstdint>       // std::uint64_t
#include <cstring>       // std::memcpy
#include <string_view>   // std::string_view
#include <system_error>  // std::error_code
#include <type_traits>   // std::is_constant_evaluated

#if defined(__SSE2__)
#include <emmintrin.h>  // _mm_loadu_si128, _mm_add_epi8, _mm_cmplt_epi8, _mm_movemask_epi8
#endif

STRATA_BEGIN_NAMESPACE

/// The longest key in bytes (STRATA_MAX_KEY_BYTES, 512 unless the user defines it).
inline constexpr std::size_t max_key_bytes = STRATA_MAX_KEY_BYTES;

/// Whether one byte may appear in a key.
constexpr bool is_key_byte(char c) noexcept {
  const auto byte = static_cast<unsigned char>(c);
  return byte >= 0x21 && byte <= 0x7E;
}

/// Whether `key` is a valid key: 1 to max_key_bytes bytes, each printable ASCII other than space
/// (0x21-0x7E). An invalid key fails its item with errc::invalid_key.
constexpr bool is_valid_key(std::string_view key) noexcept {
  if (key.empty() || key.size() > max_key_bytes) return false;
  if (std::is_constant_evaluated()) {
    for (char c : key)
      if (!is_key_byte(c)) return false;
    return true;
  }
#if defined(__SSE2__)
  // Sixteen bytes at a time (every store call validates its keys; a byte loop
  // cost ~7 instructions a byte). Adding 0x5F maps 0x21-0x7E, and only those
  // bytes, onto 0x80-0xDD, which as signed bytes are exactly those below
  // -34 (0xDE): one add and one compare per vector. The last sixteen bytes
  // overlap the ones before; the verdicts are ANDed and read once.
  if (key.size() >= 16) {
    const __m128i shift = _mm_set1_epi8(0x5F);
    const __m128i limit = _mm_set1_epi8(-34);
    const auto key_bytes_at = [&](std::size_t at) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(key.data() + at));
      return _mm_cmplt_epi8(_mm_add_epi8(v, shift), limit);
    };
    // The first and last sixteen cover any key up to 32 bytes with no loop.
    __m128i all = _mm_and_si128(key_bytes_at(0), key_bytes_at(key.size() - 16));
    for (std::size_t at = 16; at + 16 < key.size(); at += 16)
      all = _mm_and_si128(all, key_bytes_at(at));
    return _mm_movemask_epi8(all) == 0xFFFF;
  }
#endif
  // Eight bytes at a time. Per byte b: b < 0x80 (high bit of ~b), b >= 0x21
  // (b + 0x5F reaches 0x80) and b <= 0x7E (b + 0x01 stays below 0x80). For
  // b < 0x80 neither sum carries into the next byte; a byte >= 0x80 fails its
  // own test, so a carry it makes cannot pass the word.
  constexpr std::uint64_t high = 0x8080'8080'8080'8080u;
  constexpr std::uint64_t ones = 0x0101'0101'0101'0101u;
  const auto key_bytes = [](std::uint64_t w) {
    return ~w & (w + 0x5F * ones) & ~(w + ones) & high;
  };
  const auto word_at = [&](std::size_t at) {
    std::uint64_t w;
    std::memcpy(&w, key.data() + at, 8);
    return w;
  };
  if (key.size() < 8) {  // one word, padded with '!', a key byte
    std::uint64_t w = 0x21 * ones;
    std::memcpy(&w, key.data(), key.size());
    return key_bytes(w) == high;
  }
  std::uint64_t all = key_bytes(word_at(key.size() - 8));  // the last eight, overlapping
  for (std::size_t at = 0; at + 8 < key.size(); at += 8) all &= key_bytes(word_at(at));
  return all == high;
}

/// errc::invalid_key for a key that breaks the rules above, success otherwise.
inline std::error_code validate_key(std::string_view key) noexcept {
  return is_valid_key(key) ? std::error_code{} : make_error_code(errc::invalid_key);
}

STRATA_END_NAMESPACE
