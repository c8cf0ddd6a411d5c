// strata's Redis HOT tier against raw hiredis doing the same work on the same
// server (127.0.0.1:STRATA_REDIS_PORT, default 16379; scripts/bench.sh redis
// starts it), and against strata's own single-key path:
//  - batch_set without TTL  vs one raw MSET of the same keys and bytes, of
//                           keys that are new (the database emptied before
//                           each run, outside the timing) and of keys that
//                           exist (overwrites);
//  - batch_set with TTL     vs raw pipelined SET key value PX ttl (overwrites);
//  - batch_get              vs one raw MGET that copies each value out, as
//                           batch_get does, every key present: into new
//                           strings that replace the last call's, as
//                           batch_get returns a new result, and into the
//                           strings of its last call, as batch_get_into
//                           fills a reused LoadResult;
//  - batch_set / batch_get  vs as many set() / get() calls (354 and 10k keys).
// Each benchmark starts from an emptied database (FLUSHDB) and stores what it
// reads or overwrites itself, so none depends on which ran before it. The
// store runs without a cache, so every get reaches Redis.
#include <strata/backends/redis.hpp>
#include <strata/strata.hpp>

#include <strata/bench/batch_data.hpp>
#include <strata/bench/ratio_reporter.hpp>

#include <benchmark/benchmark.h>
#include <fmt/core.h>
#include <hiredis/hiredis.h>

#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

