// The embedded persistent tiers (SQLite WARM, filesystem COLD), the embedded
// default stack and rehydrate. The law tests also run over this stack
// (laws_test.cpp, EmbeddedBackends).
#include <strata/embedded.hpp>
#include <strata/ops/rehydrate.hpp>

#include "support/temp_dir.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace strata::testing {
namespace {

std::string envelope_of(std::string_view key, std::string_view value, TimePoint now,
                        std::optional<TimePoint> expires = std::nullopt) {
  return encode_envelope(key, {now, now, expires, 0}, value);
}

/// Runs SQL on a database file through a connection of its own, as another
/// process or an older strata would.
void raw_sql(const std::filesystem::path& file, const std::string& sql,
             std::vector<std::pair<int, std::string>> blobs = {}) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  for (const auto& [index, blob] : blobs)
    sqlite3_bind_blob(st, index, blob.data(), static_cast<int>(blob.size()), SQLITE_TRANSIENT);
  EXPECT_EQ(sqlite3_step(st), SQLITE_DONE) << sqlite3_errmsg(db);
  sqlite3_finalize(st);
  sqlite3_close(db);
}

// ---- SQLite ----------------------------------------------------------------------

TEST(Sqlite, MigratesAnOlderSchemaWithoutLosingRows) {
  ManualClock clock;
  const auto file = fresh_dir() / "old.sqlite3";
  // The version-1 layout: no expires_at column.
  raw_sql(file, "CREATE TABLE strata_schema (version INTEGER NOT NULL)");
  raw_sql(file, "INSERT INTO strata_schema(version) VALUES (1)");
  raw_sql(file,
          "CREATE TABLE strata_records (key TEXT PRIMARY KEY NOT NULL, envelope BLOB NOT NULL) "
          "WITHOUT ROWID");
  const std::string forever = envelope_of("a", "forever", clock.now());
  const std::string later = envelope_of("b", "later", clock.now(), clock.now() + Millis{100});
  const std::string gone = envelope_of("c", "gone", clock.now(), clock.now() + Millis{10});
  raw_sql(file, "INSERT INTO strata_records VALUES ('a', ?1), ('b', ?2), ('c', ?3)",
          {{1, forever}, {2, later}, {3, gone}});

  clock.advance(Millis{50});
  const std::vector<std::string_view> keys{"a", "b", "c"};
  {
    SqliteRepository repo(SqliteOptions{.path = file, .clock = clock.clock()});
    const LoadResult loaded = repo.load_many(keys);
    EXPECT_EQ(loaded[0].value, forever);
    EXPECT_EQ(loaded[1].value, later);
    EXPECT_TRUE(loaded[2].absent());  // its expiry was read out of the envelope
    EXPECT_EQ(repo.purge_expired(), 1u);
    clock.advance(Millis{50});
    EXPECT_TRUE(repo.load_many(keys)[1].absent());
  }

  // Reopening migrates nothing twice.
  SqliteRepository again(SqliteOptions{.path = file, .clock = clock.clock()});
  EXPECT_EQ(again.load_many(keys)[0].value, forever);
}

TEST(Sqlite, RefusesASchemaNewerThanItKnows) {
  const auto file = fresh_dir() / "future.sqlite3";
  { SqliteRepository create(SqliteOptions{.path = file}); }
  raw_sql(file, "INSERT INTO strata_schema(version) VALUES (99)");
  EXPECT_THROW(SqliteRepository(SqliteOptions{.path = file}), Error);
}

TEST(Sqlite, LoadsAndErasesWholeBatchesWithDuplicatesAndOddKeys) {
  ManualClock clock;
  SqliteRepository repo(SqliteOptions{.path = fresh_dir() / "w.sqlite3", .clock = clock.clock()});
  const std::string a = envelope_of("a", "1", clock.now()),
                    q = envelope_of("q\"uote\\", "2", clock.now());
  const std::string t = envelope_of("ttl", "3", clock.now(), clock.now() + Millis{5});
  const std::vector<Record> records{
      {"a", a}, {"q\"uote\\", q}, {"ttl", t, clock.now() + Millis{5}}};
  ASSERT_TRUE(repo.store_many(records).all_stored());
  const std::vector<std::string_view> keys{"q\"uote\\", "missing", "a", "a", "ttl"};
  const LoadResult loaded = repo.load_many(keys);
  EXPECT_EQ(loaded[0].value, q);
  EXPECT_TRUE(loaded[1].absent());
  EXPECT_EQ(loaded[2].value, a);
  EXPECT_EQ(loaded[3].value, a);
  EXPECT_EQ(loaded[4].value, t);
  clock.advance(Millis{5});
  EXPECT_EQ(repo.erase_many(keys).erased, 2u);  // the expired row is not counted
  EXPECT_EQ(repo.load_many(keys).found_count(), 0u);
}

