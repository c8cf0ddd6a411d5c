// strata on a Redis Cluster (3 masters on 127.0.0.1:STRATA_CLUSTER_PORT..+2
// of the 3+3 cluster scripts/bench.sh cluster starts) against:
//  - raw hiredis doing the same work: per call the keys hashed to slots, per
//    slot one MSET (or MGET) of the same names and envelope bytes, one
//    pipeline per master written to all masters before any reply is read,
//    and, for reads, every value copied out into a std::string;
//  - single-node strata (RedisRepository on STRATA_REDIS_PORT), same batch;
//  - itself with min_replicas_acked = 1 (WAIT 1 after each master's
//    pipeline), on a 354-key batch, on the cluster and on the Sentinel
//    group's master (which has one replica).
// The stores run without a cache, so every get reaches Redis.
#include <strata/backends/redis.hpp>
#include <strata/backends/redis_cluster.hpp>
#include <strata/backends/redis_slot.hpp>
#include <strata/strata.hpp>

#include <strata/bench/batch_data.hpp>
#include <strata/bench/ratio_reporter.hpp>

#include <benchmark/benchmark.h>
#include <fmt/core.h>
#include <hiredis/hiredis.h>

#include <array>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace {

using namespace strata;
using ClusterStore =
    TieredStore<NoCache, FixedRouter<Tier::hot>, RedisClusterRepository, NoTier, NoTier>;
using NodeStore = TieredStore<NoCache, FixedRouter<Tier::hot>, RedisRepository, NoTier, NoTier>;

int env_port(const char* name, int fallback) {
  const char* p = std::getenv(name);
  return p ? std::atoi(p) : fallback;
}
int cluster_port() { return env_port("STRATA_CLUSTER_PORT", 16501); }

constexpr const char* prefix = "benchc:";

