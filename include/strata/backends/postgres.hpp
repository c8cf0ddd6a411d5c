#pragma once
/// \file
/// PostgresRepository: the WARM tier over libpq (CMake component strata::postgres).
///
/// Table (one per repository, name validated and quoted):
///   key text COLLATE "C" PRIMARY KEY, envelope bytea NOT NULL,
///   expires_at timestamptz NULL, updated_at timestamptz NOT NULL,
/// plus a partial index on expires_at. Migrations run when the repository is
/// constructed, inside one transaction holding an advisory lock, so processes
/// opening the same database at once migrate it exactly once; the version per
/// table is kept in strata_schema_versions.
///
/// - store_many: per chunk of at most `chunk_size` records, one transaction,
///   rows in key order (writers of overlapping chunks lock in the same order).
///   A chunk is one prepared statement and one round trip, `INSERT ... SELECT
///   FROM unnest($1::text[], $2::bytea[], $3::timestamptz[]) ON CONFLICT DO
///   UPDATE` with binary arrays, which also says how many of its keys were
///   new (while keys are being overwritten, one chunk in eight asks: the
///   count costs the server a little). While the last chunk counted had all
///   new keys, a chunk of at least `copy_threshold` records goes by binary
///   COPY straight into the table instead (an existing key makes it fail at
///   once; it is rolled back and upserted). ADR 8 and ADR 20 have the
///   measurements. A key given twice in a chunk is written once, with its
///   last value (the result of the writes in order).
/// - load_many: one query per `load_chunk_size` keys, binary results, expired rows filtered in
///   the query: `key = ANY($1)` with the keys as one binary text[], sent as
///   the unnamed statement (planned for that array), so the planner scans
///   the primary key for the array (or the table, when the array covers
///   most of it); each row comes back with its key and goes to every
///   position that asked for it (ADR 20).
/// - erase_many: one statement for all keys; the count leaves out rows that
///   had already expired.
/// - scan: keyset pagination by key within the prefix (the key column sorts
///   bytewise, COLLATE "C", so a prefix is a key range the index serves).
///
/// Expiry is judged against `options.clock` (passed as a parameter), the same
/// clock the rest of the store uses, not the server's now().
///
/// Failures: a chunk the server reported an error for before its commit was
/// rolled back: its records fail (timeout for statement_timeout, else
/// backend_unavailable). A chunk whose commit may have happened — the
/// connection was lost with its single statement in flight, or the error came
/// for the COMMIT itself — is outcome_unknown. Either way later chunks fail without being sent and
/// the connection is discarded. The conninfo's password never appears in an error message: libpq's
/// messages are scrubbed of it before they are thrown.
///
/// Thread safety: every member may be called concurrently; each call leases
/// its own pooled connection.

#include "strata/backends/postgres_binary.hpp"
#include "strata/core/batch_result.hpp"
#include "strata/core/clock.hpp"
#include "strata/core/config.hpp"
#include "strata/core/error.hpp"
#include "strata/core/key.hpp"
#include "strata/core/key_positions.hpp"
#include "strata/core/load_result.hpp"
#include "strata/core/record.hpp"
#include "strata/pool/connection_pool.hpp"
#include "strata/pool/socket_liveness.hpp"

#include <algorithm>     // std::min, std::stable_sort
#include <atomic>        // std::atomic
#include <cstddef>       // std::size_t
#include <cstdint>       // std::int64_t, std::uint64_t
#include <cstdlib>       // std::strtoull
#include <memory>        // std::unique_ptr
#include <optional>      // std::optional
#include <span>          // std::span
#include <string>        // std::string
#include <string_view>   // std::string_view
#include <system_error>  // std::error_code
#include <utility>       // std::move
#include <vector>        // std::vector

#include <libpq-fe.h>

STRATA_BEGIN_NAMESPACE

