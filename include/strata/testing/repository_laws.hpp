#pragma once
/// \file
/// The laws of the Repository concept (core/concepts.hpp), checked on a model
/// alone, without a store: what every tier must do for the store's laws to
/// hold over it. A GoogleTest type-parameterised suite over a *setup*:
///
///     struct MyRepositorySetup {
///       using Repository = MyRepository;
///       // A fresh, empty repository that reads the time from `clock`.
///       static Repository make(strata::Clock clock);
///       // Optional: the longest key the laws write (default max_key_bytes).
///       static constexpr std::size_t longest_key = 512;
///       // Optional: the backend expires records by the server's clock (as
///       // Redis does with PX), so the expiry law runs in real time.
///       static constexpr bool server_expiry = false;
///     };
///     STRATA_REPOSITORY_LAWS(Mine, MyRepositorySetup);  // a ScannableRepository:
///     STRATA_SCAN_LAWS(Mine, MyRepositorySetup);        // the scan laws too
///
/// Each law makes its own repository and moves time with a ManualClock.

#include <strata/core/clock.hpp>
#include <strata/core/concepts.hpp>
#include <strata/core/envelope.hpp>
#include <strata/core/error.hpp>
#include <strata/core/key.hpp>
#include <strata/core/load_result.hpp>
#include <strata/core/record.hpp>

#include <strata/testing/instantiate.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <vector>

namespace strata::testing {

/// The longest key a setup's laws write: its `longest_key`, or max_key_bytes.
template <class Setup>
constexpr std::size_t longest_key_of() {
  if constexpr (requires { Setup::longest_key; })
    return Setup::longest_key;
  else
    return max_key_bytes;
}

/// Whether the setup's backend expires records by the server's own clock
/// (its `server_expiry`, default false).
template <class Setup>
constexpr bool server_expiry_of() {
  if constexpr (requires { Setup::server_expiry; })
    return Setup::server_expiry;
  else
    return false;
}

/// How many records an erase_many reports gone, whichever form it returns.
template <class R>
std::size_t erased_count(R& repository, std::span<const std::string_view> keys) {
  const auto erased = repository.erase_many(keys);
  if constexpr (std::is_same_v<std::remove_cvref_t<decltype(erased)>, EraseResult>) {
    EXPECT_FALSE(erased.error) << erased.error.message();
    return erased.erased;
  } else {
    return erased;
  }
}

/// Records the laws write: keys, their envelopes and expiries, owned together
/// so that Records and key views can point into them.
/// (Used by the laws.)
class RecordSet {
 public:
  /// A record of exactly these bytes.
  void add(std::string key, std::string envelope, std::optional<TimePoint> expires_at = {}) {
    keys_.push_back(std::move(key));
    envelopes_.push_back(std::move(envelope));
    expiries_.push_back(expires_at);
  }
  /// A record under `key` whose envelope binds it and holds `value`.
  void add_value(std::string key, std::string_view value, TimePoint now,
                 std::optional<TimePoint> expires_at = {}) {
    std::string envelope = encode_envelope(key, {now, now, expires_at, 0}, value);
    add(std::move(key), std::move(envelope), expires_at);
  }
  /// The Records, viewing this set.
  std::vector<Record> records() const {
    std::vector<Record> records;
    for (std::size_t i = 0; i < keys_.size(); ++i)
      records.push_back({keys_[i], envelopes_[i], expiries_[i]});
    return records;
  }
  /// The keys, viewing this set.
  std::vector<std::string_view> keys() const { return {keys_.begin(), keys_.end()}; }
  /// The i-th key.
  const std::string& key(std::size_t i) const { return keys_[i]; }
  /// The i-th record's bytes.
  const std::string& envelope(std::size_t i) const { return envelopes_[i]; }
  /// How many records.
  std::size_t size() const noexcept { return keys_.size(); }

