#pragma once
/// \file
/// SqliteRepository: the embedded WARM tier, one SQLite database file.
///
/// - WAL mode, a busy timeout, and by default synchronous=FULL: a batch that is
///   reported stored survives a crash and a power loss.
/// - store_many is one transaction (atomic_batches = true) of one reused,
///   prepared upsert; load_many and erase_many are one statement each whatever
///   the batch size (the keys travel as one JSON array, expanded by json_each),
///   never one query per key.
/// - Expiry is a column, so expired rows are filtered by the statements that
///   read them, counted by none, and removed by purge_expired().
/// - The schema is versioned (table strata_schema) and migrated at open, each
///   step in its own IMMEDIATE transaction, so two processes opening one file
///   at once migrate it once.
///
/// Thread safety: every member may be called concurrently; calls are
/// serialised on the one connection (SQLite admits one writer at a time
/// anyway, and a tier's calls are batches). By default the file is held
/// exclusively (SqliteOptions::exclusive); with exclusive = false other
/// processes may open it too, and they wait on each other for up to
/// busy_timeout.
/// After a failure: a failed store_many is rolled back whole (every position
/// reports the error); the connection stays usable.

#include "strata/core/batch_result.hpp"
#include "strata/core/clock.hpp"
#include "strata/core/config.hpp"
#include "strata/core/envelope.hpp"
#include "strata/core/error.hpp"
#include "strata/core/load_result.hpp"
#include "strata/core/record.hpp"

#include <algorithm>     // std::sort
#include <cstddef>       // std::size_t
#include <cstdint>       // std::int64_t
#include <filesystem>    // std::filesystem::path
#include <memory>        // std::unique_ptr
#include <mutex>         // std::mutex, std::lock_guard
#include <numeric>       // std::iota
#include <optional>      // std::optional
#include <span>          // std::span
#include <string>        // std::string
#include <string_view>   // std::string_view
#include <system_error>  // std::error_code
#include <utility>       // std::move
#include <vector>        // std::vector

#include <sqlite3.h>

STRATA_BEGIN_NAMESPACE

/// The database file and how SQLite is asked to keep it.
struct SqliteOptions {
  std::filesystem::path path;  ///< the database file; created, with its schema, if missing
  Clock clock{};               ///< decides expiry; the system clock by default
  Millis busy_timeout{5000};   ///< wait for another connection's lock; zero means fail at once
  /// synchronous=FULL: every commit reaches the disk before it is reported
  /// stored. false: NORMAL, which in WAL mode survives a process crash but can
  /// lose the last commits on power loss, for several times the write rate.
  bool sync_every_commit = true;
  /// This process owns the file (locking_mode=EXCLUSIVE): WAL's index lives in
  /// heap memory instead of a memory-mapped -shm file. Measured here, reads
  /// through the shared index stalled for 100-400 ms whenever a page of it was
  /// under the kernel's writeback; exclusive, the stalls are gone. false lets
  /// other processes open the file at the same time.
  bool exclusive = true;
  /// false: open only a database file strata already made, at this schema
  /// version; never create or migrate one (read-only tools: a mistyped path is
  /// a ConfigError, not a new empty file).
  bool create_if_missing = true;
};

/// The embedded WARM tier: one SQLite database file, one transaction per batch. Models
/// ScannableRepository.
class SqliteRepository {
 public:
  /// True: a batch is one transaction, all stored or none.
  static constexpr bool atomic_batches = true;
  /// The schema version this strata writes; older files are migrated at open.
  static constexpr int schema_version = 2;

  /// Opens (creating if needed) and migrates the database. Throws strata::Error
  /// when the file cannot be opened or was written by a newer strata.
  explicit SqliteRepository(SqliteOptions options)
      : state_(std::make_unique<State>(std::move(options))) {}

  /// Stores the batch in one transaction: all stored, or all failed with the error.
  BatchResult store_many(std::span<const Record> records) {
    BatchResult result(records.size());
    if (records.empty()) return result;
    std::lock_guard lock(state_->mutex);
    State& s = *state_;
    if (int rc = s.step_once(s.begin); rc != SQLITE_DONE) {
      result.mark_all_failed(detail_error(rc));
      return result;
    }
    for (const Record& record : records) {
      sqlite3_stmt* st = s.upsert.get();
      bind_text(st, 1, record.key);
      sqlite3_bind_blob64(st, 2, record.envelope.data(), record.envelope.size(), SQLITE_STATIC);
      if (record.expires_at)
        sqlite3_bind_int64(st, 3, record.expires_at->time_since_epoch().count());
      else
        sqlite3_bind_null(st, 3);
      const int rc = sqlite3_step(st);
      sqlite3_reset(st);
      sqlite3_clear_bindings(st);
      if (rc != SQLITE_DONE) {
        s.rollback();
        result.mark_all_failed(detail_error(rc));
        return result;
      }
    }
    if (int rc = s.step_once(s.commit); rc != SQLITE_DONE) {
      // A failed COMMIT may leave the transaction open; it never half-applies.
      s.rollback();
      result.mark_all_failed(detail_error(rc));
      return result;
    }
    result.mark_all_stored();
    return result;
  }