/// Where the WARM tier's table lives and how the repository talks to it.
struct PostgresOptions {
  /// A libpq connection string or URI. Its password is never logged or thrown.
  std::string conninfo = "host=127.0.0.1 dbname=strata";
  /// 1 to 48 of [A-Za-z0-9_], not starting with a digit; anything else is a
  /// ConfigError at construction. Used quoted, so case is kept.
  std::string table = "strata_records";
  PoolOptions pool{};            ///< connections kept and their limits (see PoolOptions)
  Millis connect_timeout{5000};  ///< rounded up to seconds; zero: the conninfo's or libpq's default
  Millis statement_timeout{30'000};  ///< per statement, server side; zero: none
  std::size_t chunk_size = 10'000;   ///< records per transaction; 0 means 10000
  /// Keys per load query; 0 means 100000. One query lets the planner read a
  /// batch that covers much of the table in one scan; its answer is held whole
  /// (about the envelope's size plus 40 bytes a key found).
  std::size_t load_chunk_size = 100'000;
  /// While the keys written last were all new, chunks of at least this many
  /// records are written by COPY (two round trips), others by one upsert
  /// statement (one round trip). ADR 8, ADR 20.
  std::size_t copy_threshold = 256;
  Clock clock{};  ///< judges expiry; the system clock by default
  /// false: open only a table strata already made, at this schema version;
  /// never create or migrate one (read-only tools: a mistyped table name is
  /// a ConfigError, not a new empty table).
  bool create_if_missing = true;
};

namespace detail {

struct FinishPg {
  void operator()(PGconn* c) const noexcept { PQfinish(c); }
};
struct ClearPgResult {
  void operator()(PGresult* r) const noexcept { PQclear(r); }
};
using PgResultPtr = std::unique_ptr<PGresult, ClearPgResult>;

/// A conninfo port: one number from 1 to 65535, or a comma-separated list of
/// them (one per host); an empty entry means the default.
inline bool valid_ports(std::string_view ports) noexcept {
  for (;;) {
    const std::string_view port = ports.substr(0, ports.find(','));
    if (!port.empty()) {
      if (port.size() > 5) return false;
      unsigned number = 0;
      for (char ch : port) {
        if (ch < '0' || ch > '9') return false;
        number = number * 10 + static_cast<unsigned>(ch - '0');
      }
      if (number < 1 || number > 65535) return false;
    }
    if (port.size() == ports.size()) return true;
    ports.remove_prefix(port.size() + 1);
  }
}

/// One of libpq's sslmode values.
inline bool valid_sslmode(std::string_view mode) noexcept {
  return mode == "disable" || mode == "allow" || mode == "prefer" || mode == "require" ||
         mode == "verify-ca" || mode == "verify-full";
}

/// A table name strata accepts: an identifier that needs no escaping.
inline bool is_plain_identifier(std::string_view name) noexcept {
  if (name.empty() || name.size() > 48) return false;
  if (name[0] >= '0' && name[0] <= '9') return false;
  for (char ch : name) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                    (ch >= '0' && ch <= '9') || ch == '_';
    if (!ok) return false;
  }
  return true;
}

}  // namespace detail

/// The WARM tier on PostgreSQL through libpq: one table keyed by the record key, binary parameters
/// and results, pooled connections (writes, scans and purges prepared on them; the key-array reads
/// and erases sent unnamed, ADR 20). Models ScannableRepository.
class PostgresRepository {
 public:
  /// True: each chunk of a batch is one transaction, all or none.
  static constexpr bool atomic_batches = true;
  /// The schema version this header creates and understands.
  static constexpr int schema_version = 1;

  /// A pooled connection with this repository's statements prepared on it.
  struct Connection {
    std::unique_ptr<PGconn, detail::FinishPg> conn;  ///< the libpq connection
  };

  /// Validates the options, connects and migrates the schema. Throws
  /// ConfigError for a bad table name or conninfo, Error when the database
  /// cannot be reached or migrated (the message says why, without the password).
  explicit PostgresRepository(PostgresOptions options)
      : state_(std::make_unique<State>(std::move(options))) {
    state_->open();
  }

  /// Writes each chunk of `chunk_size` records in one transaction: one upsert from binary arrays,
  /// or binary COPY while the keys written last were new (see above). An invalid key fails alone;
  /// a chunk that fails fails whole, and the chunks after it are not sent
  /// (errc::backend_unavailable).
  BatchResult store_many(std::span<const Record> records) {
    BatchResult result(records.size());
    if (records.empty()) return result;
    auto lease = state_->pool.acquire();
    if (!lease) {
      result.mark_all_failed(lease.error());
      return result;
    }
    const std::size_t chunk = state_->chunk();
    std::vector<std::size_t> rows;  // positions written, after invalid keys and duplicates
    for (std::size_t first = 0; first < records.size(); first += chunk) {
      const std::size_t last = std::min(records.size(), first + chunk);
      rows.clear();
      for (std::size_t i = first; i < last; ++i) {
        if (is_valid_key(records[i].key))
          rows.push_back(i);
        else
          result.mark_failed(i, errc::invalid_key);
      }
      order_and_drop_overwritten(records, rows);
      const std::error_code error =
          rows.empty() ? std::error_code{} : write_chunk(*lease, records, rows);
      for (std::size_t i = first; i < last; ++i) {
        if (!is_valid_key(records[i].key)) continue;  // already failed alone
        if (error)
          result.mark_failed(i, error);
        else
          result.mark_stored(i);
      }
      if (!error) continue;
      for (std::size_t i = last; i < records.size(); ++i)
        result.mark_failed(i, errc::backend_unavailable);  // not sent
      lease.discard();
      break;
    }
    return result;
  }

  /// Reads each chunk of keys in one query (the keys as one binary array).
  LoadResult load_many(std::span<const std::string_view> keys) {
    LoadResult result;
    load_many_into(keys, result);
    return result;
  }

