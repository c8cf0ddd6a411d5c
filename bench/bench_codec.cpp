// strata's reflected JsonCodec against hand-written nlohmann-json
// to_json/from_json for the same struct (a typical order with 8 fills),
// encode and decode, in the same process. The hand-written decode uses
// .at(...).get_to(...): it checks types and required members as strata does,
// but reports errors by exception and without a path.
#include <strata/codec/json_codec.hpp>

#include <strata/bench/ratio_reporter.hpp>

#include <benchmark/benchmark.h>
#include <boost/hana/define_struct.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace bench_types {

enum class Side { buy, sell };

struct Fill {
  BOOST_HANA_DEFINE_STRUCT(Fill, (std::int64_t, qty), (double, price),
                           (std::chrono::sys_time<std::chrono::milliseconds>, at));
};

struct Order {
  BOOST_HANA_DEFINE_STRUCT(Order, (std::string, id), (std::string, symbol), (Side, side),
                           (std::int64_t, qty), (double, limit), (std::optional<std::string>, note),
                           (std::vector<Fill>, fills),
                           (std::chrono::sys_time<std::chrono::milliseconds>, created));
};

NLOHMANN_JSON_SERIALIZE_ENUM(Side, {{Side::buy, "buy"}, {Side::sell, "sell"}})

// The hand-written baseline: what a user would write without strata.
inline void to_json(nlohmann::json& j, const Fill& f) {
  j = nlohmann::json{{"qty", f.qty}, {"price", f.price}, {"at", f.at.time_since_epoch().count()}};
}
inline void from_json(const nlohmann::json& j, Fill& f) {
  j.at("qty").get_to(f.qty);
  j.at("price").get_to(f.price);
  f.at = std::chrono::sys_time<std::chrono::milliseconds>(
      std::chrono::milliseconds(j.at("at").get<std::int64_t>()));
}
inline void to_json(nlohmann::json& j, const Order& o) {
  j = nlohmann::json{{"id", o.id},
                     {"symbol", o.symbol},
                     {"side", o.side},
                     {"qty", o.qty},
                     {"limit", o.limit},
                     {"fills", o.fills},
                     {"created", o.created.time_since_epoch().count()}};
  j["note"] = o.note ? nlohmann::json(*o.note) : nlohmann::json(nullptr);
}
inline void from_json(const nlohmann::json& j, Order& o) {
  j.at("id").get_to(o.id);
  j.at("symbol").get_to(o.symbol);
  j.at("side").get_to(o.side);
  j.at("qty").get_to(o.qty);
  j.at("limit").get_to(o.limit);
  const auto note = j.find("note");
  if (note != j.end() && !note->is_null())
    o.note = note->get<std::string>();
  else
    o.note.reset();
  j.at("fills").get_to(o.fills);
  o.created = std::chrono::sys_time<std::chrono::milliseconds>(
      std::chrono::milliseconds(j.at("created").get<std::int64_t>()));
}

}  // namespace bench_types

template <>
inline constexpr auto strata::enum_names<bench_types::Side> =
    std::array{std::pair{bench_types::Side::buy, std::string_view("buy")},
               std::pair{bench_types::Side::sell, std::string_view("sell")}};

namespace {

using bench_types::Order;
using Codec = strata::JsonCodec<Order>;

Order typical_order() {
  Order o{"ord-2026-11-21-000042",
          "AAPL",
          bench_types::Side::buy,
          1200,
          189.25,
          "iceberg, display 100",
          {},
          {}};
  const auto t0 = std::chrono::sys_time<std::chrono::milliseconds>(
      std::chrono::milliseconds(1'763'700'000'000));
  o.created = t0;
  for (int i = 0; i < 8; ++i)
    o.fills.push_back({150, 189.25 + 0.01 * i, t0 + std::chrono::milliseconds(37 * i)});
  return o;
}

void strata_encode(benchmark::State& state) {
  const Order order = typical_order();
  std::string out;
  for (auto _ : state) {
    out.clear();
    if (Codec::encode(order, out)) state.SkipWithError("encode failed");
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * out.size()));
}

void hand_encode(benchmark::State& state) {
  const Order order = typical_order();
  std::string out;
  for (auto _ : state) {
    out.clear();
    out += nlohmann::json(order).dump();
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * out.size()));
}

void strata_decode(benchmark::State& state) {
  std::string bytes;
  (void)Codec::encode(typical_order(), bytes);
  for (auto _ : state) {
    auto decoded = Codec::decode(bytes);
    if (!decoded) state.SkipWithError("decode failed");
    benchmark::DoNotOptimize(decoded);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes.size()));
}

void hand_decode(benchmark::State& state) {
  std::string bytes;
  (void)Codec::encode(typical_order(), bytes);
  for (auto _ : state) {
    Order order = nlohmann::json::parse(bytes).get<Order>();
    benchmark::DoNotOptimize(order);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes.size()));
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  benchmark::RegisterBenchmark("hand/encode", hand_encode);
  benchmark::RegisterBenchmark("strata/encode", strata_encode);
  benchmark::RegisterBenchmark("hand/decode", hand_decode);
  benchmark::RegisterBenchmark("strata/decode", strata_decode);
  strata::bench::RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.header("strata JsonCodec vs hand-written nlohmann-json (hand time / strata time)");
  reporter.ratio("encode", "hand/encode", "strata/encode");
  reporter.ratio("decode", "hand/decode", "strata/decode");
  benchmark::Shutdown();
  return 0;
}
