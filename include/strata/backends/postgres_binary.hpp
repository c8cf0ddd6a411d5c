#pragma once
/// \file
/// PostgreSQL's binary wire formats, as strata's PostgreSQL tier sends them:
/// one-dimensional arrays (binary query parameters, e.g. for unnest and
/// `= ANY`), COPY ... (FORMAT binary) rows, and timestamptz.
///
/// Why binary: text parameters would escape every bytea (hex doubles the
/// bytes) and the server would parse it back; binary is sent as is. All
/// integers on the wire are big-endian.

#include "strata/core/clock.hpp"
#include "strata/core/config.hpp"

#include <chrono>       // std::chrono::microseconds
#include <cstddef>      // std::size_t
#include <cstdint>      // std::int16_t, std::int32_t, std::int64_t, std::uint32_t
#include <optional>     // std::optional
#include <string>       // std::string
#include <string_view>  // std::string_view

STRATA_BEGIN_NAMESPACE

namespace detail::pg {

/// Type OIDs (src/include/catalog/pg_type.dat); stable across versions.
inline constexpr unsigned bytea_oid = 17;
inline constexpr unsigned text_oid = 25;
inline constexpr unsigned timestamptz_oid = 1184;
inline constexpr unsigned bytea_array_oid = 1001;
inline constexpr unsigned text_array_oid = 1009;
inline constexpr unsigned timestamptz_array_oid = 1185;

/// timestamptz on the wire: microseconds since 2000-01-01 00:00:00 UTC.
inline constexpr std::int64_t unix_to_pg_epoch_us = 946'684'800'000'000;

inline std::int64_t to_timestamptz(TimePoint t) noexcept {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count() -
         unix_to_pg_epoch_us;
}

inline void put_u16(std::string& out, std::uint16_t v) {
  const char bytes[2] = {static_cast<char>(v >> 8), static_cast<char>(v)};
  out.append(bytes, 2);
}
inline void put_u32(std::string& out, std::uint32_t v) {
  const char bytes[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                         static_cast<char>(v >> 8), static_cast<char>(v)};
  out.append(bytes, 4);
}
inline void put_i32(std::string& out, std::int32_t v) {
  put_u32(out, static_cast<std::uint32_t>(v));
}
inline void put_i64(std::string& out, std::int64_t v) {
  const auto u = static_cast<std::uint64_t>(v);
  put_u32(out, static_cast<std::uint32_t>(u >> 32));
  put_u32(out, static_cast<std::uint32_t>(u));
}

/// Reads a big-endian int64 from 8 bytes the caller has checked exist.
inline std::int64_t get_i64(const char* p) noexcept {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return static_cast<std::int64_t>(v);
}

/// A binary one-dimensional array parameter, built element by element.
/// `count` must be the number of elements that will follow.
class ArrayWriter {
 public:
  ArrayWriter(unsigned element_oid, std::size_t count, bool has_nulls, std::size_t reserve_bytes) {
    bytes_.reserve(20 + reserve_bytes);
    put_i32(bytes_, 1);  // dimensions
    put_i32(bytes_, has_nulls ? 1 : 0);
    put_u32(bytes_, element_oid);
    put_i32(bytes_, static_cast<std::int32_t>(count));  // length of the dimension
    put_i32(bytes_, 1);                                 // its lower bound
  }
  void add(std::string_view element) {
    put_i32(bytes_, static_cast<std::int32_t>(element.size()));
    bytes_.append(element);
  }
  void add(std::string_view prefix, std::string_view element) {
    put_i32(bytes_, static_cast<std::int32_t>(prefix.size() + element.size()));
    bytes_.append(prefix).append(element);
  }
  void add_timestamptz(std::optional<TimePoint> t) {
    if (!t) {
      put_i32(bytes_, -1);  // NULL
      return;
    }
    put_i32(bytes_, 8);
    put_i64(bytes_, to_timestamptz(*t));
  }
  const std::string& bytes() const noexcept { return bytes_; }

 private:
  std::string bytes_;
};

/// COPY ... FROM STDIN (FORMAT binary) data: a header, rows, a trailer.
class CopyWriter {
 public:
  explicit CopyWriter(std::size_t reserve_bytes) {
    bytes_.reserve(32 + reserve_bytes);
    bytes_.append("PGCOPY\n\377\r\n\0", 11);  // the signature, with its NUL
    put_i32(bytes_, 0);                       // flags: no OIDs
    put_i32(bytes_, 0);                       // header extension length
  }
  void begin_row(std::uint16_t fields) { put_u16(bytes_, fields); }
  void field(std::string_view bytes) {
    put_i32(bytes_, static_cast<std::int32_t>(bytes.size()));
    bytes_.append(bytes);
  }
  void field_timestamptz(std::optional<TimePoint> t) {
    if (!t) {
      put_i32(bytes_, -1);
      return;
    }
    put_i32(bytes_, 8);
    put_i64(bytes_, to_timestamptz(*t));
  }
  /// The trailer; no row may follow.
  const std::string& finish() {
    put_u16(bytes_, 0xFFFF);
    return bytes_;
  }

 private:
  std::string bytes_;
};

/// Bytes a row or array element costs beyond its data (length words).
inline constexpr std::size_t per_field_bytes = 4;

}  // namespace detail::pg

STRATA_END_NAMESPACE
