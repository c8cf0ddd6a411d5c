// JsonCodec: every supported member type round-trips, edge values included;
// each class of malformed input is a CodecError naming the path.
#include <strata/codec/json_codec.hpp>
#include <strata/strata.hpp>

#include "support/codec_types.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace strata {
namespace {

using test_types::Leg;
using test_types::Nested;
using test_types::Position;
using test_types::sample_position;
using test_types::Side;
using Codec = JsonCodec<Position>;
using Strict = JsonCodec<Position, UnknownMembers::reject>;

static_assert(strata::Codec<Codec, Position>);

bool same(const Position& a, const Position& b) {
  if (a.legs.size() != b.legs.size()) return false;
  for (std::size_t i = 0; i < a.legs.size(); ++i) {
    const Leg &x = a.legs[i], &y = b.legs[i];
    if (x.symbol != y.symbol || x.qty != y.qty || x.side != y.side ||
        std::memcmp(&x.price, &y.price, sizeof(double)) != 0)
      return false;
  }
  return a.account == b.account && a.note == b.note && a.marks == b.marks && a.opened == b.opened &&
         a.hold == b.hold && a.active == b.active && a.i64 == b.i64 && a.u64 == b.u64 &&
         a.u8 == b.u8 && a.i16 == b.i16 && a.f32 == b.f32;
}

Decoded<Position> round_trip(const Position& p) {
  std::string bytes;
  EXPECT_FALSE(Codec::encode(p, bytes));
  return Codec::decode(bytes);
}

TEST(JsonCodec, EveryMemberTypeRoundTripsExactly) {
  const Position p = sample_position();
  const Decoded<Position> back = round_trip(p);
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_TRUE(same(*back, p));
  EXPECT_EQ(back->legs[1].price, 0.1 + 0.2);  // not 0.3: the shortest exact form
}

TEST(JsonCodec, EdgeValuesRoundTrip) {
  Position p = sample_position();
  p.legs.clear();  // empty containers
  p.marks.clear();
  p.note.reset();
  p.account.clear();
  for (double price :
       {std::numeric_limits<double>::min(), std::numeric_limits<double>::max(),
        std::numeric_limits<double>::denorm_min(), -0.0, 1e-300, 123456789.123456789})
    p.legs.push_back({"X", std::numeric_limits<std::int32_t>::min(), price, Side::buy});
  const Decoded<Position> back = round_trip(p);
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_TRUE(same(*back, p));
  EXPECT_TRUE(std::signbit(back->legs[3].price));  // -0.0 keeps its sign
}

TEST(JsonCodec, NonFiniteNumbersAreNamedStrings) {
  Position p = sample_position();
  p.legs = {{"N", 1, std::numeric_limits<double>::quiet_NaN(), Side::buy},
            {"I", 1, std::numeric_limits<double>::infinity(), Side::buy},
            {"M", 1, -std::numeric_limits<double>::infinity(), Side::buy}};
  std::string bytes;
  ASSERT_FALSE(Codec::encode(p, bytes));
  EXPECT_NE(bytes.find("\"NaN\""), std::string::npos);
  EXPECT_NE(bytes.find("\"-Infinity\""), std::string::npos);
  const Decoded<Position> back = Codec::decode(bytes);
  ASSERT_TRUE(back);
  EXPECT_TRUE(std::isnan(back->legs[0].price));
  EXPECT_EQ(back->legs[1].price, std::numeric_limits<double>::infinity());
  EXPECT_EQ(back->legs[2].price, -std::numeric_limits<double>::infinity());
}

TEST(JsonCodec, NestedOptionalStructsAndArrays) {
  Nested n{{{1, 2}, {}, {3}}, sample_position()};
  std::string bytes;
  ASSERT_FALSE(JsonCodec<Nested>::encode(n, bytes));
  const Decoded<Nested> back = JsonCodec<Nested>::decode(bytes);
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_EQ(back->grid, n.grid);
  ASSERT_TRUE(back->position);
  EXPECT_TRUE(same(*back->position, *n.position));
  const Decoded<Nested> empty = JsonCodec<Nested>::decode(R"({"grid":[]})");
  ASSERT_TRUE(empty);
  EXPECT_FALSE(empty->position);
}

/// The sample, encoded, with `from` replaced by `to` (once).
std::string mutated(std::string_view from, std::string_view to) {
  std::string bytes;
  EXPECT_FALSE(Codec::encode(sample_position(), bytes));
  const std::size_t at = bytes.find(from);
  EXPECT_NE(at, std::string::npos) << from << " not in " << bytes;
  if (at != std::string::npos) bytes.replace(at, from.size(), to);
  return bytes;
}

std::string error_of(std::string_view bytes) {
  const Decoded<Position> decoded = Codec::decode(bytes);
  return decoded ? std::string("decoded") : decoded.error().to_string();
}

TEST(JsonCodec, EachMalformedInputClassIsANamedError) {
  EXPECT_EQ(error_of(mutated("\"qty\":-50", "\"qty\":\"-50\"")),
            "$.legs[1].qty: expected integer, found string");
  EXPECT_EQ(error_of(mutated("\"qty\":-50", "\"qty\":-50.5")),
            "$.legs[1].qty: expected integer, found a fraction");
  EXPECT_EQ(error_of(mutated("\"qty\":100", "\"qty\":2147483648")),
            "$.legs[0].qty: integer out of range");
  EXPECT_EQ(error_of(mutated("\"u8\":255", "\"u8\":256")), "$.u8: integer out of range");
  EXPECT_EQ(error_of(mutated("\"u8\":255", "\"u8\":-1")), "$.u8: integer out of range");
  EXPECT_EQ(error_of(mutated("\"f32\":", "\"f32\":1e300,\"x\":")), "$.f32: number out of range");
  EXPECT_EQ(error_of(mutated("\"side\":\"sell\"", "\"side\":\"short\"")),
            "$.legs[1].side: unknown enum name \"short\"");
  EXPECT_EQ(error_of(mutated("\"side\":\"sell\"", "\"side\":1")),
            "$.legs[1].side: expected enum name, found number");
  EXPECT_EQ(error_of(mutated("\"f32\":", "\"f32\":\"1.5\",\"x\":")),
            "$.f32: expected number, found string");
  EXPECT_EQ(error_of(mutated("\"active\":true", "\"active\":1")),
            "$.active: expected boolean, found number");
  EXPECT_EQ(error_of(mutated("\"account\":", "\"acct\":")), "$.account: missing required member");
  EXPECT_EQ(error_of(mutated("\"legs\":[", "\"legs\":{\"x\":[")),
            "$: not JSON text");  // unbalanced
  EXPECT_EQ(error_of(mutated("\"marks\":{", "\"marks\":[{")), "$: not JSON text");
  EXPECT_EQ(error_of("[1,2]"), "$: expected object, found array");
  EXPECT_EQ(error_of(""), "$: not JSON text");
  EXPECT_EQ(error_of("{\"account\":\"a\xff\"}"), "$: not JSON text");  // invalid UTF-8
  EXPECT_EQ(error_of(std::string(100, '[') + std::string(100, ']')), "$: nesting deeper than 64");
  EXPECT_EQ(error_of(std::string(json_max_bytes + 1, ' ')).rfind("$: input of", 0), 0u);
}

TEST(JsonCodec, UnknownMembersAreIgnoredOrRejectedByPolicy) {
  const std::string bytes = mutated("\"active\":true", "\"active\":true,\"extra\":[1]");
  EXPECT_TRUE(Codec::decode(bytes));
  const Decoded<Position> strict = Strict::decode(bytes);
  ASSERT_FALSE(strict);
  EXPECT_EQ(strict.error().to_string(), "$.extra: unknown member");
}

TEST(JsonCodec, AStringThatIsNotUtf8FailsToEncodeWithItsPath) {
  Position p = sample_position();
  p.legs[1].symbol = "bad\xc3(";
  std::string bytes;
  const std::optional<CodecError> error = Codec::encode(p, bytes);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->to_string(), "$.legs[1].symbol: string is not valid UTF-8");
  EXPECT_TRUE(bytes.empty());  // nothing half-written
}

