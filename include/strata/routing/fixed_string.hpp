#pragma once
/// \file
/// A string usable as a template argument, for compile-time routes.

#include "strata/core/config.hpp"

#include <cstddef>      // std::size_t
#include <string_view>  // std::string_view

STRATA_BEGIN_NAMESPACE

/// A string literal as a template argument (`Route<"pos:", Tier::hot>`).
template <std::size_t N>
struct FixedString {
  /// Public so that FixedString is a structural type (a valid template argument).
  char chars[N]{};

  /// Copies the literal, its terminating NUL included.
  constexpr FixedString(const char (&text)[N]) noexcept {  // NOLINT: implicit by design
    for (std::size_t i = 0; i < N; ++i) chars[i] = text[i];
  }
  /// The text, without the terminating NUL.
  constexpr std::string_view view() const noexcept { return {chars, N - 1}; }
};

STRATA_END_NAMESPACE