 private:
  std::vector<std::string> keys_, envelopes_;
  std::vector<std::optional<TimePoint>> expiries_;
};

/// The repository laws' fixture: a fresh model from `Setup::make` on a manual clock.
template <class Setup>
class RepositoryLaws : public ::testing::Test {
 protected:
  using Repo = typename Setup::Repository;  ///< the model under test
  static_assert(Repository<Repo>, "the setup's Repository does not model strata::Repository");

  /// Every position is stored or carries an error that names why, and
  /// storage agrees with the result: a stored position loads its bytes back
  /// exactly; with atomic_batches the batch is all stored or all failed.
  void expect_result_agrees_with_storage(const RecordSet& set, const BatchResult& result) {
    ASSERT_EQ(result.size(), set.size());
    for (std::size_t i = 0; i < set.size(); ++i)
      EXPECT_TRUE(result.stored(i) || result.error(i))
          << set.key(i) << ": neither stored nor failed";
    if constexpr (Repo::atomic_batches) {
      EXPECT_TRUE(result.stored_count() == 0 || result.all_stored())
          << "atomic_batches, yet " << result.stored_count() << " of " << set.size()
          << " positions were stored";
    }
    const std::vector<std::string_view> keys = set.keys();
    const LoadResult loaded = repo_.load_many(keys);
    ASSERT_EQ(loaded.size(), set.size());
    for (std::size_t i = 0; i < set.size(); ++i) {
      if (result.stored(i)) {
        ASSERT_TRUE(loaded[i].found())
            << set.key(i) << " was reported stored and is "
            << (loaded[i].failed() ? loaded[i].error.message() : std::string("absent"));
        EXPECT_EQ(loaded[i].value, set.envelope(i)) << set.key(i) << ": other bytes came back";
      } else if (result.error(i) != errc::outcome_unknown) {
        // A failed position of fresh keys: nothing was written.
        EXPECT_FALSE(loaded[i].found()) << set.key(i) << " was reported failed ("
                                        << result.error(i).message() << ") and is stored";
      }
    }
  }