TEST(JsonCodec, Utf8ValidationFollowsTheStandard) {
  using detail::json::valid_utf8;
  EXPECT_TRUE(valid_utf8("plain ascii"));
  EXPECT_TRUE(valid_utf8("\xc3\xa9\xe6\x9d\xb1\xf0\x9f\x98\x80"));  // é 東 😀
  EXPECT_FALSE(valid_utf8("\xc0\xaf"));                             // overlong '/'
  EXPECT_FALSE(valid_utf8("\xed\xa0\x80"));                         // a surrogate
  EXPECT_FALSE(valid_utf8("\xf4\x90\x80\x80"));                     // past U+10FFFF
  EXPECT_FALSE(valid_utf8("\xe6\x9d"));                             // cut short
  EXPECT_FALSE(valid_utf8("\x80"));
}

TEST(JsonCodec, TypedStoreKeepsPositionsExactAndRefusesAnotherSchema) {
  using Store = TieredStore<LruCache<>, FixedRouter<Tier::hot>, MemoryRepository, NoTier, NoTier>;
  Store store;
  auto positions = typed<Position, Codec>(store);
  Position flat = sample_position();
  flat.legs.clear();
  const std::vector<std::pair<std::string, Position>> book{{"pos:1", sample_position()},
                                                           {"pos:2", flat}};
  ASSERT_TRUE(positions.batch_set(book).all_stored());
  for (int pass = 0; pass < 2; ++pass) {  // from the cache, then from the tier
    const auto got = positions.batch_get({"pos:1", "pos:2"});
    ASSERT_TRUE(got[0].found() && got[1].found());
    EXPECT_TRUE(same(*got[0].value, book[0].second));
    EXPECT_TRUE(same(*got[1].value, flat));
    store.cache().clear();
  }

  // A reader whose type the stored JSON does not fit: the key fails with the path.
  auto legs = typed<Leg, JsonCodec<Leg>>(store);
  const auto wrong = legs.get("pos:1");
  EXPECT_EQ(wrong.error, errc::decode_failed);
  EXPECT_EQ(wrong.codec_error.to_string(), "$.symbol: missing required member");

  // A string JSON cannot carry: that item fails, its neighbour is stored.
  Position bad = sample_position();
  bad.legs[1].symbol = "\xff";
  const TypedBatchResult result = positions.batch_set({{"pos:bad", bad}, {"pos:3", flat}});
  EXPECT_EQ(result.error(0), errc::encode_failed);
  ASSERT_NE(result.codec_error(0), nullptr);
  EXPECT_EQ(result.codec_error(0)->path, "$.legs[1].symbol");
  EXPECT_TRUE(result.stored(1));
  const std::string logged = fmt::format("{}", result);
  EXPECT_EQ(logged.rfind("stored 1 of 2; failed #0 'pos:bad': strata: encode failed", 0), 0u)
      << logged;
  EXPECT_NE(logged.find(": $.legs[1].symbol: "), std::string::npos) << logged;
}

}  // namespace
}  // namespace strata
