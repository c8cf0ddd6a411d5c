#pragma once
/// \file
/// %XX escapes (upper-case hex), shared by the backends that turn keys into
/// names: the filesystem tier's file names and the S3 tier's object names.
/// Which bytes get escaped is each backend's own rule; the escape itself, and
/// undoing it strictly, are the same everywhere.

#include "strata/core/config.hpp"

#include <cstddef>      // std::size_t
#include <optional>     // std::optional
#include <string>       // std::string
#include <string_view>  // std::string_view

STRATA_BEGIN_NAMESPACE

namespace detail {

inline void append_percent_escape(std::string& out, unsigned char byte) {
  static constexpr char hex[] = "0123456789ABCDEF";
  out.push_back('%');
  out.push_back(hex[byte >> 4]);
  out.push_back(hex[byte & 15]);
}

/// `text` with every %XX replaced by its byte, or nullopt when an escape is
/// cut short or not upper-case hex (no escaper of strata's writes one).
inline std::optional<std::string> percent_decode(std::string_view text) {
  const auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    const int hi = nibble(text[i + 1]), lo = nibble(text[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

}  // namespace detail

STRATA_END_NAMESPACE
