// SortedVectorRepository in a TieredStore vs called directly, with
// strata::bench::Comparison. The baseline does the store's work by hand: it
// encodes each envelope before a write; after a read it decodes and verifies
// each one, judges its expiry and moves the value down in place over the
// header, as batch_get does.
// Run: ./sorted_vector_bench [--benchmark_min_time=0.01]
#include "sorted_vector_repository.hpp"

#include <strata/bench/batch_data.hpp>
#include <strata/bench/comparison.hpp>

#include <string>
#include <vector>

using Store = strata::TieredStore<strata::NoCache, strata::FixedRouter<strata::Tier::warm>,
                                  strata::NoTier, example::SortedVectorRepository, strata::NoTier>;

int main(int argc, char** argv) {
  strata::bench::Comparison compare("the store vs the repository by hand (time / time)");
  compare.add(
      "set", {100, 10'000},
      [](benchmark::State& state, std::size_t n) {
        const strata::bench::BatchData data(n, "pos:", 100);
        example::SortedVectorRepository direct;
        std::vector<std::string> envelopes(n);
        std::vector<strata::Record> records(n);
        for (auto _ : state) {
          const strata::TimePoint now = strata::Clock{}.now();
          for (std::size_t i = 0; i < n; ++i) {
            envelopes[i] =
                strata::encode_envelope(data.keys[i], {now, now, std::nullopt, 0}, data.values[i]);
            records[i] = {data.keys[i], envelopes[i], std::nullopt};
          }
          benchmark::DoNotOptimize(direct.store_many(records).all_stored());
        }
      },
      [](benchmark::State& state, std::size_t n) {
        const strata::bench::BatchData data(n, "pos:", 100);
        Store store;
        for (auto _ : state) benchmark::DoNotOptimize(store.batch_set(data.items).all_stored());
      });
  compare.add(
      "get", {100, 10'000},
      [](benchmark::State& state, std::size_t n) {
        const strata::bench::BatchData data(n, "pos:", 100);
        Store store;  // written the same way, then read around the store
        store.batch_set(data.items);
        auto& direct = store.tier<strata::Tier::warm>();
        for (auto _ : state) {
          strata::LoadResult loaded = direct.load_many(data.views);
          const strata::TimePoint now = strata::Clock{}.now();
          for (std::size_t i = 0; i < n; ++i) {
            strata::Lookup& slot = loaded[i];
            if (!slot.found()) continue;
            const strata::DecodedEnvelope decoded =
                strata::decode_envelope(data.views[i], slot.value);
            const auto expires = decoded ? decoded.envelope.meta.expires_at : std::nullopt;
            if (!decoded) {
              loaded.set_failed(i, decoded.error);
            } else if (expires && strata::is_expired(*expires, now)) {
              loaded.set_absent(i);
            } else {  // the value is the envelope's tail, moved down in place
              slot.value.erase(0, decoded.envelope.header_size);
              slot.codec_tag = decoded.envelope.meta.codec_tag;
            }
          }
          benchmark::DoNotOptimize(loaded);
        }
      },
      [](benchmark::State& state, std::size_t n) {
        const strata::bench::BatchData data(n, "pos:", 100);
        Store store;
        store.batch_set(data.items);
        for (auto _ : state) benchmark::DoNotOptimize(store.batch_get(data.views));
      });
  return compare.run(argc, argv);
}