  /// Reads the keys in one statement (a JSON array of keys joined on the primary key).
  LoadResult load_many(std::span<const std::string_view> keys) {
    LoadResult result(keys.size());
    if (keys.empty()) return result;
    // Rows come back sorted by key; walking the keys in the same order pairs
    // them up without a hash map, duplicates included.
    std::vector<std::size_t> order(keys.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::sort(order.begin(), order.end(),
              [&](std::size_t a, std::size_t b) { return keys[a] < keys[b]; });
    const std::string json = json_array(keys);

    std::lock_guard lock(state_->mutex);
    sqlite3_stmt* st = state_->load.get();
    bind_text(st, 1, json);
    sqlite3_bind_int64(st, 2, state_->now_ms());
    for (std::size_t i = 0; i < keys.size(); ++i) result.set_absent(i);  // until a row says found
    std::size_t next = 0;                                                // index into order
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      const std::string_view key = column_text(st, 0);
      while (next < order.size() && keys[order[next]] < key) ++next;  // absent keys
      for (; next < order.size() && keys[order[next]] == key; ++next)
        result.set_found(order[next], std::string(column_blob(st, 1)));
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_DONE) result.fail_all(detail_error(rc));
    return result;
  }

  /// Erases the keys in one statement and counts the unexpired ones that existed.
  EraseResult erase_many(std::span<const std::string_view> keys) {
    if (keys.empty()) return {};
    const std::string json = json_array(keys);
    std::lock_guard lock(state_->mutex);
    sqlite3_stmt* st = state_->erase.get();
    bind_text(st, 1, json);
    const std::int64_t now = state_->now_ms();
    std::size_t erased = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
      erased += sqlite3_column_type(st, 0) == SQLITE_NULL || sqlite3_column_int64(st, 0) > now;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_DONE) return {0, detail_error(rc)};
    return {erased, {}};
  }

  /// Live records whose key starts with `prefix`, in key order, after `cursor`
  /// (the last key of the previous page): keyset pagination on the primary key.
  ScanPage scan(std::string_view prefix, std::string_view cursor, std::size_t limit) {
    ScanPage page;
    // Every key byte is below 0x7F, so [prefix, prefix + "\x7f") is exactly
    // the keys that start with prefix.
    const std::string upper = std::string(prefix) + '\x7f';
    std::lock_guard lock(state_->mutex);
    sqlite3_stmt* st = state_->scan.get();
    bind_text(st, 1, cursor);
    bind_text(st, 2, prefix);
    bind_text(st, 3, upper);
    sqlite3_bind_int64(st, 4, state_->now_ms());
    sqlite3_bind_int64(st, 5, static_cast<std::int64_t>(limit) + 1);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      if (page.records.size() == limit) break;  // the extra row only says "more"
      page.records.push_back({std::string(column_text(st, 0)), std::string(column_blob(st, 1))});
    }
    page.done = rc == SQLITE_DONE;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
      page = ScanPage{};
      page.error = detail_error(rc);
      return page;
    }
    if (!page.records.empty()) page.next_cursor = page.records.back().key;
    return page;
  }

  /// Deletes expired rows, returning how many.
  std::size_t purge_expired() {
    std::lock_guard lock(state_->mutex);
    sqlite3_stmt* st = state_->purge.get();
    sqlite3_bind_int64(st, 1, state_->now_ms());
    const int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) return 0;
    return static_cast<std::size_t>(sqlite3_changes(state_->db.get()));
  }

  /// The database file.
  const std::filesystem::path& path() const noexcept { return state_->options.path; }

 private:
  struct CloseDb {
    void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
  };
  struct Finalize {
    void operator()(sqlite3_stmt* st) const noexcept { sqlite3_finalize(st); }
  };
  using Statement = std::unique_ptr<sqlite3_stmt, Finalize>;

  static std::error_code detail_error(int rc) noexcept {
    switch (rc & 0xFF) {
      case SQLITE_BUSY:
      case SQLITE_LOCKED:
        return make_error_code(errc::timeout);
      default:
        return make_error_code(errc::backend_unavailable);
    }
  }

  static void bind_text(sqlite3_stmt* st, int index, std::string_view text) {
    sqlite3_bind_text64(st, index, text.data(), text.size(), SQLITE_STATIC, SQLITE_UTF8);
  }
  static std::string_view column_text(sqlite3_stmt* st, int column) {
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(st, column));
    return text ? std::string_view(text, static_cast<std::size_t>(sqlite3_column_bytes(st, column)))
                : std::string_view{};
  }
  static std::string_view column_blob(sqlite3_stmt* st, int column) {
    const auto* blob = static_cast<const char*>(sqlite3_column_blob(st, column));
    return blob ? std::string_view(blob, static_cast<std::size_t>(sqlite3_column_bytes(st, column)))
                : std::string_view{};
  }

  /// ["k1","k2",...]: a valid key is printable ASCII, so only '"' and '\'
  /// need escaping.
  static std::string json_array(std::span<const std::string_view> keys) {
    std::size_t size = 2;
    for (std::string_view key : keys) size += key.size() + 3;
    std::string json;
    json.reserve(size);
    json.push_back('[');
    for (std::string_view key : keys) {
      if (json.size() > 1) json.push_back(',');
      json.push_back('"');
      for (char c : key) {
        if (c == '"' || c == '\\') json.push_back('\\');
        json.push_back(c);
      }
      json.push_back('"');
    }
    json.push_back(']');
    return json;
  }

  struct State {
    explicit State(SqliteOptions opts) : options(std::move(opts)) {
      sqlite3* raw = nullptr;
      const std::string file = options.path.string();
      if (!options.create_if_missing && !std::filesystem::exists(options.path))
        throw ConfigError("strata::SqliteRepository: '" + file +
                          "' does not exist (not_found: check the path)");
      const int create = options.create_if_missing ? SQLITE_OPEN_CREATE : 0;
      const int rc = sqlite3_open_v2(file.c_str(), &raw,
                                     SQLITE_OPEN_READWRITE | create | SQLITE_OPEN_NOMUTEX, nullptr);
      db.reset(raw);  // closed even when opening failed
      if (rc != SQLITE_OK)
        throw Error("strata::SqliteRepository: cannot open '" + file + "': " + message());
      sqlite3_busy_timeout(db.get(), static_cast<int>(options.busy_timeout.count()));
      if (options.exclusive) exec("PRAGMA locking_mode=EXCLUSIVE");
      exec("PRAGMA journal_mode=WAL");
      exec(options.sync_every_commit ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
      if (options.create_if_missing)
        migrate();
      else
        check_schema();
      begin = prepare("BEGIN IMMEDIATE");
      commit = prepare("COMMIT");
      rollback_stmt = prepare("ROLLBACK");
      upsert = prepare(
          "INSERT INTO strata_records(key, envelope, expires_at) VALUES (?1, ?2, ?3) "
          "ON CONFLICT(key) DO UPDATE SET envelope = excluded.envelope, "
          "expires_at = excluded.expires_at");
      load = prepare(
          "SELECT key, envelope FROM strata_records "
          "WHERE key IN (SELECT value FROM json_each(?1)) "
          "AND (expires_at IS NULL OR expires_at > ?2) ORDER BY key");
      erase = prepare(
          "DELETE FROM strata_records WHERE key IN (SELECT value FROM json_each(?1)) "
          "RETURNING expires_at");
      scan = prepare(
          "SELECT key, envelope FROM strata_records "
          "WHERE key > ?1 AND key >= ?2 AND key < ?3 "
          "AND (expires_at IS NULL OR expires_at > ?4) ORDER BY key LIMIT ?5");
      purge =
          prepare("DELETE FROM strata_records WHERE expires_at IS NOT NULL AND expires_at <= ?1");
    }

    std::int64_t now_ms() const noexcept { return options.clock.now().time_since_epoch().count(); }

    std::string message() const { return db ? sqlite3_errmsg(db.get()) : "out of memory"; }

    void exec(const char* sql) {
      char* error = nullptr;
      if (sqlite3_exec(db.get(), sql, nullptr, nullptr, &error) != SQLITE_OK) {
        std::string text = error ? error : message();
        sqlite3_free(error);
        throw Error("strata::SqliteRepository: '" + std::string(sql) + "' failed on '" +
                    options.path.string() + "': " + text);
      }
    }

    Statement prepare(const char* sql) {
      sqlite3_stmt* st = nullptr;
      if (sqlite3_prepare_v3(db.get(), sql, -1, SQLITE_PREPARE_PERSISTENT, &st, nullptr) !=
          SQLITE_OK)
        throw Error("strata::SqliteRepository: cannot prepare '" + std::string(sql) +
                    "': " + message());
      return Statement(st);
    }

    int step_once(const Statement& st) {
      const int rc = sqlite3_step(st.get());
      sqlite3_reset(st.get());
      return rc;
    }
    void rollback() {
      if (!sqlite3_get_autocommit(db.get())) step_once(rollback_stmt);
    }

    int current_version() {
      exec("CREATE TABLE IF NOT EXISTS strata_schema (version INTEGER NOT NULL)");
      const std::optional<int> version = recorded_version();
      if (!version)
        throw Error("strata::SqliteRepository: cannot read the schema version: " + message());
      return *version;
    }

    /// The version strata_schema records (0 when empty); nullopt when it
    /// cannot be read (no such table: not a strata database).
    std::optional<int> recorded_version() {
      sqlite3_stmt* raw = nullptr;
      const int rc = sqlite3_prepare_v2(
          db.get(), "SELECT coalesce(max(version), 0) FROM strata_schema", -1, &raw, nullptr);
      const Statement st(raw);
      if (rc != SQLITE_OK || sqlite3_step(st.get()) != SQLITE_ROW) return std::nullopt;
      return sqlite3_column_int(st.get(), 0);
    }

    /// The file is a strata database at this schema version; else ConfigError.
    void check_schema() {
      const std::optional<int> version = recorded_version();
      if (!version)
        throw ConfigError("strata::SqliteRepository: '" + options.path.string() +
                          "' is not a strata database");
      if (*version != schema_version)
        throw ConfigError("strata::SqliteRepository: '" + options.path.string() +
                          "' is at another schema version; open it once with "
                          "create_if_missing to migrate it");
    }

    /// Each step runs in its own IMMEDIATE transaction and re-reads the
    /// version inside it, so a concurrent opener that migrated first is seen.
    void migrate() {
      for (int step = 1; step <= schema_version; ++step) {
        exec("BEGIN IMMEDIATE");
        try {
          const int version = current_version();
          if (version > schema_version)
            throw Error("strata::SqliteRepository: '" + options.path.string() +
                        "' has schema version " + std::to_string(version) +
                        ", newer than this strata's " + std::to_string(schema_version));
          if (version < step) {
            apply(step);
            exec(("INSERT INTO strata_schema(version) VALUES (" + std::to_string(step) + ")")
                     .c_str());
          }
          exec("COMMIT");
        } catch (...) {
          sqlite3_exec(db.get(), "ROLLBACK", nullptr, nullptr, nullptr);
          throw;
        }
      }
    }

    void apply(int step) {
      switch (step) {
        case 1:  // the first layout: key and envelope
          exec(
              "CREATE TABLE strata_records (key TEXT PRIMARY KEY NOT NULL, "
              "envelope BLOB NOT NULL) WITHOUT ROWID");
          break;
        case 2:  // expiry as a column, filled from the envelopes already stored
          exec("ALTER TABLE strata_records ADD COLUMN expires_at INTEGER");
          exec(
              "CREATE INDEX strata_records_expiry ON strata_records(expires_at) "
              "WHERE expires_at IS NOT NULL");
          backfill_expiry();
          break;
        default:
          break;
      }
    }

    void backfill_expiry() {
      Statement select = prepare("SELECT key, envelope FROM strata_records");
      Statement update = prepare("UPDATE strata_records SET expires_at = ?1 WHERE key = ?2");
      while (sqlite3_step(select.get()) == SQLITE_ROW) {
        // A damaged envelope keeps a NULL expiry; reading it reports the damage.
        const EnvelopeHeader header =
            peek_envelope_header(column_text(select.get(), 0), column_blob(select.get(), 1));
        if (header.error || !header.expires_at) continue;
        sqlite3_bind_int64(update.get(), 1, header.expires_at->time_since_epoch().count());
        bind_text(update.get(), 2, column_text(select.get(), 0));
        const int rc = sqlite3_step(update.get());
        sqlite3_reset(update.get());
        if (rc != SQLITE_DONE)
          throw Error("strata::SqliteRepository: migration to version 2 failed: " + message());
      }
    }

    SqliteOptions options;
    std::mutex mutex;
    std::unique_ptr<sqlite3, CloseDb> db;
    Statement begin, commit, rollback_stmt, upsert, load, erase, scan, purge;
  };

  std::unique_ptr<State> state_;
};

STRATA_END_NAMESPACE
