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
  // Eight bytes at a time (every store call validates its keys, and a byte
  // loop cost ~7 instructions a byte). Per byte b: b < 0x80 (high bit of ~b),
  // b >= 0x21 (b + 0x5F reaches 0x80) and b <= 0x7E (b + 0x01 stays below
  // 0x80). For b < 0x80 neither sum carries into the next byte; a byte
  // >= 0x80 fails its own test, so a carry it makes cannot pass the word.
  constexpr std::uint64_t high = 0x8080'8080'8080'8080u;
  constexpr std::uint64_t ones = 0x0101'0101'0101'0101u;
  const auto all_key_bytes = [](std::uint64_t w) {
    return (~w & (w + 0x5F * ones) & ~(w + ones) & high) == high;
  };
  const auto word_at = [&](std::size_t at) {
    std::uint64_t w;
    std::memcpy(&w, key.data() + at, 8);
    return w;
  };
  if (key.size() < 8) {  // one word, padded with '!', a key byte
    std::uint64_t w = 0x21 * ones;
    std::memcpy(&w, key.data(), key.size());
    return all_key_bytes(w);
  }
  for (std::size_t at = 0; at + 8 < key.size(); at += 8)
    if (!all_key_bytes(word_at(at))) return false;
  return all_key_bytes(word_at(key.size() - 8));  // the last eight bytes, overlapping
}

/// errc::invalid_key for a key that breaks the rules above, success otherwise.
inline std::error_code validate_key(std::string_view key) noexcept {
  return is_valid_key(key) ? std::error_code{} : make_error_code(errc::invalid_key);
}

STRATA_END_NAMESPACE
