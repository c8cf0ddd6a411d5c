// What TieredStore's composition costs over the hand-written call, counted in
// instructions under callgrind (deterministic, unlike time on a shared VM):
// scripts/zero-overhead.sh runs this program under
// `valgrind --tool=callgrind` and divides each store_* function's inclusive
// instruction count by its hand-written twin's.
//
// The store: TieredStore<NoCache, FixedRouter<Tier::hot>, MemoryRepository,
// NoTier, NoTier, NoBus, NoStats>, so no cache, no routing choice, no lower
// tier, no counters (the gated ratio); the same store counting with the
// default StripedStats is measured too (counted_set / counted_get). The
// hand-written call does the same envelope work with the library's own
// functions: set encodes the envelope (both times set to now) and stores it
// as one record; get loads one key, checks the envelope (checksums, expiry)
// and strips the header in place. Each side makes `calls` calls.
#include <strata/strata.hpp>

#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>

namespace zero_overhead {

using namespace strata;
using Store =
    TieredStore<NoCache, FixedRouter<Tier::hot>, MemoryRepository, NoTier, NoTier, NoBus, NoStats>;
using CountingStore =
    TieredStore<NoCache, FixedRouter<Tier::hot>, MemoryRepository, NoTier, NoTier>;

// Keeps a result alive so the optimiser cannot drop the call that made it.
template <class T>
void keep(const T& value) {
  asm volatile("" : : "r"(&value) : "memory");
}

[[gnu::noinline]] void hand_written_set(MemoryRepository& repo, const Clock& clock,
                                        std::string_view key, std::string_view value, int calls) {
  std::string envelope(encoded_envelope_size(value.size()), '\0');
  for (int i = 0; i < calls; ++i) {
    const TimePoint now = clock.now();
    encode_envelope_into(envelope.data(), key, {now, now, std::nullopt, 0}, value);
    const Record record{key, envelope, std::nullopt};
    const BatchResult result = repo.store_many(std::span(&record, 1));
    const bool stored = !result.empty() && result.stored(0);
    keep(stored);
  }
}

template <class S>
void set_loop(S& store, std::string_view key, std::string_view value, int calls) {
  for (int i = 0; i < calls; ++i) {
    const std::error_code error = store.set(key, value);
    keep(error);
  }
}

[[gnu::noinline]] void store_set(Store& store, std::string_view key, std::string_view value,
                                 int calls) {
  set_loop(store, key, value, calls);
}

[[gnu::noinline]] void counted_set(CountingStore& store, std::string_view key,
                                   std::string_view value, int calls) {
  set_loop(store, key, value, calls);
}

// The hand-written get answers as the store does: one Lookup, moved out of
// the repository's result.
inline Lookup hand_written_lookup(MemoryRepository& repo, const Clock& clock,
                                  std::string_view key) {
  LoadResult loaded = repo.load_many(std::span(&key, 1));
  Lookup& slot = loaded[0];
  if (slot.found()) {
    const DecodedEnvelope decoded = decode_envelope(key, slot.value);
    const auto expires = decoded ? decoded.envelope.meta.expires_at : std::nullopt;
    if (!decoded || (expires && is_expired(*expires, clock.now()))) {
      slot = Lookup{};
    } else {
      slot.value.erase(0, decoded.envelope.header_size);
      slot.codec_tag = decoded.envelope.meta.codec_tag;
    }
  }
  return std::move(slot);
}

[[gnu::noinline]] void hand_written_get(MemoryRepository& repo, const Clock& clock,
                                        std::string_view key, int calls) {
  for (int i = 0; i < calls; ++i) {
    const Lookup found = hand_written_lookup(repo, clock, key);
    keep(found);
  }
}

template <class S>
void get_loop(S& store, std::string_view key, int calls) {
  for (int i = 0; i < calls; ++i) {
    const Lookup found = store.get(key);
    keep(found);
  }
}

[[gnu::noinline]] void store_get(Store& store, std::string_view key, int calls) {
  get_loop(store, key, calls);
}

[[gnu::noinline]] void counted_get(CountingStore& store, std::string_view key, int calls) {
  get_loop(store, key, calls);
}

}  // namespace zero_overhead

int main(int argc, char** argv) {
  using namespace zero_overhead;
  const int calls = argc > 1 ? std::atoi(argv[1]) : 100'000;
  const std::string_view key = "zero-overhead:key:1";
  const std::string value(100, 'v');

  MemoryRepository repo;
  const Clock clock;
  hand_written_set(repo, clock, key, value, calls);
  hand_written_get(repo, clock, key, calls);

  Store store;
  store_set(store, key, value, calls);
  store_get(store, key, calls);
  CountingStore counting;
  counted_set(counting, key, value, calls);
  counted_get(counting, key, calls);
  if (counting.stats()[Tier::hot].calls != 2 * static_cast<std::uint64_t>(calls)) {
    std::fprintf(stderr, "zero_overhead: the counting store did not count every call\n");
    return 1;
  }
  if (!store.get(key).found() || !counting.get(key).found() ||
      !repo.load_many(std::span<const std::string_view>(&key, 1))[0].found()) {
    std::fprintf(stderr, "zero_overhead: a value was not stored\n");
    return 1;
  }
  return 0;
}
