#pragma once
/// \file
/// fmt formatters that make a log line useful: `fmt::print("{}", result)`.
///
/// - strata::errc and std::error_code: the category and the message
///   ("strata: invalid key: ..."); std::error_code only where fmt itself has
///   no formatter for it (fmt 10 added one in fmt/std.h).
/// - strata::Failure: "#3 'pos:X': strata: invalid key: ...".
/// - strata::BatchResult (and TypedBatchResult): "stored 998 of 1000; failed
///   #3 'pos:X': ..., #7 ...", the first three failures, then how many more.
/// Tier and StoreStats format through core/stats.hpp.

#include "strata/core/batch_result.hpp"
#include "strata/core/config.hpp"
#include "strata/core/error.hpp"

#include <fmt/format.h>

#include <concepts>      // std::derived_from
#include <cstddef>       // std::size_t
#include <system_error>  // std::error_code

STRATA_BEGIN_NAMESPACE

/// How many failures a formatted BatchResult spells out.
inline constexpr std::size_t formatted_failures = 3;

STRATA_END_NAMESPACE

/// \cond
// Specialisations of fmt's and std's templates: documented in the \file
// comment above, kept out of the reference (Doxygen cannot place them).
template <>
struct fmt::formatter<strata::errc> {
  constexpr auto parse(fmt::format_parse_context& ctx) { return ctx.begin(); }
  template <class FormatContext>
  auto format(strata::errc e, FormatContext& ctx) const {
    return fmt::format_to(ctx.out(), "strata: {}", make_error_code(e).message());
  }
};

#if FMT_VERSION < 100000
template <>
struct fmt::formatter<std::error_code> {
  constexpr auto parse(fmt::format_parse_context& ctx) { return ctx.begin(); }
  template <class FormatContext>
  auto format(const std::error_code& e, FormatContext& ctx) const {
    if (!e) return fmt::format_to(ctx.out(), "success");
    return fmt::format_to(ctx.out(), "{}: {}", e.category().name(), e.message());
  }
};
#endif

template <>
struct fmt::formatter<strata::Failure> {
  constexpr auto parse(fmt::format_parse_context& ctx) { return ctx.begin(); }
  template <class FormatContext>
  auto format(const strata::Failure& f, FormatContext& ctx) const {
    if (f.key.empty()) return fmt::format_to(ctx.out(), "#{}: {}", f.index, f.error);
    return fmt::format_to(ctx.out(), "#{} '{}': {}", f.index, f.key, f.error);
  }
};

/// BatchResult and the results derived from it; a TypedBatchResult's encode
/// failures also name the field ("... encode failed: ...: $.legs[1].symbol: ...").
template <std::derived_from<strata::BatchResult> Result>
struct fmt::formatter<Result> {
  constexpr auto parse(fmt::format_parse_context& ctx) { return ctx.begin(); }
  template <class FormatContext>
  auto format(const Result& result, FormatContext& ctx) const {
    auto out = fmt::format_to(ctx.out(), "stored {} of {}", result.stored_count(), result.size());
    std::size_t shown = 0;
    for (const strata::Failure failure : result.failures()) {
      if (shown == strata::formatted_failures) {
        return fmt::format_to(out, " (+{} more)", result.failed_count() - shown);
      }
      out = shown == 0 ? fmt::format_to(out, "; failed {}", failure)
                       : fmt::format_to(out, ", {}", failure);
      if constexpr (requires { result.codec_error(failure.index); }) {
        if (const auto* codec = result.codec_error(failure.index))
          out = fmt::format_to(out, ": {}: {}", codec->path, codec->message);
      }
      ++shown;
    }
    return out;
  }
};
/// \endcond