  /// load_many's answer written into `result` (made one lookup per key),
  /// reusing the capacity of the strings it holds from an earlier read.
  void load_many_into(std::span<const std::string_view> keys, LoadResult& result) {
    result.reset(keys.size());
    if (keys.empty()) return;
    auto lease = state_->pool.acquire();
    if (!lease) {
      result.fail_all(lease.error());
      return;
    }
    PGconn* c = lease->conn.get();
    const std::size_t chunk = state_->load_chunk();
    const std::string now = timestamptz_param(state_->options.clock.now());
    for (std::size_t first = 0; first < keys.size(); first += chunk) {
      const std::size_t last = std::min(keys.size(), first + chunk);
      std::vector<std::size_t> sent;  // the positions whose keys go in this chunk
      sent.reserve(last - first);
      std::size_t bytes = 0;
      for (std::size_t i = first; i < last; ++i) {
        if (!is_valid_key(keys[i])) {
          result.set_failed(i, errc::invalid_key);
          continue;
        }
        sent.push_back(i);
        bytes += keys[i].size() + detail::pg::per_field_bytes;
      }
      if (sent.empty()) continue;
      detail::pg::ArrayWriter array(detail::pg::text_oid, sent.size(), false, bytes);
      for (std::size_t i : sent) array.add(keys[i]);
      const detail::PgResultPtr r = exec_unnamed(c, state_->load_sql, {array.bytes(), now});
      if (PQresultStatus(r.get()) != PGRES_TUPLES_OK || PQnfields(r.get()) != 2) {
        const std::error_code error = result_error(c, r.get());
        for (std::size_t i = first; i < keys.size(); ++i)
          if (!result[i].failed()) result.set_failed(i, error);
        lease.discard();
        return;
      }
      for (std::size_t i : sent) result.set_absent(i);  // the query answered for every key sent
      // The rows name their keys, in the server's order; each goes to every
      // position that asked for it (a key given twice is found twice). A row
      // for a key nobody asked for is malformed and never trusted.
      detail::KeyPositions asked(keys, sent);
      for (int row = 0; row < PQntuples(r.get()); ++row) {
        const std::string_view envelope = value(r.get(), row, 1);
        asked.for_each(value(r.get(), row, 0),
                       [&](std::size_t i) { result.set_found_copy(i, envelope); });
      }
    }
  }

  /// Deletes the keys in one statement and counts the unexpired rows that existed.
  EraseResult erase_many(std::span<const std::string_view> keys) {
    std::size_t bytes = 0, count = 0;
    for (std::string_view key : keys)
      if (is_valid_key(key)) {  // an invalid key cannot be stored, so it is not sent
        bytes += key.size() + detail::pg::per_field_bytes;
        ++count;
      }
    if (count == 0) return {};
    auto lease = state_->pool.acquire();
    if (!lease) return {0, lease.error()};
    PGconn* c = lease->conn.get();
    detail::pg::ArrayWriter array(detail::pg::text_oid, count, false, bytes);
    for (std::string_view key : keys)
      if (is_valid_key(key)) array.add(key);
    const detail::PgResultPtr r = exec_unnamed(
        c, state_->erase_sql, {array.bytes(), timestamptz_param(state_->options.clock.now())});
    if (!single_int8(r.get())) {
      lease.discard();
      return {0, result_error(c, r.get())};
    }
    return {static_cast<std::size_t>(detail::pg::get_i64(PQgetvalue(r.get(), 0, 0))), {}};
  }

  /// Up to `limit` records with the prefix, in key order, after `cursor` (the
  /// last key of the previous page; empty for the first).
  ScanPage scan(std::string_view prefix, std::string_view cursor, std::size_t limit) {
    ScanPage page;
    scan_into(prefix, cursor, limit, page);
    return page;
  }

  /// scan's page written over `page`, whose records' strings are reused: a
  /// page stream that keeps its pages allocates nothing per record once the
  /// pages have grown to the records' sizes.
  void scan_into(std::string_view prefix, std::string_view cursor, std::size_t limit,
                 ScanPage& page) {
    // `cursor` may be the page's own next_cursor: it is cleared once sent.
    page.done = false;
    page.error.clear();
    // Keys are printable ASCII: a prefix with anything else matches nothing.
    for (char ch : prefix)
      if (ch < 0x21 || ch > 0x7E) {
        page.records.clear();
        page.next_cursor.clear();
        page.done = true;
        return;
      }
    auto lease = state_->pool.acquire();
    if (!lease) {
      page.records.clear();
      page.next_cursor.clear();
      page.error = lease.error();
      return;
    }
    PGconn* c = lease->conn.get();
    const std::int64_t n = static_cast<std::int64_t>(limit == 0 ? 1 : limit);
    std::string limit_param;
    detail::pg::put_i64(limit_param, n);
    const detail::PgResultPtr r =
        exec_prepared(c, "strata_scan",
                      {cursor, prefix, prefix_end(prefix),
                       timestamptz_param(state_->options.clock.now()), limit_param});
    page.next_cursor.clear();
    if (PQresultStatus(r.get()) != PGRES_TUPLES_OK || PQnfields(r.get()) != 2) {
      page.records.clear();
      page.error = result_error(c, r.get());
      lease.discard();
      return;
    }
    const int rows = PQntuples(r.get());
    page.records.resize(static_cast<std::size_t>(rows));
    for (int row = 0; row < rows; ++row) {
      ScannedRecord& record = page.records[static_cast<std::size_t>(row)];
      record.key.assign(value(r.get(), row, 0));
      record.envelope.assign(value(r.get(), row, 1));
    }
    page.done = rows < n;
    if (!page.done) page.next_cursor = page.records.back().key;
  }

