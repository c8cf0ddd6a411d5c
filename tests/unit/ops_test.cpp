// ops/: rehydrate resumed after a stop, a destination that fails a page,
// backup and restore byte for byte, retention on a 400-day calendar, cleanup's
// dry run and apply, demote, and purge across tiers. All in-process: the
// same operations against real servers are in tests/integration/.
#include <strata/backends/filesystem.hpp>
#include <strata/backends/sqlite.hpp>
#include <strata/core/any_repository.hpp>
#include <strata/ops/backup.hpp>
#include <strata/ops/demote.hpp>
#include <strata/ops/purge.hpp>
#include <strata/ops/rehydrate.hpp>
#include <strata/ops/retention.hpp>
#include <strata/strata.hpp>

#include <strata/testing/fault_injecting.hpp>
#include "support/temp_dir.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <array>
#include <chrono>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace strata::testing {
namespace {

using namespace std::chrono_literals;

/// A repository that records every key it was asked to store, in order.
class Recording {
 public:
  static constexpr bool atomic_batches = true;
  explicit Recording(Clock clock) : inner_(MemoryOptions{.clock = clock}) {}
  BatchResult store_many(std::span<const Record> records) {
    for (const Record& r : records) stored_.emplace_back(r.key);
    return inner_.store_many(records);
  }
  LoadResult load_many(std::span<const std::string_view> keys) const {
    return inner_.load_many(keys);
  }
  EraseResult erase_many(std::span<const std::string_view> keys) { return inner_.erase_many(keys); }
  ScanPage scan(std::string_view prefix, std::string_view cursor, std::size_t limit) const {
    return inner_.scan(prefix, cursor, limit);
  }
  const std::vector<std::string>& stored() const { return stored_; }