  ManualClock clock_;                        ///< the model's clock
  Repo repo_ = Setup::make(clock_.clock());  ///< the model under test
};

TYPED_TEST_SUITE_P(RepositoryLaws);

TYPED_TEST_P(RepositoryLaws, StoredRecordsComeBackByteExactAndFailuresAreNamed) {
  const TimePoint now = this->clock_.now();
  RecordSet set;
  std::string every_byte;
  for (int b = 0; b < 256; ++b) every_byte.push_back(static_cast<char>(b));
  set.add_value("law:every-byte", every_byte, now);
  set.add_value("law:empty", "", now);
  set.add_value("law:large", std::string(std::size_t{64} * 1024, 'L'), now);
  for (int i = 0; i < 200; ++i)
    set.add_value("law:n" + std::to_string(i), "value " + std::to_string(i), now);
  this->expect_result_agrees_with_storage(set, this->repo_.store_many(set.records()));

  // Overwrites replace the bytes; keys never written are absent, not errors.
  RecordSet again;
  for (int i = 0; i < 200; i += 3)
    again.add_value("law:n" + std::to_string(i), "second " + std::to_string(i), now);
  this->expect_result_agrees_with_storage(again, this->repo_.store_many(again.records()));
  const std::vector<std::string_view> missing{"law:never-1", "law:never-2"};
  const LoadResult loaded = this->repo_.load_many(missing);
  for (std::size_t i = 0; i < missing.size(); ++i) EXPECT_TRUE(loaded[i].absent()) << missing[i];
}

TYPED_TEST_P(RepositoryLaws, EveryBatchAgreesWithStorageAndAtomicBatchesAreAllOrNone) {
  // Batches of many sizes, one with a key a backend may refuse (the longest
  // the setup allows, of '%', which escapes to three bytes in a URL).
  const TimePoint now = this->clock_.now();
  int next = 0;
  for (std::size_t size : {1u, 2u, 7u, 100u, 1000u}) {
    RecordSet set;
    for (std::size_t i = 0; i < size; ++i)
      set.add_value("batch:" + std::to_string(next++), "v" + std::to_string(i), now);
    this->expect_result_agrees_with_storage(set, this->repo_.store_many(set.records()));
  }
  RecordSet edge;
  edge.add_value("batch:before-edge", "b", now);
  edge.add_value(std::string(longest_key_of<TypeParam>(), '%'), "edge", now);
  edge.add_value("batch:after-edge", "a", now);
  this->expect_result_agrees_with_storage(edge, this->repo_.store_many(edge.records()));
}

TYPED_TEST_P(RepositoryLaws, EraseRemovesAndCountsWhatExisted) {
  const TimePoint now = this->clock_.now();
  RecordSet set;
  for (int i = 0; i < 50; ++i) set.add_value("erase:" + std::to_string(i), "x", now);
  ASSERT_TRUE(this->repo_.store_many(set.records()).all_stored());
  std::vector<std::string_view> keys = set.keys();
  keys.push_back("erase:never-stored");
  EXPECT_EQ(erased_count(this->repo_, keys), 50u);
  const LoadResult loaded = this->repo_.load_many(keys);
  for (std::size_t i = 0; i < keys.size(); ++i) EXPECT_TRUE(loaded[i].absent()) << keys[i];
  EXPECT_EQ(erased_count(this->repo_, keys), 0u);  // a second erase finds nothing
}

TYPED_TEST_P(RepositoryLaws, AnExpiredRecordIsAbsentFromLoadScanAndTheEraseCount) {
  // A backend that expires records itself (Redis's PX: the repository's
  // clock only turns the expiry into a TTL) does so by the server's clock,
  // which a ManualClock cannot move: for such a setup the law runs in real
  // time, at a margin of 100 ms past the expiry. Otherwise exactly at it.
  constexpr bool server_expiry = server_expiry_of<TypeParam>();
  if (server_expiry) this->clock_.set(Clock{}.now());
  const TimePoint now = this->clock_.now();
  const Millis ttl{server_expiry ? 300 : 1000};
  RecordSet set;
  for (int i = 0; i < 10; ++i) {
    set.add_value("ttl:short" + std::to_string(i), "s", now, now + ttl);
    set.add_value("ttl:kept" + std::to_string(i), "k", now);
  }
  ASSERT_TRUE(this->repo_.store_many(set.records()).all_stored());
  const std::vector<std::string_view> keys = set.keys();

  if (server_expiry) {
    EXPECT_EQ(this->repo_.load_many(keys).found_count(), 20u) << "expired early";
    std::this_thread::sleep_until(std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            (now + ttl + Millis{100}).time_since_epoch())));
    this->clock_.set(Clock{}.now());
  } else {
    this->clock_.advance(ttl - Millis{1});
    EXPECT_EQ(this->repo_.load_many(keys).found_count(), 20u) << "expired a millisecond early";
    this->clock_.advance(Millis{1});  // an expiry is exclusive: gone at exactly t
  }
  const LoadResult loaded = this->repo_.load_many(keys);
  for (std::size_t i = 0; i < keys.size(); ++i)
    EXPECT_EQ(loaded[i].found(), keys[i].starts_with("ttl:kept")) << keys[i];
  if constexpr (ScannableRepository<typename TypeParam::Repository>) {
    std::set<std::string> scanned;
    std::string cursor;
    for (int page = 0; page < 100; ++page) {
      ScanPage got = this->repo_.scan("ttl:", cursor, 1000);
      ASSERT_FALSE(got.error) << got.error.message();
      for (auto& record : got.records) scanned.insert(record.key);
      if (got.done) break;
      cursor = got.next_cursor;
    }
    for (const std::string& key : scanned)
      EXPECT_TRUE(key.starts_with("ttl:kept")) << key << " is expired and was scanned";
    EXPECT_EQ(scanned.size(), 10u);
  }
  EXPECT_EQ(erased_count(this->repo_, keys), 10u) << "the erase count includes expired records";
}

