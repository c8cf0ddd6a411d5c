// strata's S3 COLD tier against s3rver on 127.0.0.1:STRATA_S3_PORT (default
// 16400; scripts/bench.sh s3 starts it), 4 KiB values, 100 and 2000 objects:
//  - batch_set / batch_get / batch_delete  vs as many set() / get() / erase();
//  - set() one by one                      vs raw libcurl PUTs on one
//                                             keep-alive handle (the floor of
//                                             a sequential client);
//  - batch_delete with and without count_erased, and the requests each
//    issues (counters "requests" and "delete_requests" per batch).
// The store runs without a cache, so every get reaches the server.
#include <strata/backends/s3.hpp>
#include <strata/strata.hpp>

#include <strata/bench/batch_data.hpp>
#include <strata/bench/ratio_reporter.hpp>

#include <benchmark/benchmark.h>
#include <curl/curl.h>
#include <fmt/core.h>

#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace strata;
using Store = TieredStore<NoCache, FixedRouter<Tier::cold>, NoTier, NoTier, S3Repository>;

int port() {
  const char* p = std::getenv("STRATA_S3_PORT");
  return p ? std::atoi(p) : 16400;
}

S3Options bench_options(bool count_erased = true) {
  S3Options options;
  options.endpoint = fmt::format("http://127.0.0.1:{}", port());
  options.bucket = "strata";
  options.key_prefix = "bench-";
  options.addressing = S3Addressing::path_style;
  options.credentials = S3Credentials{"S3RVER", "S3RVER", ""};
  options.count_erased = count_erased;
  return options;
}

Store make_store(bool count_erased = true) {
  return Store(StoreOptions{}, NoTier{}, NoTier{}, S3Repository(bench_options(count_erased)));
}

/// 4096-byte values under "k..." keys.
struct Data : bench::BatchData {
  explicit Data(std::size_t n) : BatchData(n, "k", 4096) {}
};

std::size_t size_of(const benchmark::State& state) {
  return static_cast<std::size_t>(state.range(0));
}

void fail_unless(benchmark::State& state, bool ok, const char* what) {
  if (!ok) state.SkipWithError(what);
}