 private:
  MemoryRepository inner_;
  std::vector<std::string> stored_;
};

std::string envelope_at(std::string_view key, std::string_view value, TimePoint t,
                        std::optional<TimePoint> expires = std::nullopt) {
  return encode_envelope(key, EnvelopeMeta{t, t, expires, 0}, value);
}

/// `n` records "k:00000".. in `repo`, each value naming its key.
template <class Repo>
std::map<std::string, std::string> fill(Repo& repo, std::size_t n, TimePoint t) {
  std::map<std::string, std::string> out;
  std::vector<Record> records;
  for (std::size_t i = 0; i < n; ++i) {
    const std::string key = fmt::format("k:{:05}", i);
    out.emplace(key, envelope_at(key, fmt::format("value {}", i), t));
  }
  for (const auto& [key, envelope] : out) records.push_back({key, envelope, std::nullopt});
  EXPECT_TRUE(repo.store_many(records).all_stored());
  return out;
}

template <class Repo>
std::map<std::string, std::string> contents(Repo& repo) {
  std::map<std::string, std::string> out;
  std::string cursor;
  for (;;) {
    const ScanPage page = repo.scan("", cursor, 500);
    EXPECT_FALSE(page.error);
    for (const auto& r : page.records) out.emplace(r.key, r.envelope);
    if (page.done || page.next_cursor.empty()) return out;
    cursor = page.next_cursor;
  }
}

// ---- rehydrate ---------------------------------------------------------------------

TEST(Rehydrate, StoppedHalfwayAndResumedLosesAndDuplicatesNothing) {
  ManualClock clock;
  MemoryRepository warm(MemoryOptions{.clock = clock.clock()});
  const auto records = fill(warm, 2500, clock.now());
  Recording hot(clock.clock());

  std::size_t pages_seen = 0;
  RehydrateOptions options{
      .scan = {.page_size = 100, .stop_requested = [&] { return pages_seen == 12; }},
      .on_progress = [&](const RehydrateProgress&) { ++pages_seen; },
      .clock = clock.clock()};
  const RehydrateReport first = rehydrate(warm, hot, options);
  EXPECT_TRUE(first.stopped);
  EXPECT_FALSE(first.complete);
  EXPECT_EQ(first.copied, 1200u);
  EXPECT_EQ(first.cursor, "k:01199");  // the last key of the last page copied

  options.scan.cursor = first.cursor;
  options.scan.stop_requested = nullptr;
  const RehydrateReport second = rehydrate(warm, hot, options);
  EXPECT_TRUE(second.complete);
  EXPECT_TRUE(second.ok());
  EXPECT_EQ(first.copied + second.copied, 2500u);

  // Every key stored exactly once over the two runs, and byte-identical.
  std::vector<std::string> stored = hot.stored();
  std::sort(stored.begin(), stored.end());
  EXPECT_EQ(std::adjacent_find(stored.begin(), stored.end()), stored.end());
  EXPECT_EQ(stored.size(), 2500u);
  EXPECT_EQ(contents(hot), records);
}

TEST(Rehydrate, ADestinationThatFailsAPageStopsThereAndARerunCompletes) {
  ManualClock clock;
  MemoryRepository warm(MemoryOptions{.clock = clock.clock()});
  const auto records = fill(warm, 1000, clock.now());
  FaultInjecting<MemoryRepository> hot(MemoryRepository(MemoryOptions{.clock = clock.clock()}));
  hot.fail_keys({"k:00450"});  // the destination goes down for the page holding it

  RehydrateOptions options{.scan = {.page_size = 200}, .clock = clock.clock()};
  const RehydrateReport failed = rehydrate(warm, hot, options);
  EXPECT_FALSE(failed.complete);
  EXPECT_EQ(failed.error, errc::backend_unavailable);
  ASSERT_TRUE(failed.failed_range);
  EXPECT_EQ(failed.failed_range->first_key, "k:00400");
  EXPECT_EQ(failed.failed_range->last_key, "k:00599");
  EXPECT_EQ(failed.failed_range->keys, 200u);
  EXPECT_EQ(failed.copied, 400u);
  EXPECT_EQ(failed.cursor, "k:00399");

  hot.fail_keys({});
  options.scan.cursor = failed.cursor;
  const RehydrateReport rerun = rehydrate(warm, hot, options);
  EXPECT_TRUE(rerun.ok());
  EXPECT_EQ(rerun.copied, 600u);
  EXPECT_EQ(contents(hot.inner()), records);
}

TEST(Rehydrate, TheRateLimitSpacesPages) {
  MemoryRepository warm, hot;
  fill(warm, 500, Clock{}.now());
  const auto start = std::chrono::steady_clock::now();
  const RehydrateReport report =
      rehydrate(warm, hot, {.scan = {.page_size = 100, .max_keys_per_second = 5000}});
  EXPECT_TRUE(report.ok());
  // Four pages are followed by a wait: 400 keys at 5000/s is at least 80 ms.
  EXPECT_GE(std::chrono::steady_clock::now() - start, 80ms);
}

// ---- backup and restore --------------------------------------------------------------

struct BackupFixture : ::testing::Test {
  ManualClock clock{TimePoint{Millis{1'763'700'000'000}}};
  std::filesystem::path dir = fresh_dir();
  MemoryRepository warm{MemoryOptions{.clock = clock.clock()}};
  FilesystemRepository cold{
      FilesystemOptions{.root = dir / "cold", .clock = clock.clock(), .fsync = false}};
};

TEST_F(BackupFixture, RestoreGivesByteIdenticalRecords) {
  auto records = fill(warm, 2345, clock.now());
  // One record expires before the backup, one between backup and restore.
  const std::string gone = envelope_at("x:gone", "gone", clock.now(), clock.now() + 5ms);
  const std::string later = envelope_at("x:later", "later", clock.now(), clock.now() + 50ms);
  const std::vector<Record> expiring{{"x:gone", gone, std::nullopt},
                                     {"x:later", later, std::nullopt}};
  ASSERT_TRUE(warm.store_many(expiring).all_stored());
  clock.advance(10ms);

  const BackupReport made =
      backup(warm, cold, {.scan = {.page_size = 1000}, .source = "warm", .clock = clock.clock()});
  ASSERT_TRUE(made.ok()) << made.error.message();
  EXPECT_EQ(made.manifest.records, 2346u);
  EXPECT_EQ(made.skipped_expired, 1u);
  EXPECT_EQ(made.manifest.pages.size(), 3u);
  EXPECT_EQ(made.manifest.id, "20251121T044000010Z");  // from the clock, UTC

  const SnapshotListing listing = list_snapshots(cold);
  ASSERT_EQ(listing.snapshots.size(), 1u);
  EXPECT_EQ(listing.snapshots[0], made.manifest);

  MemoryRepository fresh(MemoryOptions{.clock = clock.clock()});
  const RestoreReport restored = restore(cold, made.manifest.id, fresh, {.clock = clock.clock()});
  ASSERT_TRUE(restored.ok()) << restored.error.message();
  EXPECT_EQ(restored.records, 2346u);
  records.emplace("x:later", later);
  EXPECT_TRUE(contents(fresh) == records);  // byte for byte: times, expiry, checksums

  // Stopped after its first page and resumed at next_page: the same records.
  MemoryRepository resumed(MemoryOptions{.clock = clock.clock()});
  std::size_t restored_pages = 0;
  const RestoreReport part =
      restore(cold, made.manifest.id, resumed,
              {.on_progress = [&](const SnapshotProgress&) { ++restored_pages; },
               .stop_requested = [&] { return restored_pages == 1; },
               .clock = clock.clock()});
  EXPECT_TRUE(part.stopped);
  EXPECT_EQ(part.next_page, 1u);
  const RestoreReport rest = restore(cold, made.manifest.id, resumed,
                                     {.first_page = part.next_page, .clock = clock.clock()});
  EXPECT_TRUE(rest.ok());
  EXPECT_EQ(part.records + rest.records, 2346u);
  EXPECT_TRUE(contents(resumed) == records);

  clock.advance(50ms);  // x:later has expired since the snapshot was taken
  MemoryRepository after_expiry(MemoryOptions{.clock = clock.clock()});
  const RestoreReport second =
      restore(cold, made.manifest.id, after_expiry, {.clock = clock.clock()});
  EXPECT_EQ(second.records, 2345u);
  EXPECT_EQ(second.skipped_expired, 1u);
}

TEST_F(BackupFixture, ADamagedOrMissingPageFailsTheRestoreLoudly) {
  fill(warm, 300, clock.now());
  const BackupReport made =
      backup(warm, cold, {.scan = {.page_size = 100}, .clock = clock.clock()});
  ASSERT_TRUE(made.ok());
  // Swap page 1 for page 0: each is a valid object, but not the page listed.
  const auto key = [&](std::size_t p) {
    return page_key(default_backup_root, made.manifest.id, p);
  };
  std::string page0, page1;
  ASSERT_FALSE(detail::load_one(cold, key(0), page0));
  ASSERT_FALSE(detail::load_one(cold, key(1), page1));
  ASSERT_FALSE(detail::store_one(cold, key(1), page0, clock.now()));
  MemoryRepository fresh;
  const RestoreReport swapped = restore(cold, made.manifest.id, fresh);
  EXPECT_EQ(swapped.error, errc::checksum_mismatch);
  EXPECT_EQ(swapped.next_page, 1u);  // page 0 was restored, and the run says where it stopped

  // A missing page is an error too, never a short restore that looks complete.
  ASSERT_FALSE(detail::store_one(cold, key(1), page1, clock.now()));
  const std::string missing = key(2);
  ASSERT_EQ(
      cold.erase_many(std::span<const std::string_view>(std::vector<std::string_view>{missing}))
          .erased,
      1u);
  const RestoreReport short_one = restore(cold, made.manifest.id, fresh);
  EXPECT_EQ(short_one.error, errc::corrupt_record);
  EXPECT_EQ(short_one.records, 200u);
  EXPECT_EQ(restore(cold, "no-such-snapshot", fresh).error, errc::not_found);
}

TEST_F(BackupFixture, AStoppedBackupLeavesNothingBehind) {
  fill(warm, 500, clock.now());
  std::size_t pages = 0;
  const BackupReport stopped =
      backup(warm, cold,
             {.scan = {.page_size = 100, .stop_requested = [&] { return pages == 2; }},
              .on_progress = [&](const SnapshotProgress&) { ++pages; },
              .clock = clock.clock()});
  EXPECT_TRUE(stopped.stopped);
  EXPECT_FALSE(stopped.ok());
  EXPECT_TRUE(contents(cold).empty());  // pages written so far were removed
  EXPECT_TRUE(list_snapshots(cold).snapshots.empty());
}

TEST(SnapshotFormat, ManifestsRoundTripAndAnythingElseIsRefused) {
  SnapshotManifest m{"20261122T000000000Z",
                     TimePoint{Millis{1'763'769'600'000}},
                     "warm",
                     "pos:",
                     3,
                     {{2, 100, 0xdeadbeef}, {1, 50, 0x1}}};
  const std::string text = format_manifest(m);
  EXPECT_EQ(parse_manifest(text), m);
  EXPECT_FALSE(parse_manifest(text.substr(0, text.size() - 4)));  // no "end"
  std::string wrong_count = text;
  wrong_count.replace(wrong_count.find("records 3"), 9, "records 4");
  EXPECT_FALSE(parse_manifest(wrong_count));
  EXPECT_FALSE(parse_manifest("strata-snapshot 2\n"));
  EXPECT_FALSE(parse_manifest(""));

  std::string page;
  pack_record(page, "a", "envelope-a");
  pack_record(page, "bb", "");
  const auto records = unpack_page(page);
  ASSERT_TRUE(records);
  ASSERT_EQ(records->size(), 2u);
  EXPECT_EQ((*records)[1].key, "bb");
  const std::size_t first = 4 + 1 + 8 + 10;  // a page may end after any whole record
  for (std::size_t cut = 1; cut < page.size(); ++cut) {
    const auto part = unpack_page(std::string_view(page).substr(0, cut));
    EXPECT_EQ(part.has_value(), cut == first) << cut;
  }
}

// ---- retention -------------------------------------------------------------------------

/// One snapshot a day at 02:00 UTC for 400 days up to 2026-11-21.
std::vector<SnapshotManifest> daily_calendar() {
  using namespace std::chrono;
  std::vector<SnapshotManifest> out;
  const sys_days last = 2026y / November / 21;
  for (int back = 399; back >= 0; --back) {
    const sys_days day = last - days{back};
    const TimePoint at{duration_cast<Millis>((day + 2h).time_since_epoch())};
    out.push_back(SnapshotManifest{snapshot_id_at(at), at, "warm", "", 1, {{1, 10, 0}}});
  }
  return out;
}

TEST(Retention, FourHundredDaysKeepThirtyDailyAndTwelveMonthly) {
  using namespace std::chrono;
  const auto calendar = daily_calendar();
  ASSERT_EQ(calendar.front().id, "20251018T020000000Z");
  const TimePoint now{
      duration_cast<Millis>((sys_days{2026y / November / 21} + 12h).time_since_epoch())};
  const RetentionPlan plan = plan_retention(calendar, RetentionPolicy{}, now);

  std::set<std::string> kept;
  for (const auto& verdict : plan.keep) kept.insert(verdict.snapshot.id.substr(0, 8));
  std::set<std::string> expected;
  for (int day = 23; day <= 31; ++day) expected.insert(fmt::format("202610{:02}", day));
  for (int day = 1; day <= 21; ++day) expected.insert(fmt::format("202611{:02}", day));
  // The newest of each earlier month, back to December 2025 (12 months with November 2026).
  for (const char* month_end : {"20251231", "20260131", "20260228", "20260331", "20260430",
                                "20260531", "20260630", "20260731", "20260831", "20260930"})
    expected.insert(month_end);
  // October 2026's newest (the 31st) is already a recent one.
  EXPECT_EQ(kept, expected);
  EXPECT_EQ(plan.keep.size(), 40u);
  EXPECT_EQ(plan.remove.size(), 360u);
  EXPECT_EQ(plan.keep.size() + plan.remove.size(), calendar.size());
  for (const auto& verdict : plan.remove) EXPECT_EQ(verdict.reason, RetentionReason::expired);

  // Exclusions are never deleted.
  RetentionPolicy keep_march{.exclude = {"202603*"}};
  const RetentionPlan with_march = plan_retention(calendar, keep_march, now);
  EXPECT_EQ(with_march.keep.size(), 40u + 30u);  // March's other 30 days
}

TEST(Retention, CleanupIsADryRunUntilAppliedThenDeletesExactlyThePlan) {
  using namespace std::chrono;
  MemoryRepository backups;
  const TimePoint now{
      duration_cast<Millis>((sys_days{2026y / November / 21} + 12h).time_since_epoch())};
  std::size_t objects_written = 0;
  for (const SnapshotManifest& m : daily_calendar()) {
    ASSERT_FALSE(detail::store_one(backups, page_key(default_backup_root, m.id, 0), "page", now));
    ASSERT_FALSE(detail::store_one(backups, manifest_key(default_backup_root, m.id),
                                   format_manifest(m), now));
    objects_written += 2;
  }
  ManualClock clock(now);
  const CleanupReport dry = cleanup(backups, {.clock = clock.clock()});
  EXPECT_FALSE(dry.applied);
  EXPECT_EQ(dry.plan.remove.size(), 360u);
  EXPECT_EQ(dry.objects, 720u);
  EXPECT_EQ(contents(backups).size(), objects_written);  // nothing deleted

  std::vector<std::string> audit;
  const CleanupReport applied =
      cleanup(backups, {.apply = true,
                        .audit = [&](const std::string& line) { audit.push_back(line); },
                        .clock = clock.clock()});
  EXPECT_TRUE(applied.applied);
  EXPECT_EQ(audit.size(), 360u);
  EXPECT_EQ(audit.front().rfind("deleted 20251018T020000000Z created 2025-10-18T02:00:00.000Z ", 0),
            0u)
      << audit.front();
  const SnapshotListing left = list_snapshots(backups);
  ASSERT_EQ(left.snapshots.size(), 40u);
  for (std::size_t i = 0; i < left.snapshots.size(); ++i)
    EXPECT_EQ(left.snapshots[i].id, dry.plan.keep[i].snapshot.id);
  EXPECT_EQ(contents(backups).size(), 80u);  // the kept snapshots' pages and manifests only
}

// ---- demote and purge ------------------------------------------------------------------

TEST(Demote, OldRecordsMoveDownYoungOnesStayAndTheCacheForgetsTheMoved) {
  ManualClock clock;
  using Store =
      TieredStore<LruCache<>, FixedRouter<Tier::warm>, NoTier, MemoryRepository, MemoryRepository>;
  Store store(StoreOptions{.read_fallback = ReadFallback::on_miss, .clock = clock.clock()},
              NoTier{}, MemoryRepository(MemoryOptions{.clock = clock.clock()}),
              MemoryRepository(MemoryOptions{.clock = clock.clock()}));
  ASSERT_TRUE(store.batch_set({{"old:1", "a"}, {"old:2", "b"}}).all_stored());
  clock.advance(Millis{std::chrono::hours(24 * 91)});
  ASSERT_TRUE(store.batch_set({{"new:1", "c"}}).all_stored());
  const std::string old_envelope = contents(store.tier<Tier::warm>())["old:1"];

  const DemoteReport report = demote<Tier::warm, Tier::cold>(
      store, {.older_than = Millis{std::chrono::hours(24 * 90)}, .clock = clock.clock()});
  EXPECT_TRUE(report.ok());
  EXPECT_EQ(report.copied, 2u);
  EXPECT_EQ(report.kept, 1u);
  const auto warm = contents(store.tier<Tier::warm>());
  const auto cold = contents(store.tier<Tier::cold>());
  EXPECT_EQ(warm.size(), 1u);
  EXPECT_TRUE(warm.contains("new:1"));
  EXPECT_EQ(cold.size(), 2u);
  EXPECT_EQ(cold.at("old:1"), old_envelope);  // verbatim
  EXPECT_FALSE(store.cache().find("old:1", clock.now()));
  EXPECT_EQ(store.get("old:1").value, "a");  // through the fallback
}

TEST(Demote, ALowerTierThatCannotWriteFailsThePageAndErasesNothing) {
  ManualClock clock;
  const auto file = fresh_dir() / "cold.sqlite3";
  using Store =
      TieredStore<LruCache<>, FixedRouter<Tier::warm>, NoTier, MemoryRepository, SqliteRepository>;
  Store store(StoreOptions{.clock = clock.clock()}, NoTier{},
              MemoryRepository(MemoryOptions{.clock = clock.clock()}),
              SqliteRepository(
                  SqliteOptions{.path = file, .busy_timeout = Millis{20}, .exclusive = false}));
  ASSERT_TRUE(store.batch_set({{"old:1", "a"}, {"old:2", "b"}}).all_stored());
  clock.advance(Millis{std::chrono::hours(24 * 91)});
  // Another connection holds COLD's write lock: the page cannot go down.
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(file.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);
  const DemoteReport report = demote<Tier::warm, Tier::cold>(
      store, {.older_than = Millis{std::chrono::hours(24 * 90)}, .clock = clock.clock()});
  sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(other);
  EXPECT_FALSE(report.ok());
  EXPECT_EQ(report.error, errc::timeout);
  ASSERT_TRUE(report.failed_range);
  EXPECT_EQ(report.failed_range->first_key, "old:1");
  EXPECT_EQ(report.failed_range->last_key, "old:2");
  EXPECT_EQ(report.copied, 0u);
  EXPECT_EQ(contents(store.tier<Tier::warm>()).size(), 2u);  // nothing left WARM
}

TEST(Purge, EveryTierThatKeepsExpiredRecordsPurgesThem) {
  ManualClock clock;
  const auto dir = fresh_dir();
  using Store = TieredStore<NoCache, PrefixRouter<Route<"h:", Tier::hot>, Fallback<Tier::cold>>,
                            MemoryRepository, NoTier, FilesystemRepository>;
  Store store(
      StoreOptions{.clock = clock.clock()}, MemoryRepository(MemoryOptions{.clock = clock.clock()}),
      NoTier{},
      FilesystemRepository(FilesystemOptions{.root = dir, .clock = clock.clock(), .fsync = false}));
  ASSERT_TRUE(store
                  .batch_set({{"h:a", "1", 10ms},
                              {"h:b", "2", 10ms},
                              {"h:c", "3"},
                              {"c:a", "4", 10ms},
                              {"c:b", "5"}})
                  .all_stored());
  clock.advance(10ms);
  const PurgeReport report = purge_expired(store);
  EXPECT_TRUE(report.ok());
  EXPECT_EQ(report.purged_by_tier[index_of(Tier::hot)], 2u);
  EXPECT_EQ(report.purged_by_tier[index_of(Tier::cold)], 1u);
  EXPECT_EQ(report.purged, 3u);
  EXPECT_EQ(store.tier<Tier::hot>().size(), 1u);
}

}  // namespace
}  // namespace strata::testing