TEST(Sqlite, ScanPagesByKeysetThroughEveryPrefixedRowOnce) {
  SqliteRepository repo(SqliteOptions{.path = fresh_dir() / "s.sqlite3"});
  std::vector<std::string> keys, envelopes;
  for (int i = 0; i < 103; ++i) keys.push_back("p:" + std::to_string(i));
  keys.push_back("q:0");
  keys.push_back("p");
  std::vector<Record> records;
  for (const auto& key : keys) records.push_back({key, "x"});
  ASSERT_TRUE(repo.store_many(records).all_stored());
  std::vector<std::string> seen;
  std::string cursor;
  for (int pages = 0;; ++pages) {
    ASSERT_LT(pages, 20);
    const ScanPage page = repo.scan("p:", cursor, 10);
    ASSERT_FALSE(page.error);
    for (const auto& record : page.records) seen.push_back(record.key);
    if (page.done) break;
    cursor = page.next_cursor;
  }
  EXPECT_EQ(seen.size(), 103u);
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), 103u);
}

TEST(Sqlite, IsSafeAcrossThreads) {
  SqliteRepository repo(
      SqliteOptions{.path = fresh_dir() / "t.sqlite3", .sync_every_commit = false});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&repo, t] {
      for (int batch = 0; batch < 25; ++batch) {
        std::vector<std::string> keys;
        for (int i = 0; i < 20; ++i)
          keys.push_back(std::to_string(t) + ":" + std::to_string(batch) + ":" + std::to_string(i));
        std::vector<Record> records;
        for (const auto& key : keys) records.push_back({key, key});
        EXPECT_TRUE(repo.store_many(records).all_stored());
        const std::vector<std::string_view> views(keys.begin(), keys.end());
        const LoadResult loaded = repo.load_many(views);
        for (std::size_t i = 0; i < keys.size(); ++i) EXPECT_EQ(loaded[i].value, keys[i]);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  std::size_t total = 0;
  for (ScanPage page = repo.scan("", "", 5000);; page = repo.scan("", page.next_cursor, 5000)) {
    total += page.records.size();
    if (page.done) break;
  }
  EXPECT_EQ(total, 4u * 25u * 20u);
}

TEST(Sqlite, CorruptedRowIsAChecksumError) {
  const auto dir = fresh_dir();
  std::string damaged;
  {
    auto store = open_embedded_store(dir, {.durable = false});
    ASSERT_FALSE(store.set("w:row", "the value"));
    const std::string_view key = "w:row";
    damaged = store.tier<Tier::warm>().load_many(std::span(&key, 1))[0].value;
  }
  // The row rots on disk while the store is closed.
  damaged.back() ^= 0x01;
  raw_sql(dir / "warm.sqlite3", "UPDATE strata_records SET envelope = ?1 WHERE key = 'w:row'",
          {{1, damaged}});
  auto store = open_embedded_store(dir, {.durable = false});
  EXPECT_EQ(store.get("w:row").error, errc::checksum_mismatch);
  EXPECT_EQ(store.stats()[Tier::warm].checksum_errors, 1u);
}

TEST(Sqlite, SharedModeLetsTwoConnectionsUseOneFile) {
  const auto file = fresh_dir() / "shared.sqlite3";
  SqliteRepository first(SqliteOptions{.path = file, .exclusive = false});
  SqliteRepository second(SqliteOptions{.path = file, .exclusive = false});
  const Record record{"k", "bytes"};
  ASSERT_TRUE(first.store_many(std::span(&record, 1)).all_stored());
  const std::string_view key = "k";
  EXPECT_EQ(second.load_many(std::span(&key, 1))[0].value, "bytes");
}

TEST(Sqlite, ADatabaseLockedByAnotherConnectionIsATimeoutAndLosesNothing) {
  const auto file = fresh_dir() / "locked.sqlite3";
  SqliteRepository repo(
      SqliteOptions{.path = file, .busy_timeout = Millis{50}, .exclusive = false});
  const Record before{"before", "kept"};
  ASSERT_TRUE(repo.store_many(std::span(&before, 1)).all_stored());
  // Another connection takes the write lock and keeps it.
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(file.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);
  const std::vector<Record> batch{{"a", "1"}, {"b", "2"}};
  const BatchResult refused = repo.store_many(batch);
  EXPECT_EQ(refused.error(0), errc::timeout);
  EXPECT_EQ(refused.error(1), errc::timeout);
  const std::vector<std::string_view> keys{"before", "a"};
  EXPECT_EQ(repo.erase_many(keys).error, errc::timeout);
  ASSERT_EQ(sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(other);
  // Released: nothing of the refused batch was written, the old row is intact.
  const LoadResult after = repo.load_many(keys);
  EXPECT_EQ(after[0].value, "kept");
  EXPECT_TRUE(after[1].absent());
  EXPECT_TRUE(repo.store_many(batch).all_stored());
}

// ---- filesystem ------------------------------------------------------------------

TEST(Filesystem, AnyValidKeyIsASafeFileNameAndComesBack) {
  FilesystemRepository repo(FilesystemOptions{.root = fresh_dir(), .fsync = false});
  const std::vector<std::string> keys{"../escape",
                                      "a/b/c",
                                      ".",
                                      "..",
                                      "%2F",
                                      "UPPER-lower_09",
                                      "~!@#$^&*()+={}[]|:;'<>,.?`\"\\",
                                      std::string(max_key_bytes, '%'),
                                      std::string(max_key_bytes, 'k')};
  std::vector<std::string> values;
  for (const auto& key : keys) values.push_back("v:" + key);
  std::vector<Record> records;
  for (std::size_t i = 0; i < keys.size(); ++i) records.push_back({keys[i], values[i]});
  ASSERT_TRUE(repo.store_many(records).all_stored());
  for (const auto& key : keys) {
    const auto path = repo.object_path(key);
    for (const auto& part : path.lexically_relative(repo.root()))
      EXPECT_LE(part.string().size(), FilesystemRepository::max_component_bytes) << key;
    EXPECT_EQ(repo.key_of(path), key);
    EXPECT_TRUE(std::filesystem::is_regular_file(path)) << key;
  }
  const std::vector<std::string_view> views(keys.begin(), keys.end());
  const LoadResult loaded = repo.load_many(views);
  for (std::size_t i = 0; i < keys.size(); ++i) EXPECT_EQ(loaded[i].value, "v:" + keys[i]);
  const ScanPage all = repo.scan("", "", 100);
  EXPECT_TRUE(all.done);
  EXPECT_EQ(all.records.size(), keys.size());
  EXPECT_EQ(repo.erase_many(views).erased, keys.size());
  EXPECT_EQ(repo.scan("", "", 100).records.size(), 0u);
}

TEST(Filesystem, TornTempFilesAreNeverReadAndAreCleaned) {
  const auto root = fresh_dir();
  const TimePoint now = Clock{}.now();
  const std::string whole = envelope_of("k", "whole", now);
  {
    FilesystemRepository repo(FilesystemOptions{.root = root, .fsync = false});
    const Record record{"k", whole};
    ASSERT_TRUE(repo.store_many(std::span(&record, 1)).all_stored());
  }
  // A writer that died mid-write: half an envelope in tmp/, one old, one fresh.
  const auto stale = root / "tmp" / "crashed-1.tmp", fresh = root / "tmp" / "crashed-2.tmp";
  for (const auto& path : {stale, fresh}) std::ofstream(path) << whole.substr(0, 30);
  std::filesystem::last_write_time(
      stale, std::filesystem::file_time_type::clock::now() - std::chrono::hours(1));

  FilesystemRepository reopened(FilesystemOptions{.root = root});
  EXPECT_FALSE(std::filesystem::exists(stale));
  EXPECT_TRUE(std::filesystem::exists(fresh));  // may belong to a live writer
  const std::string_view key = "k";
  EXPECT_EQ(reopened.load_many(std::span(&key, 1))[0].value, whole);
  EXPECT_EQ(reopened.scan("", "", 10).records.size(), 1u);
}

TEST(Filesystem, FailuresArePerItemInSmallAndLargeBatches) {
  // Small batches fsync per object, large ones sync the filesystem: both
  // report per item.
  for (std::size_t size : {std::size_t{3}, 2 * FilesystemRepository::syncfs_batch}) {
    FilesystemRepository repo(FilesystemOptions{.root = fresh_dir()});
    // A directory squatting where "blocked"'s object belongs: its rename fails.
    std::filesystem::create_directories(repo.object_path("blocked") / "squatter");
    std::vector<std::string> keys;
    for (std::size_t i = 0; i < size; ++i) keys.push_back("fine-" + std::to_string(i));
    keys[1] = "blocked";
    std::vector<Record> records;
    for (const auto& key : keys) records.push_back({key, "bytes"});
    const BatchResult result = repo.store_many(records);
    EXPECT_EQ(result.stored_count(), size - 1) << size;
    EXPECT_EQ(result.error(1), errc::backend_unavailable) << size;
    EXPECT_TRUE(std::filesystem::is_empty(repo.root() / "tmp")) << size;  // nothing left behind
    const std::vector<std::string_view> views(keys.begin(), keys.end());
    EXPECT_EQ(repo.load_many(views).found_count(), size - 1) << size;
  }
}

TEST(Filesystem, ARootUnderAFileIsAnErrorAndObjectsReplacedByAFileFailByName) {
  const auto dir = fresh_dir();
  std::ofstream(dir / "plain") << "a file, not a directory";
  try {
    FilesystemRepository repo(FilesystemOptions{.root = dir / "plain" / "store"});
    ADD_FAILURE() << "a root under a regular file was opened";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("plain"), std::string::npos) << error.what();
  }

  // The objects directory replaced by a file under a running repository
  // (ENOTDIR everywhere below it): each operation fails by name, none throws.
  FilesystemRepository repo(FilesystemOptions{.root = dir / "store"});
  const std::vector<Record> records{{"k1", "bytes"}, {"k2", "bytes"}};
  ASSERT_TRUE(repo.store_many(records).all_stored());
  std::filesystem::remove_all(repo.root() / "objects");
  std::ofstream(repo.root() / "objects") << "squatter";
  const std::vector<std::string_view> keys{"k1", "k2"};
  const LoadResult loaded = repo.load_many(keys);
  EXPECT_EQ(loaded[0].error, errc::backend_unavailable);
  EXPECT_EQ(loaded[1].error, errc::backend_unavailable);
  const BatchResult stored = repo.store_many(records);
  EXPECT_EQ(stored.error(0), errc::backend_unavailable);
  EXPECT_EQ(stored.error(1), errc::backend_unavailable);
  EXPECT_EQ(repo.erase_many(keys).error, errc::backend_unavailable);
  EXPECT_EQ(repo.scan("", "", 10).error, errc::backend_unavailable);
}

TEST(Filesystem, CorruptedFileIsAChecksumErrorAndTruncatedIsCorrupt) {
  const auto dir = fresh_dir();
  auto store = open_embedded_store(dir, {.durable = false});
  ASSERT_FALSE(store.set("cold:file", "archived value"));
  ASSERT_FALSE(store.set("cold:cut", "archived value"));
  store.cache().clear();
  const auto path = store.tier<Tier::cold>().object_path("cold:file");
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  bytes.back() ^= 0x40;
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  std::filesystem::resize_file(store.tier<Tier::cold>().object_path("cold:cut"), 40);
  EXPECT_EQ(store.get("cold:file").error, errc::checksum_mismatch);
  EXPECT_EQ(store.get("cold:cut").error, errc::corrupt_record);
}

// ---- the embedded stack ----------------------------------------------------------

TEST(Embedded, ADirectoryUnderAFileIsAnErrorNamingIt) {
  const auto dir = fresh_dir();
  std::ofstream(dir / "plain") << "a file, not a directory";
  try {
    auto store = open_embedded_store(dir / "plain" / "state");
    ADD_FAILURE() << "an embedded store was opened under a regular file";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("plain"), std::string::npos) << error.what();
  }
}