TYPED_TEST_P(RepositoryLaws, BytesAreOpaqueEvenWhenTheyAreNoEnvelope) {
  // The store judges the bytes (and reports corrupt_record); a repository
  // hands back what it holds, or fails the position: never other bytes.
  const std::string envelope = encode_envelope("opaque:cut", {}, std::string(100, 'v'));
  RecordSet set;
  set.add("opaque:foreign", "{\"not\": \"a strata envelope\"}");
  set.add("opaque:cut", envelope.substr(0, 30));
  set.add("opaque:one-byte", "S");
  this->expect_result_agrees_with_storage(set, this->repo_.store_many(set.records()));
}

TYPED_TEST_P(RepositoryLaws, HostileButValidKeysRoundTripAsDistinctRecords) {
  const TimePoint now = this->clock_.now();
  const std::vector<std::string> hostile{
      "/",     "//",    ".",         "..",     "a/../b", "%",        "%2F",   "%00",
      "a%2Fb", "a/b",   "?x=1&y=2",  "#frag",  "\\",     "*",        "~",     "\"quoted\"",
      "'",     "<tag>", "{\"j\":1}", "Key",    "key",    "KEY",      "+plus", "a=b;c",
      "$HOME", "`cmd`", "|pipe",     "trail.", "-dash",  "x\x7e\x21"};
  RecordSet set;
  for (std::size_t i = 0; i < hostile.size(); ++i) {
    ASSERT_TRUE(is_valid_key(hostile[i])) << hostile[i];
    set.add_value(hostile[i], "value of " + std::to_string(i), now);
  }
  set.add_value(std::string(longest_key_of<TypeParam>(), 'z'), "the longest", now);
  const BatchResult stored = this->repo_.store_many(set.records());
  EXPECT_TRUE(stored.all_stored()) << stored.failed_count() << " hostile keys failed";
  this->expect_result_agrees_with_storage(set, stored);
}

REGISTER_TYPED_TEST_SUITE_P(RepositoryLaws, StoredRecordsComeBackByteExactAndFailuresAreNamed,
                            EveryBatchAgreesWithStorageAndAtomicBatchesAreAllOrNone,
                            EraseRemovesAndCountsWhatExisted,
                            AnExpiredRecordIsAbsentFromLoadScanAndTheEraseCount,
                            BytesAreOpaqueEvenWhenTheyAreNoEnvelope,
                            HostileButValidKeysRoundTripAsDistinctRecords);
// Including this header without instantiating the family is no error.
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(RepositoryLaws);

/// The scan law of ScannableRepository, on a model alone.
template <class Setup>
class ScanLaws : public RepositoryLaws<Setup> {
  static_assert(ScannableRepository<typename Setup::Repository>,
                "the scan laws need a strata::ScannableRepository");
};

TYPED_TEST_SUITE_P(ScanLaws);

TYPED_TEST_P(ScanLaws, AFullScanReturnsEachLiveRecordOnceAcrossPages) {
  const TimePoint now = this->clock_.now();
  RecordSet set;
  for (int i = 0; i < 250; ++i) set.add_value("scan:" + std::to_string(i), std::to_string(i), now);
  for (int i = 0; i < 20; ++i) set.add_value("other:" + std::to_string(i), "o", now);
  ASSERT_TRUE(this->repo_.store_many(set.records()).all_stored());
  std::map<std::string, std::string, std::less<>> expected;
  for (std::size_t i = 0; i < set.size(); ++i)
    if (set.key(i).starts_with("scan:")) expected.emplace(set.key(i), set.envelope(i));

  constexpr std::size_t limit = 7;
  std::map<std::string, std::string, std::less<>> scanned;
  std::string cursor;
  bool done = false;
  for (int page = 0; page < 1000 && !done; ++page) {
    ScanPage got = this->repo_.scan("scan:", cursor, limit);
    ASSERT_FALSE(got.error) << got.error.message();
    EXPECT_LE(got.records.size(), limit);
    for (auto& record : got.records) {
      const bool first = scanned.emplace(record.key, record.envelope).second;
      EXPECT_TRUE(first) << record.key << " was scanned twice";
    }
    done = got.done;
    cursor = got.next_cursor;
  }
  EXPECT_TRUE(done) << "the scan did not end in 1000 pages";
  EXPECT_EQ(scanned, expected);
}

