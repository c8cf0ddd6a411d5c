// Typed values: a trading position declared once with Boost.Hana, stored,
// fetched and deleted in batches as JSON, with no serialization code written
// by hand. Runs with no servers: the embedded store in a temporary directory.
#include <strata/codec/json_codec.hpp>
#include <strata/embedded.hpp>
#include <strata/strata.hpp>

#include <fmt/core.h>
#include <boost/hana/define_struct.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace desk {

enum class Side { buy, sell };

struct Fill {
  BOOST_HANA_DEFINE_STRUCT(Fill, (std::int64_t, qty), (double, price),
                           (std::chrono::sys_time<std::chrono::milliseconds>, at));
};

struct Position {
  BOOST_HANA_DEFINE_STRUCT(Position, (std::string, account), (std::string, symbol), (Side, side),
                           (std::vector<Fill>, fills), (std::optional<double>, stop_loss));

  std::int64_t quantity() const {
    std::int64_t total = 0;
    for (const Fill& fill : fills) total += fill.qty;
    return total;
  }
};

}  // namespace desk

// Enums are stored by name, so the JSON reads "side":"buy".
template <>
inline constexpr auto strata::enum_names<desk::Side> =
    std::array{std::pair{desk::Side::buy, std::string_view("buy")},
               std::pair{desk::Side::sell, std::string_view("sell")}};

int main() {
  using namespace strata;
  using desk::Position;
  const auto dir = std::filesystem::temp_directory_path() / "strata-typed-positions";
  std::filesystem::remove_all(dir);
  auto store = open_embedded_store(dir);  // HOT memory, WARM SQLite, COLD files
  auto positions = typed<Position, JsonCodec<Position>>(store);

  const auto at = [](std::int64_t ms) {
    return std::chrono::sys_time<std::chrono::milliseconds>(std::chrono::milliseconds(ms));
  };
  const std::vector<std::pair<std::string, Position>> book{
      {"hot:pos:ACC-1:AAPL",
       {"ACC-1", "AAPL", desk::Side::buy, {{100, 189.25, at(1'700'000'000'000)}}, 180.0}},
      {"pos:ACC-1:MSFT",
       {"ACC-1",
        "MSFT",
        desk::Side::sell,
        {{-50, 410.10, at(1'700'000'100'000)}, {-25, 411.00, at(1'700'000'200'000)}},
        std::nullopt}},
      {"cold:pos:ACC-2:TSLA", {"ACC-2", "TSLA", desk::Side::buy, {}, std::nullopt}},
  };

  // One batch: each position encoded once, each tier written once.
  const TypedBatchResult written = positions.batch_set(book);
  fmt::print("{}\n", written);

  // One batch back: per key the position, absent, or the error.
  const std::vector<std::string_view> keys{"hot:pos:ACC-1:AAPL", "pos:ACC-1:MSFT",
                                           "cold:pos:ACC-2:TSLA", "pos:ACC-9:NONE"};
  const auto fetched = positions.batch_get(keys);
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const auto& got = fetched[i];
    if (got.found())
      fmt::print("  {}: {} {} qty {} ({} fills)\n", keys[i], got.value->account, got.value->symbol,
                 got.value->quantity(), got.value->fills.size());
    else if (got.absent())
      fmt::print("  {}: absent\n", keys[i]);
    else
      fmt::print("  {}: {} {}\n", keys[i], got.error.message(), got.codec_error.to_string());
  }

  // Stored bytes are plain JSON under the codec's tag: readable, and safe to load.
  const Lookup raw = store.get("pos:ACC-1:MSFT");
  fmt::print("stored as (codec tag {}): {}\n", raw.codec_tag, raw.value);

  const DeleteResult deleted = positions.batch_delete(keys);
  fmt::print("deleted {}\n", deleted.erased);
  std::filesystem::remove_all(dir);
  return written.all_stored() && deleted.erased == book.size() ? 0 : 1;
}
