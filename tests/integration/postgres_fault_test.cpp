// All-or-none per chunk when PostgreSQL goes away in the middle of a large
// store_many: the session terminated by pg_terminate_backend from a second
// connection (on the shared server), and the whole server stopped with
// `pg_ctl -m immediate` (on a cluster this test owns), then restarted. Every
// key reported stored is present with identical bytes; every key reported
// failed is absent (a chunk interrupted before its commit: not one of its rows
// is visible); a chunk reported outcome_unknown is visible whole or not at
// all (its commit record may have reached the WAL before the kill); and after
// the restart the same repository reconnects.
#include "postgres_server.hpp"

#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace strata::testing {
namespace {

struct Batch {
  explicit Batch(std::size_t n, const std::string& tag) {
    for (std::size_t i = 0; i < n; ++i) {
      keys.push_back(tag + ":" + std::to_string(i));
      envelopes.push_back("envelope-" + std::to_string(i) + std::string(80, 'e'));
    }
    for (std::size_t i = 0; i < n; ++i) records.push_back({keys[i], envelopes[i], std::nullopt});
  }
  std::vector<std::string> keys, envelopes;
  std::vector<Record> records;
};

/// Runs `interrupt` once at least one chunk of `table` is committed, seen from
/// a connection of its own (giving up after 30 s), and a little later: right
/// after a commit the writer is between chunks, encoding the next one, and the
/// point is to catch it in the middle of a statement.
std::thread interrupt_after_first_chunk(const std::string& conninfo, const std::string& table,
                                        std::size_t chunk, std::function<void(PGconn*)> interrupt) {
  return std::thread([=] {
    PGconn* c = PQconnectdb(conninfo.c_str());
    const std::string count = "SELECT count(*) FROM \"" + table + "\"";
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      PGresult* r = PQexec(c, count.c_str());
      const bool ready = PQresultStatus(r) == PGRES_TUPLES_OK &&
                         std::strtoull(PQgetvalue(r, 0, 0), nullptr, 10) >= chunk;
      PQclear(r);
      if (ready) break;
      std::this_thread::sleep_for(Millis{2});
    }
    std::this_thread::sleep_for(Millis{10});
    interrupt(c);
    PQfinish(c);
  });
}

/// Checks the result against what a fresh connection reads back.
void expect_honest(const BatchResult& result, const Batch& batch, const PostgresOptions& options,
                   std::size_t chunk) {
  PostgresRepository reader(options);
  const std::vector<std::string_view> views(batch.keys.begin(), batch.keys.end());
  const LoadResult stored_now = reader.load_many(views);
  std::size_t stored = 0, failed = 0, unknown = 0, unknown_applied = 0;
  for (std::size_t i = 0; i < batch.keys.size(); ++i) {
    ASSERT_FALSE(stored_now[i].failed()) << batch.keys[i];
    const std::error_code error = result.error(i);
    if (result.stored(i)) {
      ++stored;
      ASSERT_TRUE(stored_now[i].found()) << batch.keys[i] << " was reported stored";
    } else if (error == errc::outcome_unknown) {
      // The commit may have happened: a server killed after its commit record
      // reached the WAL recovers it. Either way the chunk is whole.
      ++unknown;
      unknown_applied += stored_now[i].found();
    } else {
      ++failed;
      ASSERT_TRUE(error == errc::backend_unavailable || error == errc::timeout) << error.message();
      ASSERT_TRUE(stored_now[i].absent())
          << batch.keys[i] << " failed (" << error.message() << ") yet is visible";
    }
    if (stored_now[i].found()) {
      ASSERT_EQ(stored_now[i].value, batch.envelopes[i]);
    }
    // A chunk is all or nothing, in what was reported and in what is visible.
    const std::size_t head = i - i % chunk;
    ASSERT_EQ(result.stored(i), result.stored(head)) << batch.keys[i];
    ASSERT_EQ(stored_now[i].found(), stored_now[head].found()) << batch.keys[i];
  }
  std::printf("of %zu records: %zu stored, %zu outcome_unknown (%zu of them applied), %zu failed\n",
              batch.keys.size(), stored, unknown, unknown_applied, failed);
  EXPECT_GT(stored, 0u) << "interrupted before the first chunk";
  EXPECT_GT(failed, 0u) << "the interruption came after the batch";
}