TYPED_TEST_P(ScanLaws, APageReadOverAnotherHoldsOnlyItsOwnRecords) {
  // A page stream reads each page over one it has handled (scan_into, where
  // the repository has it): the page must be exactly the one scan() gives,
  // with nothing left of the longer page, cursor or end it held before.
  const TimePoint now = this->clock_.now();
  RecordSet set;
  for (int i = 0; i < 12; ++i)
    set.add_value("over:long:" + std::to_string(10 + i), std::string(300, 'l'), now);
  for (int i = 0; i < 3; ++i) set.add_value("over:short:" + std::to_string(i), "s", now);
  ASSERT_TRUE(this->repo_.store_many(set.records()).all_stored());
  // The same page as scan()'s: records, end and error. A cursor may be a
  // token the backend makes afresh for each call (S3's continuation tokens):
  // it is the same when the next page read from it is.
  const auto same_records = [](const ScanPage& got, const ScanPage& want) {
    EXPECT_EQ(got.error, want.error);
    EXPECT_EQ(got.done, want.done);
    EXPECT_EQ(got.next_cursor.empty(), want.next_cursor.empty());
    ASSERT_EQ(got.records.size(), want.records.size());
    for (std::size_t i = 0; i < got.records.size(); ++i) {
      EXPECT_EQ(got.records[i].key, want.records[i].key);
      EXPECT_EQ(got.records[i].envelope, want.records[i].envelope);
    }
  };
  const auto same = [&](const ScanPage& got, const ScanPage& want, std::string_view prefix,
                        std::size_t limit) {
    same_records(got, want);
    if (!got.next_cursor.empty() && !want.next_cursor.empty())
      same_records(this->repo_.scan(prefix, got.next_cursor, limit),
                   this->repo_.scan(prefix, want.next_cursor, limit));
  };
  ScanPage page;
  // Long records first (a page may come back empty where the backend's scan
  // works by slots, as Redis's SCAN does: the next one is read).
  for (int pages = 0; pages < 1000 && page.records.empty(); ++pages) {
    detail::scan_over(this->repo_, "over:long:", page.next_cursor, 100, page);
    ASSERT_FALSE(page.error) << page.error.message();
    if (page.done) break;
  }
  ASSERT_FALSE(page.records.empty());
  detail::scan_over(this->repo_, "over:short:", "", 100, page);  // fewer, shorter records
  same(page, this->repo_.scan("over:short:", "", 100), "over:short:", 100);
  detail::scan_over(this->repo_, "over:long:", "", 5, page);  // a page with a cursor
  same(page, this->repo_.scan("over:long:", "", 5), "over:long:", 5);
  detail::scan_over(this->repo_, "over:none:", "", 5, page);  // no record at all
  same(page, this->repo_.scan("over:none:", "", 5), "over:none:", 5);
  EXPECT_TRUE(page.records.empty());
}

REGISTER_TYPED_TEST_SUITE_P(ScanLaws, AFullScanReturnsEachLiveRecordOnceAcrossPages,
                            APageReadOverAnotherHoldsOnlyItsOwnRecords);
// Including this header without instantiating the family is no error.
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(ScanLaws);

}  // namespace strata::testing

/// Instantiates every repository law over each setup listed, under the
/// test-name prefix `prefix`. At namespace scope, once per prefix.
#define STRATA_REPOSITORY_LAWS(prefix, ...) \
  STRATA_INSTANTIATE_LAWS(RepositoryLaws, prefix, __VA_ARGS__)

/// Instantiates the scan laws over each setup listed (ScannableRepository models).
#define STRATA_SCAN_LAWS(prefix, ...) STRATA_INSTANTIATE_LAWS(ScanLaws, prefix, __VA_ARGS__)