RedisOptions node_options(int acked) {
  RedisOptions options;
  options.key_prefix = prefix;
  options.command_timeout = Millis{30'000};
  options.min_replicas_acked = acked;
  return options;
}

ClusterStore make_cluster_store(int acked = 0) {
  RedisClusterOptions options;
  for (int i = 0; i < 6; ++i) options.seeds.push_back({"127.0.0.1", cluster_port() + i});
  options.node = node_options(acked);
  return ClusterStore(StoreOptions{}, RedisClusterRepository(options));
}

NodeStore make_node_store(int port, int acked = 0) {
  RedisOptions options = node_options(acked);
  options.port = port;
  return NodeStore(StoreOptions{}, RedisRepository(options));
}

struct Data : bench::WireBatchData {
  explicit Data(std::size_t n) : WireBatchData(n, "k:", 100, prefix) {}
};

/// A raw hiredis client of the cluster: one connection per master and the
/// slot map read once from CLUSTER SLOTS (strata's repository caches it too).
struct RawCluster {
  RawCluster() {
    redisContext* seed = connect(cluster_port());
    auto* slots = static_cast<redisReply*>(redisCommand(seed, "CLUSTER SLOTS"));
    if (slots == nullptr || slots->type != REDIS_REPLY_ARRAY)
      throw Error("bench: no CLUSTER SLOTS");
    for (std::size_t i = 0; i < slots->elements; ++i) {
      const redisReply* range = slots->element[i];
      const int port = static_cast<int>(range->element[2]->element[1]->integer);
      auto [at, fresh] = node_of_port.emplace(port, nodes.size());
      if (fresh) nodes.push_back(connect(port));
      for (long long s = range->element[0]->integer; s <= range->element[1]->integer; ++s)
        owner[static_cast<std::size_t>(s)] = at->second;
    }
    freeReplyObject(slots);
    redisFree(seed);
    sent.resize(nodes.size());
  }
  ~RawCluster() {
    for (redisContext* c : nodes) redisFree(c);
  }
  RawCluster(const RawCluster&) = delete;
  RawCluster& operator=(const RawCluster&) = delete;

  static redisContext* connect(int port) {
    redisContext* c = redisConnect("127.0.0.1", port);
    if (c == nullptr || c->err != 0) throw Error("bench: no cluster node on 127.0.0.1");
    return c;
  }

  /// Per slot one `verb` of its keys (and, for MSET, their envelopes), all
  /// masters' pipelines written before any reply is read; `on_reply` sees
  /// each reply with the positions of its keys.
  template <class OnReply>
  void per_slot(const char* verb, const std::vector<std::string>& wire_keys,
                const std::vector<std::string>* envelopes, OnReply on_reply) {
    // Buckets per slot, their capacity kept across calls (no allocation in
    // the steady state, like strata's counting sort).
    for (std::uint16_t slot : used) by_slot[slot].clear();
    used.clear();
    for (std::size_t i = 0; i < wire_keys.size(); ++i) {
      const std::uint16_t slot = redis_hash_slot(wire_keys[i]);
      if (by_slot[slot].empty()) used.push_back(slot);
      by_slot[slot].push_back(i);
    }
    for (auto& s : sent) s.clear();
    for (std::uint16_t slot : used) {
      const std::vector<std::size_t>& positions = by_slot[slot];
      argv.assign(1, verb);
      lens.assign(1, std::char_traits<char>::length(verb));
      for (std::size_t i : positions) {
        argv.push_back(wire_keys[i].data());
        lens.push_back(wire_keys[i].size());
        if (envelopes != nullptr) {
          argv.push_back((*envelopes)[i].data());
          lens.push_back((*envelopes)[i].size());
        }
      }
      const std::size_t node = owner[slot];
      redisAppendCommandArgv(nodes[node], static_cast<int>(argv.size()), argv.data(), lens.data());
      sent[node].push_back(&positions);
    }
    for (redisContext* c : nodes) {
      int done = 0;
      while (done == 0)
        if (redisBufferWrite(c, &done) != REDIS_OK) throw Error("bench: raw write failed");
    }
    for (std::size_t node = 0; node < nodes.size(); ++node)
      for (const std::vector<std::size_t>* positions : sent[node]) {
        void* reply = nullptr;
        if (redisGetReply(nodes[node], &reply) != REDIS_OK) throw Error("bench: raw reply failed");
        on_reply(static_cast<redisReply*>(reply), *positions);
        freeReplyObject(reply);
      }
  }

  std::vector<redisContext*> nodes;
  std::map<int, std::size_t> node_of_port;
  std::vector<std::vector<std::size_t>> by_slot =
      std::vector<std::vector<std::size_t>>(redis_cluster_slots);
  std::vector<std::uint16_t> used;
  std::vector<std::vector<const std::vector<std::size_t>*>> sent;
  std::vector<const char*> argv;
  std::vector<std::size_t> lens;
  std::array<std::size_t, redis_cluster_slots> owner{};
};

void raw_set(benchmark::State& state) {
  const Data data(static_cast<std::size_t>(state.range(0)));
  RawCluster raw;
  for (auto _ : state)
    raw.per_slot("MSET", data.wire_keys, &data.envelopes, [&](redisReply* r, const auto&) {
      if (r->type != REDIS_REPLY_STATUS) state.SkipWithError("MSET failed");
    });
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

void raw_get(benchmark::State& state) {
  const Data data(static_cast<std::size_t>(state.range(0)));
  RawCluster raw;
  raw.per_slot("MSET", data.wire_keys, &data.envelopes, [](redisReply*, const auto&) {});
  std::vector<std::string> out(data.keys.size());
  for (auto _ : state) {
    raw.per_slot("MGET", data.wire_keys, nullptr, [&](redisReply* r, const auto& positions) {
      for (std::size_t k = 0; k < positions.size(); ++k)
        out[positions[k]].assign(r->element[k]->str, r->element[k]->len);  // the copy out
    });
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

template <class Store>
void run_set(benchmark::State& state, Store store) {
  const Data data(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state)
    if (!store.batch_set(data.items).all_stored()) state.SkipWithError("batch_set failed");
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

template <class Store>
void run_get(benchmark::State& state, Store store) {
  const Data data(static_cast<std::size_t>(state.range(0)));
  store.batch_set(data.items);
  for (auto _ : state)
    if (store.batch_get(data.views).found_count() != data.keys.size())
      state.SkipWithError("batch_get missed keys");
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

void cluster_set(benchmark::State& state) { run_set(state, make_cluster_store()); }
void cluster_get(benchmark::State& state) { run_get(state, make_cluster_store()); }
void node_set(benchmark::State& state) {
  run_set(state, make_node_store(env_port("STRATA_REDIS_PORT", 16379)));
}
void node_get(benchmark::State& state) {
  run_get(state, make_node_store(env_port("STRATA_REDIS_PORT", 16379)));
}
void cluster_set_acked(benchmark::State& state) { run_set(state, make_cluster_store(1)); }
void sentinel_master_set(benchmark::State& state) {
  run_set(state, make_node_store(env_port("STRATA_SENTINEL_MASTER_PORT", 16511)));
}
void sentinel_master_set_acked(benchmark::State& state) {
  run_set(state, make_node_store(env_port("STRATA_SENTINEL_MASTER_PORT", 16511), 1));
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  using Fn = void (*)(benchmark::State&);
  for (long n : {10'000L, 100'000L}) {
    const std::pair<const char*, Fn> paired[] = {
        {"raw/set", raw_set}, {"cluster/set", cluster_set}, {"node/set", node_set},
        {"raw/get", raw_get}, {"cluster/get", cluster_get}, {"node/get", node_get}};
    for (const auto& [name, fn] : paired)
      benchmark::RegisterBenchmark(name, fn)->Arg(n)->Unit(benchmark::kMillisecond);
  }
  const std::pair<const char*, Fn> acked[] = {{"cluster/set", cluster_set},
                                              {"cluster/set_acked", cluster_set_acked},
                                              {"sentinel/set", sentinel_master_set},
                                              {"sentinel/set_acked", sentinel_master_set_acked}};
  for (const auto& [name, fn] : acked)
    benchmark::RegisterBenchmark(name, fn)->Arg(354)->Unit(benchmark::kMicrosecond);

  strata::bench::RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);

  reporter.header("cluster strata vs raw hiredis per-slot pipelines (raw time / strata time)");
  for (long n : {10'000L, 100'000L}) {
    reporter.ratio(fmt::format("batch_set vs MSET per slot x{}", n), fmt::format("raw/set/{}", n),
                   fmt::format("cluster/set/{}", n));
    reporter.ratio(fmt::format("batch_get vs MGET per slot x{}", n), fmt::format("raw/get/{}", n),
                   fmt::format("cluster/get/{}", n));
  }
  reporter.header("cluster strata vs single-node strata (node time / cluster time)");
  for (long n : {10'000L, 100'000L}) {
    reporter.ratio(fmt::format("batch_set x{}", n), fmt::format("node/set/{}", n),
                   fmt::format("cluster/set/{}", n));
    reporter.ratio(fmt::format("batch_get x{}", n), fmt::format("node/get/{}", n),
                   fmt::format("cluster/get/{}", n));
  }
  reporter.header("min_replicas_acked = 1 (time without / time with WAIT 1)");
  reporter.ratio("cluster batch_set x354", "cluster/set/354", "cluster/set_acked/354");
  reporter.ratio("sentinel master batch_set x354", "sentinel/set/354", "sentinel/set_acked/354");
  benchmark::Shutdown();
  return 0;
}
