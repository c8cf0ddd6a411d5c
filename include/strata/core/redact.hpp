#pragma once
/// \file
/// redacted(): the one way a backend URL or connection string becomes text.
/// strata's command and its operations print, log and record backends by
/// their URL; a password in one must never reach output, a log, an error
/// message or a snapshot. Every such text passes through this function.

#include "strata/core/config.hpp"

#include <cctype>       // std::isalnum, std::tolower
#include <cstddef>      // std::size_t
#include <string>       // std::string
#include <string_view>  // std::string_view

STRATA_BEGIN_NAMESPACE

namespace detail {

/// Whether a parameter name names a secret: password, sslpassword, passwd,
/// pwd, secret, secret_access_key, token, auth_token, ... (case-insensitive).
inline bool names_secret(std::string_view name) noexcept {
  std::string lower;
  for (char c : name)
    lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  for (std::string_view word : {"password", "passwd", "pwd", "secret", "token"})
    if (lower.find(word) != std::string::npos) return true;
  return false;
}

inline bool is_name_char(char c) noexcept {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-' || c == '.';
}

}  // namespace detail

/// The text of a URL or connection string with every secret replaced by
/// `***`, whatever its scheme and whether or not it parses:
///  - the password of a user-info part, `user:PASS@` or `:PASS@` (up to the
///    last '@', so a password holding '@' or '/' is covered whole);
///  - the value of any `name=value` whose name names a secret
///    (`password=`, `sslpassword=`, `secret_key=`, `token=`, ...), as a URL
///    query parameter or a keyword connection string (`password = 'a b'`,
///    quoted with backslash escapes as libpq reads it).
/// Text with no secret comes back unchanged. When in doubt it hides more.
inline std::string redacted(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  // The user-info password: from the first ':' after the scheme's "//" (or
  // the start, for text with no scheme) to the last '@'.
  std::size_t start = 0;
  if (const auto scheme = text.find("://"); scheme != std::string_view::npos) start = scheme + 3;
  std::string_view rest = text;
  if (const auto at = text.rfind('@'); at != std::string_view::npos && at >= start) {
    if (const auto colon = text.find(':', start); colon != std::string_view::npos && colon < at) {
      out.append(text.substr(0, colon + 1)).append("***");
      rest = text.substr(at);
    }
  }
  // name=value pairs, in a query string or a keyword connection string.
  std::size_t i = 0;
  while (i < rest.size()) {
    if (!detail::is_name_char(rest[i]) ||
        (i > 0 && detail::is_name_char(rest[i - 1]))) {  // not the start of a name
      out.push_back(rest[i++]);
      continue;
    }
    std::size_t end = i;
    while (end < rest.size() && detail::is_name_char(rest[end])) ++end;
    std::size_t eq = end;
    while (eq < rest.size() && rest[eq] == ' ') ++eq;
    if (eq >= rest.size() || rest[eq] != '=' || !detail::names_secret(rest.substr(i, end - i))) {
      out.append(rest.substr(i, end - i));
      i = end;
      continue;
    }
    std::size_t value = eq + 1;
    while (value < rest.size() && rest[value] == ' ') ++value;
    out.append(rest.substr(i, value - i)).append("***");
    if (value < rest.size() && rest[value] == '\'') {  // quoted: to the unescaped closing quote
      ++value;
      while (value < rest.size() && rest[value] != '\'') value += rest[value] == '\\' ? 2 : 1;
      i = value + 1;
    } else {
      while (value < rest.size() &&
             std::string_view(" &;,#\t\n").find(rest[value]) == std::string_view::npos)
        ++value;
      i = value;
    }
  }
  return out;
}

STRATA_END_NAMESPACE