TEST(Embedded, DataSurvivesClosingAndReopeningTheStore) {
  const auto dir = fresh_dir();
  ManualClock clock;
  const EmbeddedOptions options{.store = {.clock = clock.clock()}};
  {
    auto store = open_embedded_store(dir, options);
    ASSERT_TRUE(store
                    .batch_set({{"w:kept", "warm"},
                                {"cold:kept", "cold"},
                                {"hot:lost", "memory only"},
                                {"w:short", "ttl", Millis{1000}}})
                    .all_stored());
  }  // the store object is destroyed: connections closed, memory gone
  auto store = open_embedded_store(dir, options);
  EXPECT_EQ(store.get("w:kept").value, "warm");
  EXPECT_EQ(store.get("cold:kept").value, "cold");
  EXPECT_TRUE(store.get("hot:lost").absent());
  EXPECT_EQ(store.get("w:short").value, "ttl");
  clock.advance(Millis{1000});
  EXPECT_TRUE(store.get("w:short").absent());  // the TTL survived the reopen too
}

// ---- rehydrate -------------------------------------------------------------------

TEST(Rehydrate, CopiesLiveRecordsInBoundedPagesAndReportsTheRest) {
  ManualClock clock;
  SqliteRepository warm(SqliteOptions{
      .path = fresh_dir() / "r.sqlite3", .clock = clock.clock(), .sync_every_commit = false});
  MemoryRepository hot(MemoryOptions{.clock = clock.clock()});
  std::vector<std::string> keys, envelopes;
  for (int i = 0; i < 2500; ++i) {
    keys.push_back(fmt::format("pos:{:05}", i));
    // Ten expire before the copy; three are damaged on disk.
    const auto expires = i % 250 == 7 ? std::optional(clock.now() + Millis{10}) : std::nullopt;
    envelopes.push_back(envelope_of(keys.back(), "value " + keys.back(), clock.now(), expires));
    if (i % 1000 == 3) envelopes.back().back() ^= 1;
  }
  std::vector<Record> records;
  for (std::size_t i = 0; i < keys.size(); ++i)
    records.push_back({keys[i], envelopes[i], std::nullopt});  // expiry left to the envelope
  ASSERT_TRUE(warm.store_many(records).all_stored());
  clock.advance(Millis{10});

  std::vector<std::size_t> scanned_after_page;
  const RehydrateReport report = rehydrate(
      warm, hot,
      {.scan = {.page_size = 1000},
       .on_progress = [&](const RehydrateProgress& p) { scanned_after_page.push_back(p.scanned); },
       .clock = clock.clock()});
  EXPECT_FALSE(report.error);
  EXPECT_EQ(report.scanned, 2500u);
  EXPECT_EQ(report.skipped_expired, 10u);
  EXPECT_EQ(report.failed, 3u);
  EXPECT_EQ(report.copied, 2487u);
  ASSERT_EQ(report.failures.size(), 3u);
  EXPECT_EQ(report.failures[0].key, "pos:00003");
  EXPECT_EQ(report.failures[0].error, errc::checksum_mismatch);
  EXPECT_EQ(scanned_after_page, (std::vector<std::size_t>{1000, 2000, 2500}));
  const std::vector<std::string_view> views(keys.begin(), keys.end());
  const LoadResult copied = hot.load_many(views);
  EXPECT_EQ(copied.found_count(), 2487u);
  EXPECT_EQ(copied[0].value, envelopes[0]);  // verbatim: times and checksum preserved
}

