// TypedStore: the batch API over T. A small codec of the test's own (so the
// core target needs no JSON library) lets each path be pinned exactly: the
// tag check, decode and encode failures that fail one key, and no copy of T.
#include <strata/strata.hpp>

#include "support/allocation_counter.hpp"
#include "support/law_stacks.hpp"

#include <gtest/gtest.h>

#include <charconv>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace strata::testing {
namespace {

/// Counts its copies: the facade must move or reference a Quote, never copy it.
struct Quote {
  std::string symbol;
  std::int64_t px = 0;

  static inline int copies = 0;
  Quote() = default;
  Quote(std::string s, std::int64_t p) : symbol(std::move(s)), px(p) {}
  Quote(const Quote& other) : symbol(other.symbol), px(other.px) { ++copies; }
  Quote(Quote&&) noexcept = default;
  Quote& operator=(const Quote& other) {
    ++copies;
    symbol = other.symbol;
    px = other.px;
    return *this;
  }
  Quote& operator=(Quote&&) noexcept = default;
  bool operator==(const Quote&) const = default;
};

/// "symbol|px"; a symbol holding '|' cannot be encoded.
template <std::uint8_t Tag>
struct PipeCodec {
  static constexpr std::uint8_t tag = Tag;
  static std::optional<CodecError> encode(const Quote& q, std::string& out) {
    out.append(q.symbol);  // appended before the check: the facade must drop it
    if (q.symbol.find('|') != std::string::npos)
      return CodecError{"$.symbol", "contains the separator '|'"};
    out.push_back('|');
    out.append(std::to_string(q.px));
    return std::nullopt;
  }
  static Decoded<Quote> decode(std::string_view bytes) {
    const auto bar = bytes.find('|');
    if (bar == std::string_view::npos) return CodecError{"$", "no separator"};
    Quote q;
    q.symbol = std::string(bytes.substr(0, bar));
    const auto digits = bytes.substr(bar + 1);
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), q.px);
    if (ec != std::errc{} || end != digits.data() + digits.size())
      return CodecError{"$.px", "expected integer"};
    return q;
  }
};
using Pipe = PipeCodec<3>;
static_assert(Codec<Pipe, Quote>);

using Store = TieredStore<LruCache<>, FixedRouter<Tier::hot>, MemoryRepository, NoTier, NoTier>;
using Quotes = TypedStore<Quote, Pipe, Store>;

TEST(TypedStore, BatchesRoundTripFromCacheAndFromTheTier) {
  Store store;
  Quotes quotes(store);
  const std::map<std::string, Quote> book{{"q:aapl", {"AAPL", 18925}}, {"q:msft", {"MSFT", 41010}}};
  const TypedBatchResult written = quotes.batch_set(book);
  ASSERT_TRUE(written.all_stored());
  EXPECT_EQ(written.key(1), "q:msft");

  for (const char* path : {"cache", "tier"}) {
    const auto got = quotes.batch_get({"q:aapl", "q:none", "q:msft"});
    ASSERT_EQ(got.size(), 3u);
    ASSERT_TRUE(got[0].found()) << path;
    EXPECT_EQ(*got[0].value, book.at("q:aapl")) << path;
    EXPECT_TRUE(got[1].absent()) << path;
    EXPECT_FALSE(got[1].value) << path;
    EXPECT_EQ(*got[2].value, book.at("q:msft")) << path;
    store.cache().clear();
  }
  // What the store holds is the codec's bytes under its tag.
  const Lookup raw = store.get("q:aapl");
  EXPECT_EQ(raw.value, "AAPL|18925");
  EXPECT_EQ(raw.codec_tag, Pipe::tag);

  EXPECT_EQ(quotes.batch_delete({"q:aapl", "q:none"}).erased, 1u);
  EXPECT_TRUE(quotes.get("q:aapl").absent());
  EXPECT_EQ(quotes.erase("q:msft").erased, 1u);
}

TEST(TypedStore, PerItemTtlAndSingleKeyCallsAreOneElementBatches) {
  ManualClock clock;
  Store store(StoreOptions{.clock = clock.clock()},
              MemoryRepository(MemoryOptions{.clock = clock.clock()}));
  auto quotes = typed<Quote, Pipe>(store);
  const Quote a{"A", 1}, b{"B", 2};
  ASSERT_TRUE(quotes.batch_set({{"q:a", a, Millis{10}}, {"q:b", b}}).all_stored());
  EXPECT_FALSE(quotes.set("q:c", Quote{"C", 3}, Millis{10}));
  clock.advance(Millis{10});
  EXPECT_TRUE(quotes.get("q:a").absent());
  EXPECT_TRUE(quotes.get("q:c").absent());
  EXPECT_EQ(*quotes.get("q:b").value, b);
}

