#pragma once
/// \file
/// redis_hash_slot: which of Redis Cluster's 16384 hash slots a key lives in.
///
/// The rule is the cluster specification's: CRC16 (XMODEM: polynomial 0x1021,
/// initial value 0, no reflection) of the key, modulo 16384. If the key holds
/// a `{...}` whose content is not empty, only the content of the first such
/// braces is hashed ("{user1000}.following" and "{user1000}.followers" share a
/// slot; "foo{}{bar}" hashes the whole key, because the first braces are empty).

#include "strata/core/config.hpp"

#include <array>        // std::array
#include <cstddef>      // std::size_t
#include <cstdint>      // std::uint16_t
#include <string_view>  // std::string_view

STRATA_BEGIN_NAMESPACE

/// The number of hash slots of a Redis Cluster.
inline constexpr std::size_t redis_cluster_slots = 16384;

namespace detail {

inline constexpr std::array<std::uint16_t, 256> crc16_xmodem_table = [] {
  std::array<std::uint16_t, 256> table{};
  for (unsigned byte = 0; byte < 256; ++byte) {
    unsigned crc = byte << 8;
    for (int bit = 0; bit < 8; ++bit) crc = (crc & 0x8000U) != 0 ? (crc << 1) ^ 0x1021U : crc << 1;
    table[byte] = static_cast<std::uint16_t>(crc);
  }
  return table;
}();

}  // namespace detail

/// CRC16/XMODEM of `bytes`: the checksum Redis Cluster hashes keys with
/// (of "123456789" it is 0x31C3).
constexpr std::uint16_t crc16_xmodem(std::string_view bytes) noexcept {
  unsigned crc = 0;
  for (char ch : bytes)
    crc = (crc << 8) ^
          detail::crc16_xmodem_table[((crc >> 8) ^ static_cast<unsigned char>(ch)) & 0xFFU];
  return static_cast<std::uint16_t>(crc);
}

/// The part of `key` that Redis Cluster hashes: the content of the first
/// non-empty `{...}`, or else the whole key.
constexpr std::string_view redis_hash_tag(std::string_view key) noexcept {
  const std::size_t open = key.find('{');
  if (open == std::string_view::npos) return key;
  const std::size_t close = key.find('}', open + 1);
  if (close == std::string_view::npos || close == open + 1) return key;
  return key.substr(open + 1, close - open - 1);
}

/// The hash slot (0-16383) Redis Cluster stores `key` in.
constexpr std::uint16_t redis_hash_slot(std::string_view key) noexcept {
  return static_cast<std::uint16_t>(crc16_xmodem(redis_hash_tag(key)) % redis_cluster_slots);
}

STRATA_END_NAMESPACE
