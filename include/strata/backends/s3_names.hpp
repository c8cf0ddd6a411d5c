#pragma once
/// \file
/// How a strata key becomes an S3 object name and a request path.
///
/// An object is named `key_prefix + escaped(key)`. Escaping leaves a key as
/// it is, except where S3 servers and HTTP stacks would not keep it verbatim:
/// '%' becomes %25 (so the mapping reverses), a '/' that would open an empty
/// path segment (a leading one, or one after another '/') becomes %2F, and a
/// "." or ".." segment becomes %2E / %2E%2E (servers resolve dot segments:
/// s3rver stores "a/../b" as "b", which would silently merge two keys). So
/// "pos:AAPL" and "orders/2026/11/ord-1" name objects of the same name.
///
/// The name is then URI-encoded for the request path (SigV4's rule: every
/// byte but A-Za-z0-9 -._~ and the '/' separators), once.

#include "strata/core/config.hpp"
#include "strata/core/percent_encoding.hpp"

#include <cstddef>      // std::size_t
#include <optional>     // std::optional
#include <string>       // std::string
#include <string_view>  // std::string_view

STRATA_BEGIN_NAMESPACE

namespace detail::s3 {

/// The object name of a key (without the prefix).
inline std::string escape_key(std::string_view key) {
  std::string out;
  out.reserve(key.size());
  std::size_t segment_start = 0;  // in key
  for (std::size_t i = 0; i <= key.size(); ++i) {
    if (i < key.size() && key[i] != '/') continue;
    const std::string_view segment = key.substr(segment_start, i - segment_start);
    if (segment == "." || segment == "..") {
      for (std::size_t k = 0; k < segment.size(); ++k) out += "%2E";
    } else {
      for (char c : segment) {
        if (c == '%')
          out += "%25";
        else
          out.push_back(c);
      }
    }
    if (i < key.size()) out += segment.empty() ? "%2F" : "/";  // an empty segment keeps its '/'
    segment_start = i + 1;
  }
  return out;
}

/// The key an object name (prefix removed) stands for, or nullopt if strata
/// could not have written that name.
inline std::optional<std::string> unescape_key(std::string_view name) {
  std::optional<std::string> key = percent_decode(name);
  if (!key || escape_key(*key) != name) return std::nullopt;  // not a name escape_key produces
  return key;
}

/// The part of a key prefix's escaped form that every escaped key with that
/// prefix starts with. Only a trailing "." or ".." can escape differently
/// once the key goes on (".x" stays, "./" becomes "%2E/"), so it is dropped;
/// the caller filters the listed keys by the real prefix.
inline std::string escaped_list_prefix(std::string_view key_prefix) {
  const std::size_t slash = key_prefix.rfind('/');
  const std::string_view last =
      slash == std::string_view::npos ? key_prefix : key_prefix.substr(slash + 1);
  if (last == "." || last == "..") key_prefix.remove_suffix(last.size());
  std::string escaped = escape_key(key_prefix);
  return escaped;
}

/// SigV4's URI encoding: unreserved bytes stay, every other is %XX;
/// '/' stays too when `keep_slash`.
inline std::string uri_encode(std::string_view text, bool keep_slash) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    const bool unreserved = (byte >= 'A' && byte <= 'Z') || (byte >= 'a' && byte <= 'z') ||
                            (byte >= '0' && byte <= '9') || c == '-' || c == '.' || c == '_' ||
                            c == '~';
    if (unreserved || (keep_slash && c == '/'))
      out.push_back(c);
    else
      append_percent_escape(out, byte);
  }
  return out;
}

}  // namespace detail::s3

STRATA_END_NAMESPACE
