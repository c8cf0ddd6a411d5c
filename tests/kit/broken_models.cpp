// Models that each break one law, under the kit's laws: this binary is meant
// to fail, and broken_models_test.cpp runs it and asserts which laws caught
// which model. "Sound" runs the same laws over the correct models they wrap,
// so a failure is the breakage, not the harness.
#include <strata/testing/laws.hpp>

#include <cstddef>
#include <span>
#include <string_view>
#include <vector>

namespace strata::testing {

/// Wraps MemoryRepository; `Break` changes what reaches it or what is reported.
template <class Break, bool Atomic = false>
class BrokenRepository {
 public:
  static constexpr bool atomic_batches = Atomic;
  explicit BrokenRepository(Clock clock) : inner_(MemoryOptions{.clock = clock}) {}

  BatchResult store_many(std::span<const Record> records) { return Break::store(inner_, records); }
  LoadResult load_many(std::span<const std::string_view> keys) { return inner_.load_many(keys); }
  EraseResult erase_many(std::span<const std::string_view> keys) { return inner_.erase_many(keys); }
  ScanPage scan(std::string_view prefix, std::string_view cursor, std::size_t limit) {
    return inner_.scan(prefix, cursor, limit);
  }

 private:
  MemoryRepository inner_;
};

struct Sound {
  static BatchResult store(MemoryRepository& inner, std::span<const Record> records) {
    return inner.store_many(records);
  }
};

/// Reports every record stored and silently drops every fifth.
struct DropEveryFifth {
  static BatchResult store(MemoryRepository& inner, std::span<const Record> records) {
    std::vector<Record> kept;
    for (std::size_t i = 0; i < records.size(); ++i)
      if (i % 5 != 4) kept.push_back(records[i]);
    inner.store_many(kept);
    BatchResult result(records.size());
    result.mark_all_stored();
    return result;
  }
};

/// Claims atomic_batches, and applies the first half of a batch, failing the rest.
struct ApplyHalf {
  static BatchResult store(MemoryRepository& inner, std::span<const Record> records) {
    const std::size_t half = records.size() > 1 ? records.size() / 2 : records.size();
    const BatchResult applied = inner.store_many(records.first(half));
    BatchResult result(records.size());
    for (std::size_t i = 0; i < records.size(); ++i) {
      if (i < half && applied.stored(i))
        result.mark_stored(i);
      else
        result.mark_failed(i, errc::backend_unavailable);
    }
    return result;
  }
};

/// Forgets each record's expiry: expired records keep coming back.
struct ForgetExpiry {
  static BatchResult store(MemoryRepository& inner, std::span<const Record> records) {
    std::vector<Record> forever(records.begin(), records.end());
    for (Record& record : forever) record.expires_at.reset();
    return inner.store_many(forever);
  }
};

template <class Break, bool Atomic = false>
struct BrokenSetup {
  using Repository = BrokenRepository<Break, Atomic>;
  static Repository make(Clock clock) { return Repository(clock); }
};

/// An LruCache whose erase does nothing.
class StickyCache : public LruCache<> {
 public:
  void erase(std::string_view) noexcept {}
  void erase_many(std::span<const std::string_view>) noexcept {}
};

}  // namespace strata::testing

STRATA_REPOSITORY_LAWS(Sound, strata::testing::BrokenSetup<strata::testing::Sound>,
                       strata::testing::BrokenSetup<strata::testing::Sound, true>);
STRATA_CACHE_LAWS(Sound, strata::LruCache<>);
STRATA_REPOSITORY_LAWS(DropsStored, strata::testing::BrokenSetup<strata::testing::DropEveryFifth>);
STRATA_REPOSITORY_LAWS(HalfAtomic, strata::testing::BrokenSetup<strata::testing::ApplyHalf, true>);
STRATA_REPOSITORY_LAWS(ReturnsExpired, strata::testing::BrokenSetup<strata::testing::ForgetExpiry>);
STRATA_SCAN_LAWS(ReturnsExpired, strata::testing::BrokenSetup<strata::testing::ForgetExpiry>);
STRATA_CACHE_LAWS(KeepsErased, strata::testing::StickyCache);