namespace {

using namespace strata;
using Store = TieredStore<NoCache, FixedRouter<Tier::hot>, RedisRepository, NoTier, NoTier>;

int port() {
  const char* p = std::getenv("STRATA_REDIS_PORT");
  return p ? std::atoi(p) : 16379;
}

Store make_store() {
  RedisOptions options;
  options.port = port();
  options.key_prefix = "bench:";
  options.command_timeout = Millis{30'000};
  return Store(StoreOptions{}, RedisRepository(options));
}

/// The batch and its wire bytes, and the same items with a TTL.
struct Data : bench::WireBatchData {
  explicit Data(std::size_t n) : WireBatchData(n, "k:", 100, "bench:") {
    for (std::size_t i = 0; i < n; ++i) ttl_items.push_back({keys[i], values[i], Millis{600'000}});
  }
  std::vector<Item> ttl_items;
};

/// MSET of every key with its envelope, as batch_set stores them.
std::vector<std::string_view> mset_args(const Data& data) {
  std::vector<std::string_view> args{"MSET"};
  for (std::size_t i = 0; i < data.keys.size(); ++i) {
    args.push_back(data.wire_keys[i]);
    args.push_back(data.envelopes[i]);
  }
  return args;
}

/// A raw hiredis connection, for the baselines.
struct Raw {
  Raw() : c(redisConnect("127.0.0.1", port())) {
    if (c == nullptr || c->err != 0) throw Error("bench: no Redis on 127.0.0.1");
  }
  ~Raw() { redisFree(c); }
  Raw(const Raw&) = delete;
  Raw& operator=(const Raw&) = delete;

  void append(const std::vector<std::string_view>& args) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    argv.reserve(args.size());
    lens.reserve(args.size());
    for (auto a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    redisAppendCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data());
  }
  void drain(std::size_t replies) {
    for (std::size_t i = 0; i < replies; ++i) {
      void* reply = nullptr;
      if (redisGetReply(c, &reply) != REDIS_OK) throw Error("bench: raw reply failed");
      freeReplyObject(reply);
    }
  }
  /// Empties the database: every benchmark starts from the same state.
  void flush() {
    append({"FLUSHDB"});
    drain(1);
  }
  /// Stores every key, as batch_set stores them.
  void store_all(const Data& data) {
    append(mset_args(data));
    drain(1);
  }
  redisContext* c;
};

/// MSET of keys that exist, or (`fresh`) of keys that are new: the
/// database emptied before each run, outside the timing.
void raw_mset_with(benchmark::State& state, bool fresh) {
  const Data data(static_cast<std::size_t>(state.range(0)));
  Raw raw;
  raw.flush();
  raw.store_all(data);
  const std::vector<std::string_view> args = mset_args(data);
  for (auto _ : state) {
    if (fresh) {
      state.PauseTiming();
      raw.flush();
      state.ResumeTiming();
    }
    raw.append(args);
    raw.drain(1);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
void raw_mset(benchmark::State& state) { raw_mset_with(state, false); }
void raw_mset_fresh(benchmark::State& state) { raw_mset_with(state, true); }
void raw_set_px(benchmark::State& state) {
  const Data data(static_cast<std::size_t>(state.range(0)));
  Raw raw;
  raw.flush();
  raw.store_all(data);
  for (auto _ : state) {
    for (std::size_t i = 0; i < data.keys.size(); ++i)
      raw.append({"SET", data.wire_keys[i], data.envelopes[i], "PX", "600000"});
    raw.drain(data.keys.size());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
/// MGET of keys that all exist, each value copied out: into the strings of
/// the last call (as batch_get_into reuses its result), or (`fresh`) into new
/// strings that replace the last call's (as batch_get returns a new result).
void raw_mget_with(benchmark::State& state, bool fresh) {
  const Data data(static_cast<std::size_t>(state.range(0)));
  Raw raw;
  raw.flush();
  raw.store_all(data);
  std::vector<std::string_view> args{"MGET"};
  for (const auto& key : data.wire_keys) args.push_back(key);
  std::vector<std::string> values(data.keys.size());
  for (auto _ : state) {
    std::vector<std::string> replaced;
    if (fresh) replaced = std::exchange(values, std::vector<std::string>(data.keys.size()));
    raw.append(args);
    void* reply = nullptr;
    if (redisGetReply(raw.c, &reply) != REDIS_OK) throw Error("bench: raw MGET failed");
    const auto* array = static_cast<const redisReply*>(reply);
    std::size_t found = 0;
    for (std::size_t i = 0; i < array->elements && i < values.size(); ++i) {
      const redisReply* element = array->element[i];
      if (element->type != REDIS_REPLY_STRING) continue;
      values[i].assign(element->str, element->len);
      ++found;
    }
    freeReplyObject(reply);
    if (found != values.size()) state.SkipWithError("raw MGET missed keys");
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
void raw_mget(benchmark::State& state) { raw_mget_with(state, false); }
void raw_mget_fresh(benchmark::State& state) { raw_mget_with(state, true); }

/// batch_set of keys that exist, or (`fresh`) of keys that are new.
void strata_set_with(benchmark::State& state, bool fresh) {
  const Data data(static_cast<std::size_t>(state.range(0)));
  Raw raw;
  raw.flush();
  Store store = make_store();
  store.batch_set(data.items);
  for (auto _ : state) {
    if (fresh) {
      state.PauseTiming();
      raw.flush();
      state.ResumeTiming();
    }
    if (!store.batch_set(data.items).all_stored()) state.SkipWithError("batch_set failed");
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
void strata_set(benchmark::State& state) { strata_set_with(state, false); }
void strata_set_fresh(benchmark::State& state) { strata_set_with(state, true); }
void strata_set_ttl(benchmark::State& state) {
  const Data data(static_cast<std::size_t>(state.range(0)));
  Raw().flush();
  Store store = make_store();
  store.batch_set(data.items);
  for (auto _ : state)
    if (!store.batch_set(data.ttl_items).all_stored()) state.SkipWithError("batch_set failed");
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
/// batch_get into a new result, or (`reuse`, as the raw MGET copies into the
/// strings of its last call) batch_get_into the result the last call filled.
void strata_get_with(benchmark::State& state, bool reuse) {
  const Data data(static_cast<std::size_t>(state.range(0)));
  Raw().flush();
  Store store = make_store();
  store.batch_set(data.items);
  LoadResult result;
  for (auto _ : state) {
    if (reuse)
      store.batch_get_into(data.views, result);
    else
      result = store.batch_get(data.views);
    if (result.found_count() != data.keys.size()) state.SkipWithError("batch_get missed keys");
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
void strata_get(benchmark::State& state) { strata_get_with(state, false); }
void strata_get_into(benchmark::State& state) { strata_get_with(state, true); }
void single_set(benchmark::State& state) {
  const Data data(static_cast<std::size_t>(state.range(0)));
  Raw().flush();
  Store store = make_store();
  store.batch_set(data.items);  // overwrites, as strata/set
  for (auto _ : state)
    for (const Item& item : data.items) benchmark::DoNotOptimize(store.set(item.key, item.value));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
void single_get(benchmark::State& state) {
  const Data data(static_cast<std::size_t>(state.range(0)));
  Raw().flush();
  Store store = make_store();
  store.batch_set(data.items);
  for (auto _ : state)
    for (std::string_view key : data.views) benchmark::DoNotOptimize(store.get(key));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  const std::vector<long> sizes{354, 10'000, 100'000};
  for (long n : sizes) {
    using Fn = void (*)(benchmark::State&);
    const std::pair<const char*, Fn> paired[] = {
        {"raw/mset", raw_mset},           {"strata/set", strata_set},
        {"raw/mset_new", raw_mset_fresh}, {"strata/set_new", strata_set_fresh},
        {"raw/set_px", raw_set_px},       {"strata/set_ttl", strata_set_ttl},
        {"raw/mget", raw_mget},           {"raw/mget_new", raw_mget_fresh},
        {"strata/get", strata_get},       {"strata/get_into", strata_get_into}};
    for (const auto& [name, fn] : paired)
      benchmark::RegisterBenchmark(name, fn)->Arg(n)->Unit(benchmark::kMillisecond);
    if (n <= 10'000) {  // one round trip per key: 100k would take seconds per run
      benchmark::RegisterBenchmark("single/set", single_set)->Arg(n)->Unit(benchmark::kMillisecond);
      benchmark::RegisterBenchmark("single/get", single_get)->Arg(n)->Unit(benchmark::kMillisecond);
    }
  }
  strata::bench::RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);

  reporter.header("strata batch vs raw hiredis (raw time / strata time = throughput ratio)");
  for (long n : sizes) {
    reporter.ratio(fmt::format("batch_set vs MSET, new keys x{}", n),
                   fmt::format("raw/mset_new/{}", n), fmt::format("strata/set_new/{}", n));
    reporter.ratio(fmt::format("batch_set vs MSET, overwrites x{}", n),
                   fmt::format("raw/mset/{}", n), fmt::format("strata/set/{}", n));
    reporter.ratio(fmt::format("batch_set TTL vs SET PX pipeline x{}", n),
                   fmt::format("raw/set_px/{}", n), fmt::format("strata/set_ttl/{}", n));
    reporter.ratio(fmt::format("batch_get vs MGET, values copied out x{}", n),
                   fmt::format("raw/mget_new/{}", n), fmt::format("strata/get/{}", n));
    reporter.ratio(fmt::format("  into a reused result x{}", n), fmt::format("raw/mget/{}", n),
                   fmt::format("strata/get_into/{}", n));
  }
  reporter.header("strata batch vs single-key calls (single time / batch time)");
  for (long n : {354L, 10'000L}) {
    reporter.ratio(fmt::format("set x{}", n), fmt::format("single/set/{}", n),
                   fmt::format("strata/set/{}", n));
    reporter.ratio(fmt::format("get x{}", n), fmt::format("single/get/{}", n),
                   fmt::format("strata/get/{}", n));
  }
  benchmark::Shutdown();
  return 0;
}
