#pragma once
/// \file
/// RespWriter: encodes Redis commands in the wire protocol (RESP2: an array of
/// bulk strings) straight into one reusable buffer.
///
/// Why not hiredis' own formatting (redisAppendCommandArgv): it formats every
/// argument through a printf-like sdscatfmt and needs argv/length arrays built
/// first; on a 10k-key MSET that was a tenth of the client's instructions.
/// Encoding here is one append per piece into a buffer whose capacity is kept
/// across chunks, and it can be done while an earlier chunk is on the wire.
/// The bytes go to the socket straight from this buffer (detail::send_formatted
/// in backends/redis.hpp); hiredis reads the replies.
///
/// Binary-safe: arguments are length-prefixed, never scanned.

#include "strata/core/config.hpp"

#include <charconv>     // std::to_chars
#include <cstddef>      // std::size_t
#include <cstdint>      // std::int64_t
#include <string>       // std::string
#include <string_view>  // std::string_view

STRATA_BEGIN_NAMESPACE

namespace detail {

class RespWriter {
 public:
  /// Starts a command of `argc` arguments; exactly that many arg() must follow.
  void command(std::size_t argc) { length_line('*', argc); }
  void arg(std::string_view a) {
    length_line('$', a.size());
    buffer_.append(a).append("\r\n", 2);
  }
  /// One argument made of `prefix` followed by `a` (a namespaced key).
  void arg(std::string_view prefix, std::string_view a) {
    length_line('$', prefix.size() + a.size());
    buffer_.append(prefix).append(a).append("\r\n", 2);
  }
  /// One argument holding `n` in decimal (a PX time, a COUNT, a db number).
  void arg(std::int64_t n) {
    char digits[24];
    const auto end = std::to_chars(digits, digits + sizeof digits, n).ptr;
    arg(std::string_view(digits, static_cast<std::size_t>(end - digits)));
  }

  /// Bytes for one argument of `size` bytes: "$<size>\r\n<bytes>\r\n".
  static constexpr std::size_t arg_bytes(std::size_t size) noexcept { return size + 16; }

  void reserve(std::size_t bytes) { buffer_.reserve(bytes); }
  void clear() noexcept { buffer_.clear(); }  // keeps the capacity
  const char* data() const noexcept { return buffer_.data(); }
  std::size_t size() const noexcept { return buffer_.size(); }
  std::string_view view() const noexcept { return buffer_; }

 private:
  void length_line(char kind, std::size_t n) {
    char line[24];
    line[0] = kind;
    char* end = std::to_chars(line + 1, line + sizeof line - 2, n).ptr;
    *end++ = '\r';
    *end++ = '\n';
    buffer_.append(line, static_cast<std::size_t>(end - line));
  }

  std::string buffer_;
};

}  // namespace detail

STRATA_END_NAMESPACE