  /// Deletes the expired rows (by the options' clock); returns how many.
  /// Throws Error when the database cannot be reached.
  std::size_t purge_expired() {
    auto lease = state_->pool.acquire();
    if (!lease)
      throw Error("strata::PostgresRepository::purge_expired: " + lease.error().message());
    PGconn* c = lease->conn.get();
    const detail::PgResultPtr r =
        exec_prepared(c, "strata_purge", {timestamptz_param(state_->options.clock.now())});
    if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
      lease.discard();
      throw Error("strata::PostgresRepository::purge_expired: " + state_->message_of(c));
    }
    return std::strtoull(PQcmdTuples(r.get()), nullptr, 10);
  }

  /// Opens a connection now, returning the error a call would meet (e.g.
  /// access_denied for a wrong password, backend_unavailable when down).
  std::error_code check_connection() {
    auto lease = state_->pool.acquire();
    return lease ? std::error_code{} : lease.error();
  }

  /// Connections open, idle and leased, and how often a lease waited or failed.
  PoolStats pool_stats() const { return state_->pool.stats(); }
  /// The table's name, as configured.
  const std::string& table() const noexcept { return state_->options.table; }

 private:
  static std::string_view value(const PGresult* r, int row, int column) noexcept {
    return {PQgetvalue(r, row, column), static_cast<std::size_t>(PQgetlength(r, row, column))};
  }

  static bool single_int8(const PGresult* r) noexcept {
    return PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && PQnfields(r) == 1 &&
           PQgetlength(r, 0, 0) == 8;
  }

  static std::string timestamptz_param(TimePoint t) {
    std::string bytes;
    detail::pg::put_i64(bytes, detail::pg::to_timestamptz(t));
    return bytes;
  }

  /// The smallest string above every key that starts with `prefix`; "\x7f" is
  /// above every valid key (printable ASCII), so it bounds the empty prefix and
  /// a prefix of '~' only.
  static std::string prefix_end(std::string_view prefix) {
    std::string end(prefix);
    while (!end.empty() && end.back() == '~') end.pop_back();
    if (end.empty()) return "\x7f";
    ++end.back();
    return end;
  }

  /// A statement's parameters as libpq takes them, every one binary.
  struct BinaryParams {
    explicit BinaryParams(std::initializer_list<std::string_view> params) noexcept {
      for (std::string_view p : params) {
        values[n] = p.data();
        lengths[n] = static_cast<int>(p.size());
        formats[n++] = 1;
      }
    }
    const char* values[8];
    int lengths[8];
    int formats[8];
    int n = 0;
  };

  /// Executes a prepared statement with binary parameters and binary results.
  static detail::PgResultPtr exec_prepared(PGconn* c, const char* statement,
                                           std::initializer_list<std::string_view> params) {
    const BinaryParams p(params);
    return detail::PgResultPtr(
        PQexecPrepared(c, statement, p.n, p.values, p.lengths, p.formats, 1));
  }

  /// Executes `sql` as the unnamed statement: parsed and planned for these
  /// parameters, in the same round trip. The key-array statements run so: a
  /// named statement's custom plan for a 10k-key array reached its first row
  /// 1-2.5 ms later than the same plan made for the unnamed one (ADR 20).
  static detail::PgResultPtr exec_unnamed(PGconn* c, const std::string& sql,
                                          std::initializer_list<std::string_view> params) {
    const BinaryParams p(params);
    return detail::PgResultPtr(
        PQexecParams(c, sql.c_str(), p.n, nullptr, p.values, p.lengths, p.formats, 1));
  }

  /// What a failed statement means for the caller: timeout (statement_timeout),
  /// access_denied (privileges), else backend_unavailable.
  static std::error_code result_error(PGconn* c, const PGresult* r) noexcept {
    const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
    if (PQstatus(c) == CONNECTION_OK && state != nullptr) {
      const std::string_view code(state);
      if (code == "57014") return make_error_code(errc::timeout);
      if (code == "42501" || code.starts_with("28")) return make_error_code(errc::access_denied);
    }
    return make_error_code(errc::backend_unavailable);
  }

  /// A failed write: rolled back when the server said so over a live
  /// connection; outcome_unknown when the connection was lost meanwhile.
  static std::error_code write_error(PGconn* c, const PGresult* r) noexcept {
    if (PQstatus(c) != CONNECTION_OK) return make_error_code(errc::outcome_unknown);
    return result_error(c, r);
  }

  /// Orders the rows by key and keeps, of a key given more than once, only
  /// its last position (the earlier writes are overwritten within the same
  /// transaction anyway, and ON CONFLICT cannot touch a row twice in one
  /// statement). Key order also means that writers of overlapping chunks take
  /// their row locks in the same order, which keeps them from deadlocking.
  static void order_and_drop_overwritten(std::span<const Record> records,
                                         std::vector<std::size_t>& rows) {
    std::stable_sort(rows.begin(), rows.end(),
                     [&](std::size_t a, std::size_t b) { return records[a].key < records[b].key; });
    std::size_t kept = 0;
    for (std::size_t j = 0; j < rows.size(); ++j) {
      const bool overwritten_later =
          j + 1 < rows.size() && records[rows[j + 1]].key == records[rows[j]].key;
      if (!overwritten_later) rows[kept++] = rows[j];
    }
    rows.resize(kept);
  }

  struct WriteOutcome {
    std::error_code error;
    bool key_race = false;  // an existing key or a concurrent writer: rolled back, worth a retry
  };

  /// A chunk by COPY while the keys written last were all new (an existing
  /// key fails it at once: rows are in key order); otherwise, or after that,
  /// by upsert, which a concurrent writer can only make deadlock (retried).
  std::error_code write_chunk(Connection& conn, std::span<const Record> records,
                              const std::vector<std::size_t>& rows) {
    if (rows.size() >= state_->options.copy_threshold &&
        state_->keys_were_new.load(std::memory_order_relaxed)) {
      const WriteOutcome copied = copy_chunk(conn, records, rows);
      if (!copied.key_race) return copied.error;
      state_->keys_were_new.store(false, std::memory_order_relaxed);
    }
    WriteOutcome outcome;
    for (int attempt = 0; attempt < 4; ++attempt) {
      outcome = upsert_chunk(conn, records, rows);
      if (!outcome.key_race) break;
    }
    return outcome.error;
  }

  /// unique_violation or deadlock_detected over a live connection: the
  /// statement lost a race with another writer and was rolled back.
  static bool is_key_race(PGconn* c, const PGresult* r) noexcept {
    const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
    if (PQstatus(c) != CONNECTION_OK || state == nullptr) return false;
    const std::string_view code(state);
    return code == "23505" || code == "40P01";
  }

  /// One INSERT ... ON CONFLICT DO UPDATE of the rows from binary arrays.
  /// While COPY is on, and on one upsert in eight while it is off, the
  /// statement also counts the rows it inserted (all of them turns COPY back
  /// on). The count costs the server a CTE over the written rows: 6-8% of an
  /// overwrite of 354 rows (pgbench, the two forms interleaved, 1.97 vs 2.09
  /// and 2.44 vs 2.64 ms), nothing measurable at 10k.
  WriteOutcome upsert_chunk(Connection& conn, std::span<const Record> records,
                            const std::vector<std::size_t>& rows) {
    std::size_t key_bytes = 0, envelope_bytes = 0;
    for (std::size_t i : rows) {
      key_bytes += records[i].key.size() + detail::pg::per_field_bytes;
      envelope_bytes += records[i].envelope.size() + detail::pg::per_field_bytes;
    }
    detail::pg::ArrayWriter keys(detail::pg::text_oid, rows.size(), false, key_bytes);
    detail::pg::ArrayWriter envelopes(detail::pg::bytea_oid, rows.size(), false, envelope_bytes);
    detail::pg::ArrayWriter expiry(detail::pg::timestamptz_oid, rows.size(), true,
                                   rows.size() * 12);
    for (std::size_t i : rows) {
      keys.add(records[i].key);
      envelopes.add(records[i].envelope);
      expiry.add_timestamptz(records[i].expires_at);
    }
    PGconn* c = conn.conn.get();
    const bool counted =
        state_->keys_were_new.load(std::memory_order_relaxed) ||
        state_->upserts_while_overwriting.fetch_add(1, std::memory_order_relaxed) % 8 == 7;
    const detail::PgResultPtr r =
        exec_prepared(c, counted ? "strata_upsert" : "strata_upsert_uncounted",
                      {keys.bytes(), envelopes.bytes(), expiry.bytes()});
    const bool ok = counted ? single_int8(r.get()) : PQresultStatus(r.get()) == PGRES_COMMAND_OK;
    if (!ok) return {write_error(c, r.get()), is_key_race(c, r.get())};
    if (counted) {
      const auto inserted = detail::pg::get_i64(PQgetvalue(r.get(), 0, 0));
      state_->keys_were_new.store(inserted == static_cast<std::int64_t>(rows.size()),
                                  std::memory_order_relaxed);
    }
    return {};
  }

  /// BEGIN; COPY the rows into the table; COMMIT, as one query string: the
  /// server runs COMMIT once the data is in, and skips it at an error (the
  /// transaction is then rolled back).
  WriteOutcome copy_chunk(Connection& conn, std::span<const Record> records,
                          const std::vector<std::size_t>& rows) {
    PGconn* c = conn.conn.get();
    std::size_t row_bytes = 0;
    for (std::size_t i : rows) row_bytes += records[i].key.size() + records[i].envelope.size() + 24;
    detail::pg::CopyWriter copy(row_bytes);
    for (std::size_t i : rows) {
      copy.begin_row(3);
      copy.field(records[i].key);
      copy.field(records[i].envelope);
      copy.field_timestamptz(records[i].expires_at);
    }
    const std::string& data = copy.finish();
    if (PQsendQuery(c, state_->copy_insert_sql.c_str()) == 0) return {write_error(c, nullptr)};
    bool copied = false, committed = false, key_race = false;
    int completed = 0;  // statements done: BEGIN, COPY, COMMIT
    std::error_code error;
    while (PGresult* raw = PQgetResult(c)) {
      const detail::PgResultPtr r(raw);
      switch (PQresultStatus(r.get())) {
        case PGRES_COPY_IN:
          if (copied) {  // a COPY we did not ask for: end it, failing the transaction
            PQputCopyEnd(c, "strata: unexpected COPY");
            error = make_error_code(errc::backend_unavailable);
          } else if (PQputCopyData(c, data.data(), static_cast<int>(data.size())) != 1 ||
                     PQputCopyEnd(c, nullptr) != 1) {
            error = write_error(c, nullptr);
          }
          copied = true;
          break;
        case PGRES_COMMAND_OK:
          ++completed;
          committed = std::string_view(PQcmdStatus(r.get())) == "COMMIT";
          break;
        default:
          // An error before COMMIT rolled the transaction back; one reported
          // for COMMIT itself (a session killed as it commits) may have
          // followed a durable commit.
          if (!error) {
            error =
                completed >= 2 ? make_error_code(errc::outcome_unknown) : write_error(c, r.get());
            key_race = is_key_race(c, r.get());
          }
          break;
      }
      if (PQstatus(c) != CONNECTION_OK) break;
    }
    if (key_race) {  // the session is in a failed transaction block: end it before the upsert
      const detail::PgResultPtr r(PQexec(c, "ROLLBACK"));
      key_race = PQresultStatus(r.get()) == PGRES_COMMAND_OK;
    }
    if (error) return {error, key_race};
    if (!committed) return {write_error(c, nullptr)};
    return {};
  }

  struct State {
    explicit State(PostgresOptions opts)
        : options(std::move(opts)),
          pool(
              options.pool, [this](std::error_code& error) { return connect(error); },
              [](Connection& conn) { return healthy(conn); }) {
      if (!detail::is_plain_identifier(options.table))
        throw ConfigError("strata::PostgresRepository: table name '" + printable(options.table) +
                          "' is not 1 to 48 of [A-Za-z0-9_] starting with a letter or '_'");
      read_password();
      quoted = "\"" + options.table + "\"";
      upsert_uncounted_sql = "INSERT INTO " + quoted +
                             " (key, envelope, expires_at, updated_at) SELECT k, e, x, now() FROM "
                             "unnest($1::text[], $2::bytea[], $3::timestamptz[]) AS u(k, e, x) ON "
                             "CONFLICT (key) DO UPDATE SET envelope = EXCLUDED.envelope, "
                             "expires_at = EXCLUDED.expires_at, updated_at = EXCLUDED.updated_at";
      // xmax is 0 in a row version this statement inserted, and set in one
      // it updated (the conflicting row was locked): a hint only, for COPY.
      upsert_sql = "WITH written AS (" + upsert_uncounted_sql +
                   " RETURNING xmax = 0 AS inserted) SELECT count(*) FILTER (WHERE inserted) FROM "
                   "written";
      copy_insert_sql = "BEGIN; COPY " + quoted +
                        " (key, envelope, expires_at) FROM STDIN (FORMAT binary); COMMIT";
      // One scan of the table's primary key for the whole array (or of the
      // table, when the array covers most of it: the planner's choice is
      // right both ways, ADR 20); the rows come back with their keys. A join
      // against unnest(), even a LATERAL one, was planned as a hash join over
      // the whole table for every chunk.
      load_sql = "SELECT key, envelope FROM " + quoted +
                 " WHERE key = ANY($1::text[]) AND (expires_at IS NULL OR expires_at > $2)";
      erase_sql = "WITH gone AS (DELETE FROM " + quoted +
                  " WHERE key = ANY($1::text[]) RETURNING expires_at) SELECT count(*) FROM gone "
                  "WHERE expires_at IS NULL OR expires_at > $2";
      // The bounds are sub-selects, so that a custom plan does not look at
      // their values: the plan is the same walk of the primary key either
      // way (sorts are off), and estimating the constants' ranges cost as
      // much as reading the page: a 354-row page took 0.50 ms on loopback
      // with them in sight, 0.27 ms without. LIMIT stays visible.
      scan_sql = "SELECT key, envelope FROM " + quoted +
                 " WHERE key > (SELECT $1::text) AND key >= (SELECT $2::text) AND key < (SELECT "
                 "$3::text) AND (expires_at IS NULL OR expires_at > (SELECT $4::timestamptz)) "
                 "ORDER BY key LIMIT $5::int8";
      purge_sql = "DELETE FROM " + quoted + " WHERE expires_at <= $1";
    }

    std::size_t chunk() const noexcept {
      return options.chunk_size == 0 ? 10'000 : options.chunk_size;
    }

    std::size_t load_chunk() const noexcept {
      return options.load_chunk_size == 0 ? 100'000 : options.load_chunk_size;
    }

    /// Connects once and migrates the schema (or, without create_if_missing,
    /// checks it); throws on failure: ConfigError for refused credentials.
    void open() {
      std::error_code error;
      std::string message;
      auto conn = open_session(error, &message);
      if (!conn) {
        const std::string what =
            "strata::PostgresRepository: cannot connect (" + error.message() + "): " + message;
        if (error == errc::access_denied) throw ConfigError(what);
        throw Error(what);
      }
      if (options.create_if_missing)
        migrate(conn->conn.get());
      else
        check_schema(conn->conn.get());
    }

    /// The table exists, made by strata at this schema version; else ConfigError.
    void check_schema(PGconn* c) const {
      const std::optional<int> version = recorded_version(c);
      if (!version || *version == 0)
        throw ConfigError("strata::PostgresRepository: no strata table " + quoted +
                          " in this database (not_found: check the table name)");
      if (*version != schema_version)
        throw ConfigError("strata::PostgresRepository: table " + quoted +
                          " is at another schema version; open it once with "
                          "create_if_missing to migrate it");
    }

    /// The schema version strata_schema_versions records for the table: 0
    /// when it has no row; nullopt when it cannot be read (no such table).
    std::optional<int> recorded_version(PGconn* c) const {
      const char* name = options.table.c_str();
      const detail::PgResultPtr r(
          PQexecParams(c, "SELECT version FROM strata_schema_versions WHERE table_name = $1", 1,
                       nullptr, &name, nullptr, nullptr, 0));
      if (PQresultStatus(r.get()) != PGRES_TUPLES_OK) return std::nullopt;
      return PQntuples(r.get()) == 0 ? 0 : std::atoi(PQgetvalue(r.get(), 0, 0));
    }

    /// A pooled connection: a session with this repository's statements
    /// prepared (they need the table, so open() migrates first).
    std::optional<Connection> connect(std::error_code& error) {
      auto conn = open_session(error);
      if (conn && !prepare(conn->conn.get(), error)) return std::nullopt;
      return conn;
    }

    /// Connects and sets the session up; on failure also says why in
    /// `message` (libpq's words, password scrubbed) when asked.
    std::optional<Connection> open_session(std::error_code& error,
                                           std::string* message = nullptr) const {
      const std::string timeout =
          std::to_string((options.connect_timeout.count() + 999) / 1000);  // libpq takes seconds
      // Defaults first, the user's conninfo (expanded from dbname) after: it wins.
      const char* keywords[] = {"connect_timeout", "application_name", "dbname", nullptr};
      const char* values[] = {options.connect_timeout.count() > 0 ? timeout.c_str() : nullptr,
                              "strata", options.conninfo.c_str(), nullptr};
      Connection conn{std::unique_ptr<PGconn, detail::FinishPg>(
          PQconnectdbParams(keywords, values, /*expand_dbname=*/1))};
      PGconn* c = conn.conn.get();
      if (c == nullptr || PQstatus(c) != CONNECTION_OK) {
        const std::string text = message_of(c);
        const bool denied = text.find("authentication") != std::string::npos ||
                            text.find("password") != std::string::npos;
        error = denied ? errc::access_denied : errc::backend_unavailable;
        if (message) *message = text;
        return std::nullopt;
      }
      // A library does not write to stderr: server notices (e.g. "already
      // exists, skipping") are dropped.
      PQsetNoticeProcessor(
          c, [](void*, const char*) {}, nullptr);
      // Custom plans for the prepared statements. The `= ANY` reads needed
      // them (a generic plan cannot see how long the key array is, and on a
      // small table it tested every row against the whole unhashed array:
      // 354 keys, 6x slower than planning each call); they now run unnamed,
      // planned for their array either way. The upsert's plan sees its
      // arrays' lengths under it, and ADR 20's scan page was measured under it.
      // No explicit sorts: a scan page must walk the primary key in order and
      // stop after LIMIT rows. On a table whose statistics are stale (right
      // after a bulk load) the planner guesses few matching rows and picks a
      // bitmap scan plus a sort of every remaining row instead: 630 ms per
      // 10k-row page of a 1M-row table, against 4 ms in key order. These
      // connections only run strata's statements, none of which needs a sort
      // it cannot do without.
      const std::string timeout_sql =
          "SET statement_timeout = " + std::to_string(options.statement_timeout.count()) +
          "; SET plan_cache_mode = force_custom_plan; SET enable_sort = off";
      const detail::PgResultPtr r(PQexec(c, timeout_sql.c_str()));
      if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
        error = result_error(c, r.get());
        if (message) *message = message_of(c);
        return std::nullopt;
      }
      return conn;
    }

    bool prepare(PGconn* c, std::error_code& error) const {
      const std::pair<const char*, const std::string*> statements[] = {
          {"strata_upsert", &upsert_sql},
          {"strata_upsert_uncounted", &upsert_uncounted_sql},
          {"strata_scan", &scan_sql},
          {"strata_purge", &purge_sql}};
      for (const auto& [name, sql] : statements) {
        const detail::PgResultPtr r(PQprepare(c, name, sql->c_str(), 0, nullptr));
        if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
          error = result_error(c, r.get());
          return false;
        }
      }
      return true;
    }

    /// A peek at the socket (no round trip), and an empty query only when
    /// bytes are pending: a notice, or the error a terminated backend sends.
    static bool healthy(Connection& conn) {
      PGconn* c = conn.conn.get();
      if (PQstatus(c) != CONNECTION_OK) return false;
      return detail::idle_connection_usable(PQsocket(c), [c] {
        const detail::PgResultPtr r(PQexec(c, ""));
        return PQresultStatus(r.get()) == PGRES_EMPTY_QUERY;
      });
    }

    /// Applies the migrations this table lacks, under a transaction-scoped
    /// advisory lock that every strata process takes before migrating.
    void migrate(PGconn* c) const {
      const auto run = [&](const std::string& sql) {
        const detail::PgResultPtr r(PQexec(c, sql.c_str()));
        const ExecStatusType status = PQresultStatus(r.get());
        if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
          throw Error("strata::PostgresRepository: migrating " + quoted +
                      " failed: " + message_of(c));
      };
      run("BEGIN");
      run("SELECT pg_advisory_xact_lock(hashtext('strata schema migrations'))");
      run("CREATE TABLE IF NOT EXISTS strata_schema_versions (table_name text COLLATE \"C\" "
          "PRIMARY KEY, version integer NOT NULL, migrated_at timestamptz NOT NULL DEFAULT now())");
      const std::optional<int> recorded = recorded_version(c);
      if (!recorded)
        throw Error("strata::PostgresRepository: reading the schema version failed: " +
                    message_of(c));
      const int current = *recorded;
      if (current > schema_version)
        throw Error("strata::PostgresRepository: table " + quoted + " has schema version " +
                    std::to_string(current) + ", newer than this strata's " +
                    std::to_string(schema_version) + ": upgrade strata");
      // Each entry takes the schema from version i to i + 1.
      const std::string migrations[] = {
          "CREATE TABLE IF NOT EXISTS " + quoted +
              " (key text COLLATE \"C\" PRIMARY KEY, envelope bytea NOT NULL, expires_at "
              "timestamptz NULL, updated_at timestamptz NOT NULL DEFAULT now()); "
              "CREATE INDEX IF NOT EXISTS \"" +
              options.table + "_expires_at\" ON " + quoted +
              " (expires_at) WHERE expires_at IS NOT NULL",
      };
      for (int v = current; v < schema_version; ++v) run(migrations[v]);
      if (current < schema_version)
        run("INSERT INTO strata_schema_versions (table_name, version) VALUES ('" + options.table +
            "', " + std::to_string(schema_version) +
            ") ON CONFLICT (table_name) DO UPDATE SET version = EXCLUDED.version, migrated_at = "
            "now()");
      run("COMMIT");
    }

    /// libpq's message for `c`, without the conninfo's password.
    std::string message_of(const PGconn* c) const {
      std::string text = c ? PQerrorMessage(c) : "out of memory";
      while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
      if (!password.empty())
        for (std::size_t at = text.find(password); at != std::string::npos;
             at = text.find(password, at))
          text.replace(at, password.size(), "********");
      return text;
    }

    /// Takes the password out of the conninfo, only to scrub it from messages.
    void read_password() {
      char* parse_error = nullptr;
      PQconninfoOption* parsed = PQconninfoParse(options.conninfo.c_str(), &parse_error);
      if (parsed == nullptr) {
        // libpq's parse error may quote the conninfo, password included: not passed on.
        PQfreemem(parse_error);
        throw ConfigError(
            "strata::PostgresRepository: the conninfo does not parse as a "
            "connection string or URI");
      }
      std::string bad;  // what is wrong with a value libpq only checks when connecting
      for (const PQconninfoOption* o = parsed; o->keyword != nullptr; ++o) {
        if (o->val == nullptr) continue;
        const std::string_view keyword = o->keyword, value = o->val;
        if (keyword == "password") password = o->val;
        if (keyword == "port" && !detail::valid_ports(value))
          bad = "port '" + printable(value) + "' is not a number from 1 to 65535";
        if (keyword == "sslmode" && !detail::valid_sslmode(value))
          bad = "sslmode '" + printable(value) +
                "' is not one of disable, allow, prefer, require, verify-ca, verify-full";
      }
      PQconninfoFree(parsed);
      if (!bad.empty()) throw ConfigError("strata::PostgresRepository: the conninfo's " + bad);
    }

    /// A table name as it may be shown: non-printable bytes escaped.
    static std::string printable(std::string_view name) {
      std::string out;
      for (unsigned char ch : name.substr(0, 64)) {
        if (ch >= 0x20 && ch < 0x7F) {
          out.push_back(static_cast<char>(ch));
        } else {
          static constexpr char hex[] = "0123456789abcdef";
          out += "\\x";
          out.push_back(hex[ch >> 4]);
          out.push_back(hex[ch & 15]);
        }
      }
      return out;
    }

    PostgresOptions options;
    std::string password;
    std::string quoted;  // the table name, quoted
    std::string upsert_sql, upsert_uncounted_sql, copy_insert_sql;
    /// Whether the keys of the last chunk counted were all new, so that the
    /// next may go by COPY. A hint shared by all connections; races are harmless.
    std::atomic<bool> keys_were_new{true};
    /// Upserts run while keys_were_new was false: one in eight counts its
    /// inserts, to notice when keys turn new again.
    std::atomic<std::uint64_t> upserts_while_overwriting{0};
    std::string load_sql, erase_sql, scan_sql, purge_sql;
    ConnectionPool<Connection> pool;
  };

  std::unique_ptr<State> state_;
};

STRATA_END_NAMESPACE