TEST(PostgresFault, TerminatedSessionLosesWholeChunksAndReportsThemHonestly) {
  for (const std::size_t copy_threshold : {std::size_t{1}, std::size_t{1'000'000}}) {
    SCOPED_TRACE(copy_threshold == 1 ? "COPY path" : "unnest path");
    PostgresOptions options = postgres_test_options();
    options.chunk_size = 5'000;
    options.copy_threshold = copy_threshold;
    PostgresRepository repo(options);
    const Batch batch(200'000, "term");

    std::thread killer = interrupt_after_first_chunk(
        options.conninfo, options.table, options.chunk_size, [](PGconn* c) {
          // Every strata session but this one, active or between chunks.
          PQclear(PQexec(c,
                         "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                         "application_name = 'strata' AND pid <> pg_backend_pid()"));
        });
    const BatchResult result = repo.store_many(batch.records);
    killer.join();
    expect_honest(result, batch, options, options.chunk_size);
    if (HasFatalFailure()) return;

    const Record after{"after", "x", std::nullopt};
    EXPECT_TRUE(repo.store_many(std::span(&after, 1)).all_stored()) << "no reconnect";
  }
}

// An idle session the server terminated is found by the check before reuse
// (health_check_after 0: at every checkout): the server's last words (its
// FATAL notice) are pending on the socket, so the peek is unsure, the empty
// query fails, and the connection is replaced before any call meets it.
TEST(PostgresFault, AnIdleSessionTerminatedByTheServerIsReplacedUnseen) {
  PostgresOptions options = postgres_test_options();
  options.pool.health_check_after = Millis{0};
  PostgresRepository repo(options);
  const Record record{"idle:k", "v", std::nullopt};
  ASSERT_TRUE(repo.store_many(std::span(&record, 1)).all_stored());
  PGconn* c = PQconnectdb(options.conninfo.c_str());
  PGresult* r = PQexec(c,
                       "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE "
                       "application_name = 'strata' AND pid <> pg_backend_pid()");
  EXPECT_GE(std::atoi(PQgetvalue(r, 0, 0)), 1);  // the repository's idle session
  PQclear(r);
  // The backend has exited (and closed its socket) once the server lists it no more.
  for (int wait = 0; wait < 500; ++wait) {
    r = PQexec(c,
               "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'strata' AND "
               "pid <> pg_backend_pid()");
    const bool gone = std::atoi(PQgetvalue(r, 0, 0)) == 0;
    PQclear(r);
    if (gone) break;
    std::this_thread::sleep_for(Millis{10});
  }
  PQfinish(c);
  const std::string_view key = "idle:k";
  EXPECT_EQ(repo.load_many(std::span(&key, 1))[0].value, "v");
  EXPECT_EQ(repo.pool_stats().discarded, 1u);
}

TEST(PostgresFault, ImmediateShutdownLosesWholeChunksAndTheRepositoryReconnects) {
  PostgresProcess server;
  server.start();
  PostgresOptions options = postgres_test_options();
  options.conninfo = server.conninfo();
  options.chunk_size = 5'000;
  options.pool.health_check_after = Millis{0};  // a connection from before the restart is checked
  PostgresRepository repo(options);
  const Batch batch(200'000, "crash");

  std::thread killer =
      interrupt_after_first_chunk(options.conninfo, options.table, options.chunk_size,
                                  [&](PGconn*) { server.stop_immediately(); });
  const BatchResult result = repo.store_many(batch.records);
  killer.join();
  server.start();  // recovery from the WAL
  expect_honest(result, batch, options, options.chunk_size);
  if (HasFatalFailure()) return;

  const Record after{"after", "x", std::nullopt};
  EXPECT_TRUE(repo.store_many(std::span(&after, 1)).all_stored()) << "no reconnect";
}

/// One statement on a connection of the test's own; whether it succeeded.
bool run_sql(PGconn* c, const std::string& sql) {
  PGresult* r = PQexec(c, sql.c_str());
  const ExecStatusType status = PQresultStatus(r);
  PQclear(r);
  return status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
}

TEST(PostgresFault, ATableLockedByAnotherSessionTimesEveryOperationOutAndLosesNothing) {
  PostgresOptions options = postgres_test_options();
  options.statement_timeout = Millis{300};
  PostgresRepository repo(options);
  const Batch before(20, "locked-before");
  ASSERT_TRUE(repo.store_many(before.records).all_stored());

  PGconn* locker = PQconnectdb(options.conninfo.c_str());
  ASSERT_EQ(PQstatus(locker), CONNECTION_OK);
  ASSERT_TRUE(run_sql(locker, "BEGIN"));
  ASSERT_TRUE(run_sql(locker, "LOCK TABLE \"" + options.table + "\" IN ACCESS EXCLUSIVE MODE"));

  // Both write paths (one statement below copy_threshold, COPY from it on),
  // the read, the erase, the scan and the purge: each waits for the lock
  // until the statement timeout, and says so by name.
  const Batch small(10, "locked-small"), large(options.copy_threshold + 10, "locked-large");
  for (const Batch* batch : {&small, &large}) {
    const BatchResult result = repo.store_many(batch->records);
    for (std::size_t i = 0; i < batch->keys.size(); ++i)
      EXPECT_EQ(result.error(i), errc::timeout) << batch->keys[i];
  }
  const std::vector<std::string_view> keys(before.keys.begin(), before.keys.end());
  const LoadResult loaded = repo.load_many(keys);
  for (std::size_t i = 0; i < keys.size(); ++i) EXPECT_EQ(loaded[i].error, errc::timeout);
  EXPECT_EQ(repo.erase_many(keys).error, errc::timeout);
  EXPECT_EQ(repo.scan("locked-", "", 10).error, errc::timeout);
  EXPECT_THROW(repo.purge_expired(), Error);

  ASSERT_TRUE(run_sql(locker, "COMMIT"));
  PQfinish(locker);
  // The lock gone, the same repository reads what was there, untouched, and
  // nothing of the refused writes.
  const LoadResult after = repo.load_many(keys);
  for (std::size_t i = 0; i < keys.size(); ++i) EXPECT_EQ(after[i].value, before.envelopes[i]);
  EXPECT_EQ(repo.scan("locked-", "", 100).records.size(), before.keys.size());
  EXPECT_TRUE(repo.store_many(small.records).all_stored());
}

TEST(PostgresFault, ATableOfANewerSchemaIsRefusedAndNotMigrated) {
  PostgresOptions options = postgres_test_options();
  { PostgresRepository create(options); }
  PGconn* c = PQconnectdb(options.conninfo.c_str());
  ASSERT_EQ(PQstatus(c), CONNECTION_OK);
  ASSERT_TRUE(run_sql(c, "UPDATE strata_schema_versions SET version = 99 WHERE table_name = '" +
                             options.table + "'"));
  // Opening to migrate: an Error naming both versions, nothing rewritten.
  try {
    PostgresRepository newer(options);
    ADD_FAILURE() << "a table at schema 99 was opened";
  } catch (const ConfigError&) {
    ADD_FAILURE() << "a newer schema is an Error, not a ConfigError";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("newer than this strata"), std::string::npos)
        << error.what();
  }
  // Opening without migrating: a ConfigError that says to migrate.
  options.create_if_missing = false;
  try {
    PostgresRepository other(options);
    ADD_FAILURE() << "a table at schema 99 was opened";
  } catch (const ConfigError& error) {
    EXPECT_NE(std::string(error.what()).find("another schema version"), std::string::npos)
        << error.what();
  }
  PGresult* r = PQexec(
      c, ("SELECT version FROM strata_schema_versions WHERE table_name = '" + options.table + "'")
             .c_str());
  ASSERT_EQ(PQresultStatus(r), PGRES_TUPLES_OK);
  EXPECT_STREQ(PQgetvalue(r, 0, 0), "99");
  PQclear(r);
  PQfinish(c);
}

}  // namespace
}  // namespace strata::testing
