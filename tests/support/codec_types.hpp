#pragma once
/// \file
/// Reflected structs the codec tests, the corpus test and the fuzz target
/// share: every member type JsonCodec supports, nested.

#include <strata/codec/json_codec.hpp>

#include <boost/hana/define_struct.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace test_types {

enum class Side { buy, sell };

struct Leg {
  BOOST_HANA_DEFINE_STRUCT(Leg, (std::string, symbol), (std::int32_t, qty), (double, price),
                           (Side, side));
};

struct Position {
  BOOST_HANA_DEFINE_STRUCT(Position, (std::string, account), (std::vector<Leg>, legs),
                           (std::optional<std::string>, note),
                           (std::map<std::string, double>, marks),
                           (std::chrono::sys_time<std::chrono::milliseconds>, opened),
                           (std::chrono::microseconds, hold), (bool, active), (std::int64_t, i64),
                           (std::uint64_t, u64), (std::uint8_t, u8), (std::int16_t, i16),
                           (float, f32));
};

struct Nested {
  BOOST_HANA_DEFINE_STRUCT(Nested, (std::vector<std::vector<std::int32_t>>, grid),
                           (std::optional<Position>, position));
};

}  // namespace test_types

template <>
inline constexpr auto strata::enum_names<test_types::Side> =
    std::array{std::pair{test_types::Side::buy, std::string_view("buy")},
               std::pair{test_types::Side::sell, std::string_view("sell")}};

namespace test_types {

/// A position with a value in every member, non-ASCII and extremes included.
inline Position sample_position() {
  Position p;
  p.account = "ACC-1 Zürich ✓ 東京";
  p.legs = {{"AAPL", 100, 189.25, Side::buy}, {"MSFT", -50, 0.1 + 0.2, Side::sell}};
  p.note = "hedged";
  p.marks = {{"AAPL", 190.0}, {"ünï", -0.0}};
  p.opened = std::chrono::sys_time<std::chrono::milliseconds>(
      std::chrono::milliseconds(1'700'000'000'123));
  p.hold = std::chrono::microseconds(-5);
  p.active = true;
  p.i64 = std::numeric_limits<std::int64_t>::min();
  p.u64 = std::numeric_limits<std::uint64_t>::max();
  p.u8 = 255;
  p.i16 = -32768;
  p.f32 = 1.1f;
  return p;
}

}  // namespace test_types