TEST(TypedStore, AValueTheCodecCannotEncodeFailsAloneAndTouchesNothingStored) {
  Store store;
  Quotes quotes(store);
  ASSERT_FALSE(quotes.set("q:bad", Quote{"KEEP", 1}));
  const Quote good{"GOOD", 7}, bad{"BA|D", 8};
  const std::vector<std::pair<std::string, Quote>> batch{
      {"q:good", good}, {"q:bad", bad}, {"bad key", good}, {"q:last", good}};
  const TypedBatchResult result = quotes.batch_set(batch);
  EXPECT_TRUE(result.stored(0));
  EXPECT_EQ(result.error(1), errc::encode_failed);
  ASSERT_NE(result.codec_error(1), nullptr);
  EXPECT_EQ(result.codec_error(1)->to_string(), "$.symbol: contains the separator '|'");
  EXPECT_EQ(result.error(2), errc::invalid_key);
  EXPECT_EQ(result.codec_error(2), nullptr);
  EXPECT_TRUE(result.stored(3));
  EXPECT_EQ(result.key(1), "q:bad");
  EXPECT_EQ(result.codec_errors().size(), 1u);
  // The earlier value is untouched, and the neighbours' bytes hold nothing of
  // the failed encode.
  EXPECT_EQ(quotes.get("q:bad").value->symbol, "KEEP");
  EXPECT_EQ(store.get("q:last").value, "GOOD|7");
  EXPECT_EQ(quotes.set("q:bad", bad), errc::encode_failed);
}

TEST(TypedStore, ARecordOfAnotherCodecOrRawBytesIsACodecMismatchNeverMisread) {
  Store store;
  Quotes quotes(store);
  TypedStore<Quote, PipeCodec<4>, Store> other(store);
  ASSERT_FALSE(other.set("q:other", Quote{"X", 1}));  // same bytes, another tag
  ASSERT_FALSE(store.set("q:raw", "X|1"));            // raw bytes: tag 0
  ASSERT_FALSE(quotes.set("q:mine", Quote{"X", 1}));
  for (int pass = 0; pass < 2; ++pass) {  // from the cache, then from the tier
    const auto got = quotes.batch_get({"q:other", "q:raw", "q:mine"});
    EXPECT_EQ(got[0].error, errc::codec_mismatch);
    EXPECT_EQ(got[0].codec_error.message,
              "the record has codec tag 4, this reader's codec has tag 3");
    EXPECT_EQ(got[1].error, errc::codec_mismatch);
    EXPECT_EQ(got[1].codec_error.message,
              "the record has codec tag 0 (raw bytes), this reader's codec has tag 3");
    EXPECT_FALSE(got[1].value);
    EXPECT_TRUE(got[2].found());
    store.cache().clear();
  }
}

TEST(TypedStore, BytesThatDoNotDecodeFailThatKeyWithThePath) {
  Store store;
  Quotes quotes(store);
  ASSERT_TRUE(store
                  .batch_set({{"q:nobar", "AAPL", Millis{0}, Pipe::tag},
                              {"q:px", "AAPL|12x", Millis{0}, Pipe::tag},
                              {"q:ok", "AAPL|12", Millis{0}, Pipe::tag}})
                  .all_stored());
  const auto got = quotes.batch_get(std::vector<std::string>{"q:nobar", "q:px", "q:ok", ""});
  EXPECT_EQ(got[0].error, errc::decode_failed);
  EXPECT_EQ(got[0].codec_error.to_string(), "$: no separator");
  EXPECT_EQ(got[1].error, errc::decode_failed);
  EXPECT_EQ(got[1].codec_error.to_string(), "$.px: expected integer");
  EXPECT_EQ(*got[2].value, (Quote{"AAPL", 12}));
  EXPECT_EQ(got[3].error, errc::invalid_key);
  EXPECT_TRUE(got[3].codec_error.path.empty());
}

TEST(TypedStore, NoValueIsCopiedAndABatchAllocatesPerBatchNotPerItem) {
  std::vector<std::string> keys;
  std::vector<Quote> values;
  for (int i = 0; i < 1000; ++i) {
    keys.push_back("q:" + std::to_string(i));
    values.emplace_back("SYM" + std::to_string(i), i);
  }
  // The baseline: a store batch_set of the same encoded bytes, into a fresh store.
  std::vector<Item> raw;
  std::vector<std::string> encoded(keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    ASSERT_FALSE(Pipe::encode(values[i], encoded[i]));
    raw.push_back({keys[i], encoded[i], Millis{0}, Pipe::tag});
  }
  Store baseline;
  std::size_t before = allocations();
  ASSERT_TRUE(baseline.batch_set(raw).all_stored());
  const std::size_t raw_used = allocations() - before;

  Store store;
  Quotes quotes(store);
  std::vector<TypedItem<Quote>> items;
  for (std::size_t i = 0; i < keys.size(); ++i) items.push_back({keys[i], values[i]});
  Quote::copies = 0;
  before = allocations();
  const TypedBatchResult result = quotes.batch_set(items);
  const std::size_t used = allocations() - before;
  ASSERT_TRUE(result.all_stored());
  // The facade adds only the encode buffer's growth and its scratch arrays,
  // not an allocation per item.
  EXPECT_LE(used, raw_used + 24) << "facade " << used << ", store alone " << raw_used;

  const auto got = quotes.batch_get(keys);
  for (std::size_t i = 0; i < keys.size(); ++i) ASSERT_EQ(*got[i].value, values[i]);
  EXPECT_EQ(Quote::copies, 0);
}

}  // namespace
}  // namespace strata::testing