TEST(Rehydrate, ThroughTheStoreKeepsTheCacheCoherent) {
  const auto dir = fresh_dir();
  auto store = open_embedded_store(dir, {.durable = false});
  const TimePoint now = Clock{}.now();
  const std::string a = envelope_of("hot:a", "one", now), b = envelope_of("hot:b", "two", now),
                    c = envelope_of("w:c", "one", now);
  const std::vector<Record> backup{{"hot:a", a}, {"hot:b", b}, {"w:c", c}};
  ASSERT_TRUE(store.tier<Tier::warm>().store_many(backup).all_stored());

  // What the cache held before: a stale value of a key HOT is about to get,
  // and a key that routes to WARM.
  store.cache().put("hot:a", "stale", std::nullopt);
  store.cache().put("w:c", "one", std::nullopt);

  const RehydrateReport report = rehydrate<Tier::warm, Tier::hot>(store);
  EXPECT_EQ(report.copied, 3u);
  EXPECT_FALSE(store.cache().find("hot:a", now));  // invalidated, never left stale
  EXPECT_FALSE(store.cache().find("hot:b", now));  // a bulk copy does not fill the cache
  EXPECT_EQ(store.cache().find("w:c", now).value().value, "one");  // routes to WARM: untouched
  EXPECT_EQ(store.get("hot:a").value, "one");
  EXPECT_EQ(store.cache().find("hot:a", now).value().value, "one");  // the read filled it
}

}  // namespace
}  // namespace strata::testing
