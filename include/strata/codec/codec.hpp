#pragma once
/// \file
/// The seam between typed values and stored bytes: the Codec concept, and
/// what a decode returns — the value, or an error that names where in the
/// value the bytes went wrong ("$.legs[2].qty: expected integer").
///
/// A codec has a tag (1-15) that travels in the envelope's flags, so a reader
/// can refuse bytes written by a codec it does not know instead of misreading
/// them. Tag 0 means raw bytes (no codec).

#include "strata/core/config.hpp"

#include <concepts>     // std::same_as, std::convertible_to
#include <cstdint>      // std::uint8_t
#include <optional>     // std::optional
#include <string>       // std::string
#include <string_view>  // std::string_view
#include <utility>      // std::move

STRATA_BEGIN_NAMESPACE

/// Why bytes did not decode: where (a JSONPath-like path from "$") and what.
struct CodecError {
  std::string path;     ///< "$", "$.legs[2].qty", ...
  std::string message;  ///< "expected integer", "missing required field", ...
  /// "path: message", for logs and exceptions.
  std::string to_string() const { return path + ": " + message; }
};

/// The decoded value, or the CodecError that stopped the decode.
template <class T>
class Decoded {
 public:
  /// A decoded value, or the error that kept the bytes from decoding; implicit so that a codec
  /// returns either.
  ///@{
  Decoded(T value) : value_(std::move(value)) {}  // NOLINT: implicit, like std::optional
  Decoded(CodecError error) : error_(std::move(error)) {}
  ///@}

  /// True when decoding succeeded.
  explicit operator bool() const noexcept { return value_.has_value(); }
  /// The decoded value; only when decoding succeeded.
  ///@{
  T& operator*() & noexcept { return *value_; }
  const T& operator*() const& noexcept { return *value_; }
  T&& operator*() && noexcept { return std::move(*value_); }
  const T* operator->() const noexcept { return &*value_; }
  ///@}
  /// The error; empty when decoding succeeded.
  const CodecError& error() const noexcept { return error_; }

 private:
  std::optional<T> value_;
  CodecError error_{};
};

/// `C` turns `T` into bytes and back. encode appends to `out` (so a batch can
/// reuse one buffer) and returns an error for a value it cannot represent
/// faithfully (e.g. a string that is not UTF-8 in JSON); decode never throws
/// and never trusts its input.
template <class C, class T>
concept Codec = requires(const T& value, std::string& out, std::string_view bytes) {
  { C::tag } -> std::convertible_to<std::uint8_t>;
  { C::encode(value, out) } -> std::same_as<std::optional<CodecError>>;
  { C::decode(bytes) } -> std::same_as<Decoded<T>>;
};

STRATA_END_NAMESPACE