void batch_put(benchmark::State& state) {
  const Data data(size_of(state));
  Store store = make_store();
  for (auto _ : state)
    fail_unless(state, store.batch_set(data.items).all_stored(), "batch_set failed");
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

void single_put(benchmark::State& state) {
  const Data data(size_of(state));
  Store store = make_store();
  for (auto _ : state)
    for (const Item& item : data.items)
      fail_unless(state, !store.set(item.key, item.value), "set failed");
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

void batch_get(benchmark::State& state) {
  const Data data(size_of(state));
  Store store = make_store();
  fail_unless(state, store.batch_set(data.items).all_stored(), "fill failed");
  for (auto _ : state)
    fail_unless(state, store.batch_get(data.views).found_count() == data.views.size(), "miss");
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

void single_get(benchmark::State& state) {
  const Data data(size_of(state));
  Store store = make_store();
  fail_unless(state, store.batch_set(data.items).all_stored(), "fill failed");
  for (auto _ : state)
    for (std::string_view key : data.views) fail_unless(state, store.get(key).found(), "miss");
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

/// batch_delete of objects stored (outside the timing) before each round.
void batch_delete(benchmark::State& state, bool count_erased) {
  const Data data(size_of(state));
  Store store = make_store(count_erased);
  auto& s3 = store.tier<Tier::cold>();
  std::uint64_t requests = 0, delete_requests = 0;
  for (auto _ : state) {
    state.PauseTiming();
    fail_unless(state, store.batch_set(data.items).all_stored(), "fill failed");
    const S3RequestCounts before = s3.request_counts();
    state.ResumeTiming();
    const DeleteResult deleted = store.batch_delete(data.views);
    state.PauseTiming();
    fail_unless(state, !count_erased || deleted.erased == data.views.size(), "wrong count");
    const S3RequestCounts after = s3.request_counts();
    delete_requests += after.delete_objects - before.delete_objects;
    requests +=
        after.delete_objects - before.delete_objects + after.head_object - before.head_object;
    state.ResumeTiming();
  }
  state.counters["requests"] =
      benchmark::Counter(static_cast<double>(requests) / static_cast<double>(state.iterations()));
  state.counters["delete_requests"] = benchmark::Counter(static_cast<double>(delete_requests) /
                                                         static_cast<double>(state.iterations()));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

void batch_delete_counted(benchmark::State& state) { batch_delete(state, true); }
void batch_delete_uncounted(benchmark::State& state) { batch_delete(state, false); }

void single_delete(benchmark::State& state) {
  const Data data(size_of(state));
  Store store = make_store();
  for (auto _ : state) {
    state.PauseTiming();
    fail_unless(state, store.batch_set(data.items).all_stored(), "fill failed");
    state.ResumeTiming();
    for (std::string_view key : data.views) benchmark::DoNotOptimize(store.erase(key));
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

std::size_t discard(char*, std::size_t size, std::size_t count, void*) { return size * count; }

/// Raw libcurl: one PUT after another on one keep-alive handle, the same
/// bytes strata would send, unsigned (s3rver does not check signatures).
void raw_put(benchmark::State& state) {
  const Data data(size_of(state));
  std::vector<std::string> envelopes, urls;
  for (std::size_t i = 0; i < data.keys.size(); ++i) {
    envelopes.push_back(encode_envelope(data.keys[i], {}, data.values[i]));
    urls.push_back(fmt::format("http://127.0.0.1:{}/strata/raw-{}", port(), data.keys[i]));
  }
  CURL* easy = curl_easy_init();
  curl_slist* headers = curl_slist_append(nullptr, "Expect:");
  headers = curl_slist_append(headers, "Content-Type: application/octet-stream");
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, "PUT");
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &discard);
  for (auto _ : state) {
    for (std::size_t i = 0; i < urls.size(); ++i) {
      curl_easy_setopt(easy, CURLOPT_URL, urls[i].c_str());
      curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(envelopes[i].size()));
      curl_easy_setopt(easy, CURLOPT_POSTFIELDS, envelopes[i].data());
      long status = 0;
      const bool ok = curl_easy_perform(easy) == CURLE_OK &&
                      curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK &&
                      status == 200;
      fail_unless(state, ok, "raw PUT failed");
    }
  }
  curl_slist_free_all(headers);
  curl_easy_cleanup(easy);
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  const std::vector<long> sizes{100, 2000};
  using Fn = void (*)(benchmark::State&);
  const std::pair<const char*, Fn> benchmarks[] = {
      {"raw/put_sequential", raw_put},
      {"single/put", single_put},
      {"batch/put", batch_put},
      {"single/get", single_get},
      {"batch/get", batch_get},
      {"single/delete", single_delete},
      {"batch/delete", batch_delete_counted},
      {"batch/delete_uncounted", batch_delete_uncounted}};
  for (long n : sizes) {
    for (const auto& [name, fn] : benchmarks) {
      auto* b = benchmark::RegisterBenchmark(name, fn)->Arg(n)->Unit(benchmark::kMillisecond);
      // A delete round refills its objects outside the timing: left to
      // itself, Google Benchmark would run a 7 ms delete ~100 times a second
      // of timing, each after a 90 ms refill.
      if (std::string_view(name).find("delete") != std::string_view::npos)
        b->Iterations(n <= 100 ? 10 : 2);
    }
  }
  strata::bench::RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);

  reporter.header("strata batch vs one call per object (sequential time / batch time)");
  for (long n : sizes) {
    for (const char* op : {"put", "get", "delete"})
      reporter.ratio(fmt::format("{} x{}", op, n), fmt::format("single/{}/{}", op, n),
                     fmt::format("batch/{}/{}", op, n));
    reporter.ratio(fmt::format("delete x{}, count_erased = false", n),
                   fmt::format("single/delete/{}", n), fmt::format("batch/delete_uncounted/{}", n));
  }
  reporter.header("strata set() vs raw libcurl PUT, both sequential (raw time / strata time)");
  for (long n : sizes)
    reporter.ratio(fmt::format("put x{}", n), fmt::format("raw/put_sequential/{}", n),
                   fmt::format("single/put/{}", n));
  benchmark::Shutdown();
  return 0;
}
