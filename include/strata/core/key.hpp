#pragma once
/// \file
/// Key validation. A key is 1 to STRATA_MAX_KEY_BYTES bytes, each in the
/// printable ASCII range 0x21-0x7E. The limit keeps every key usable, unescaped,
/// by every tier: a Redis key, a PostgreSQL text primary key, an S3 object key
/// that needs no URL-encoding surprises, and a file name after encoding.

#include "strata/core/config.hpp"
#include "strata/core/error.hpp"

#include <cstddef>       // std::size_t
#include <string_view>   // std::string_view
#include <system_error>  // std::error_code

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
  for (char c : key)
    if (!is_key_byte(c)) return false;
  return true;
}

/// errc::invalid_key for a key that breaks the rules above, success otherwise.
inline std::error_code validate_key(std::string_view key) noexcept {
  return is_valid_key(key) ? std::error_code{} : make_error_code(errc::invalid_key);
}

STRATA_END_NAMESPACE