// ---- names and forwarding ---------------------------------------------------------------

namespace strata::testing {
namespace {

TEST(Names, EveryTierAndRetentionReasonPrintsItsOwnName) {
  EXPECT_EQ(to_string(Tier::hot), "hot");
  EXPECT_EQ(to_string(Tier::warm), "warm");
  EXPECT_EQ(to_string(Tier::cold), "cold");
  EXPECT_EQ(to_string(static_cast<Tier>(7)), "unknown");  // bytes from elsewhere, not a tier
  EXPECT_EQ(to_string(RetentionReason::recent), "recent");
  EXPECT_EQ(to_string(RetentionReason::monthly), "monthly");
  EXPECT_EQ(to_string(RetentionReason::excluded), "excluded");
  EXPECT_EQ(to_string(RetentionReason::expired), "expired");
  EXPECT_EQ(to_string(static_cast<RetentionReason>(9)), "?");
}

TEST(TypeErasedRepository, PurgeReachesTheRepositoryOrSaysItHasNone) {
  ManualClock clock;
  MemoryRepository memory(MemoryOptions{.clock = clock.clock()});
  const TimePoint soon = clock.now() + 10ms;
  const std::vector<Record> records{{"a", "x", soon}, {"b", "y", std::nullopt}};
  ASSERT_TRUE(memory.store_many(records).all_stored());
  AnyRepository any(std::move(memory), "memory:");
  clock.advance(10ms);
  EXPECT_EQ(any.purge_expired(), std::optional<std::size_t>(1));  // "a" only
  // A repository without purge_expired (its backend expires records itself).
  AnyRepository without(FaultInjecting<MemoryRepository>{}, "fault-injecting");
  EXPECT_EQ(without.purge_expired(), std::nullopt);
}

// AnyRepository's in-place forms over a repository that has none: the plain
// call's answer replaces whatever the result or page held.
TEST(AnyRepositoryTest, InPlaceReadsOverAPlainRepositoryGiveThePlainAnswer) {
  MemoryRepository memory;
  const std::vector<Record> records{{"a", "x", std::nullopt}, {"b", "y", std::nullopt}};
  ASSERT_TRUE(memory.store_many(records).all_stored());
  AnyRepository any(std::move(memory), "memory:");
  LoadResult result(5);
  result.set_found(4, std::string(100, 'z'));
  const std::vector<std::string_view> keys{"b", "none"};
  any.load_many_into(keys, result);
  ASSERT_EQ(result.size(), 2u);
  EXPECT_EQ(result[0].value, "y");
  EXPECT_TRUE(result[1].absent());
  ScanPage page = any.scan("", "", 10);
  ASSERT_EQ(page.records.size(), 2u);
  any.scan_into("b", "", 10, page);
  ASSERT_EQ(page.records.size(), 1u);
  EXPECT_EQ(page.records[0].key, "b");
  EXPECT_TRUE(page.done);
}

TEST(PageStream, AStopRequestedBeforeTheFirstPageReadsNothing) {
  MemoryRepository from, to;
  const std::vector<Record> records{{"a", "x", std::nullopt}, {"b", "y", std::nullopt}};
  ASSERT_TRUE(from.store_many(records).all_stored());
  const RehydrateReport report = rehydrate(
      from, to, {.scan = {.page_size = 1, .cursor = "a", .stop_requested = [] { return true; }}});
  EXPECT_TRUE(report.stopped);
  EXPECT_FALSE(report.complete);
  EXPECT_EQ(report.copied, 0u);
  EXPECT_EQ(report.cursor, "a");  // a re-run resumes where this one was asked to start
  EXPECT_EQ(to.scan("", "", 10).records.size(), 0u);
}

TEST(PageStream, EachPageIsPreparedByTheThreadThatReadItAndHandledInItsSlot) {
  MemoryRepository from;
  fill(from, 25, Clock{}.now());
  std::array<std::vector<std::string>, 2> prepared;  // keys prepared into each slot
  std::vector<std::string> handled;
  std::size_t prepared_elsewhere = 0;
  const std::thread::id caller = std::this_thread::get_id();
  const PageStreamEnd end = detail::stream_prepared_pages(
      from, PageScan{.page_size = 10},
      [&](const ScanPage& page, std::size_t slot) {
        ASSERT_LT(slot, 2u);
        prepared[slot].clear();
        for (const ScannedRecord& r : page.records) prepared[slot].push_back(r.key);
        prepared_elsewhere += std::this_thread::get_id() != caller;
      },
      [&](const ScanPage& page, std::size_t slot) {
        std::vector<std::string> keys;
        for (const ScannedRecord& r : page.records) keys.push_back(r.key);
        EXPECT_EQ(prepared[slot], keys);  // what was prepared for this very page
        handled.insert(handled.end(), keys.begin(), keys.end());
        return true;
      });
  EXPECT_TRUE(end.complete);
  ASSERT_EQ(handled.size(), 25u);
  EXPECT_EQ(handled.front(), "k:00000");
  EXPECT_EQ(handled.back(), "k:00024");
  // The first page is read before anything is handled; the next two are read
  // (and prepared) beside the handling of the page before them.
  EXPECT_EQ(prepared_elsewhere, 2u);
}

TEST(NoCache, KeepsNothing) {
  NoCache cache;
  cache.put("k", "v", std::nullopt);
  EXPECT_FALSE(cache.find("k", Clock{}.now()));
  cache.erase("k");
  EXPECT_FALSE(cache.find("k", Clock{}.now()));
}

}  // namespace
}  // namespace strata::testing
