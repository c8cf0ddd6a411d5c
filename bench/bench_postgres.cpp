// strata's PostgreSQL WARM tier against raw libpq doing the same work on the
// same server (127.0.0.1:STRATA_PG_PORT, default 16432; scripts/bench.sh
// postgres starts it), and against strata's own single-key path:
//  - batch_set               vs raw binary COPY of the same rows (PQputCopyData,
//                            FORMAT binary) into a table of the same schema;
//  - batch_set overwriting every key vs a hand-written single statement
//    `INSERT ... SELECT FROM unnest(...) ON CONFLICT DO UPDATE` of the same
//    rows from binary arrays (ADR 20);
//  - batch_set of new rows by each write path (one upsert statement; COPY), the
//    measurements behind copy_threshold (ADR 8);
//  - batch_get               vs a raw binary `key = ANY($1)` query that copies
//                            each row's value out, as batch_get does, on a
//                            table the batch covers and on one ten times larger;
//                            into new strings that replace its last call's, as
//                            batch_get returns a new result, and into the
//                            strings of its last call, as batch_get_into fills
//                            a reused LoadResult;
//  - batch_set / batch_get   vs as many set() / get() calls (354 keys).
// Writes go into emptied tables (TRUNCATE, outside the timing), so that every
// candidate inserts the same fresh rows. The store runs without a cache.
#include <strata/backends/postgres.hpp>
#include <strata/strata.hpp>

#include <strata/bench/ratio_reporter.hpp>

#include <benchmark/benchmark.h>
#include <fmt/core.h>
#include <libpq-fe.h>

#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

using namespace strata;
using Store = TieredStore<NoCache, FixedRouter<Tier::warm>, NoTier, PostgresRepository, NoTier>;

std::string conninfo() {
  const char* port = std::getenv("STRATA_PG_PORT");
  const char* password = std::getenv("STRATA_PG_PASSWORD");
  return fmt::format("host=127.0.0.1 port={} dbname=strata user=postgres password={}",
                     port ? port : "16432", password ? password : "strata-test");
}

constexpr const char* strata_table = "bench_strata";
constexpr const char* raw_table = "bench_raw";

/// A store whose chunks of at least `copy_threshold` records go by COPY.
Store make_store(std::size_t copy_threshold) {
  PostgresOptions options;
  options.conninfo = conninfo();
  options.table = strata_table;
  options.copy_threshold = copy_threshold;
  options.statement_timeout = Millis{0};
  return Store(StoreOptions{}, NoTier{}, PostgresRepository(options), NoTier{});
}

struct Data {
  /// `n` rows "k:00000000<suffix>"...: other suffixes interleave in key order.
  explicit Data(std::size_t n, std::string_view suffix = "") {
    const TimePoint now = Clock{}.now();
    for (std::size_t i = 0; i < n; ++i) {
      keys.push_back(fmt::format("k:{:08}{}", i, suffix));
      values.push_back(std::string(100, static_cast<char>('a' + i % 26)));
      envelopes.push_back(encode_envelope(keys.back(), {now, now, std::nullopt, 0}, values.back()));
    }
    for (std::size_t i = 0; i < n; ++i) {
      items.push_back({keys[i], values[i]});
      views.push_back(keys[i]);
    }
  }
  std::vector<std::string> keys, values, envelopes;
  std::vector<Item> items;
  std::vector<std::string_view> views;
};

/// A raw libpq connection, for the baselines and for emptying tables.
struct Raw {
  Raw() : c(PQconnectdb(conninfo().c_str())) {
    if (PQstatus(c) != CONNECTION_OK) throw Error("bench: no PostgreSQL on 127.0.0.1");
    PQsetNoticeProcessor(
        c, [](void*, const char*) {}, nullptr);  // "already exists, skipping"
  }
  ~Raw() { PQfinish(c); }
  Raw(const Raw&) = delete;
  Raw& operator=(const Raw&) = delete;

  void exec(const std::string& sql) {
    PGresult* r = PQexec(c, sql.c_str());
    const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    PQclear(r);
    if (!ok) throw Error("bench: " + sql + ": " + PQerrorMessage(c));
  }
  void truncate(const char* table) { exec(fmt::format("TRUNCATE \"{}\"", table)); }

  /// One binary COPY of the rows, as its own transaction.
  void copy(const Data& data) {
    detail::pg::CopyWriter rows(data.keys.size() * 180);
    for (std::size_t i = 0; i < data.keys.size(); ++i) {
      rows.begin_row(3);
      rows.field(data.keys[i]);
      rows.field(data.envelopes[i]);
      rows.field_timestamptz(std::nullopt);
    }
    const std::string& bytes = rows.finish();
    PGresult* r = PQexec(c, fmt::format("COPY {} (key, envelope, expires_at) FROM STDIN (FORMAT "
                                        "binary)",
                                        raw_table)
                                .c_str());
    const bool in = PQresultStatus(r) == PGRES_COPY_IN;
    PQclear(r);
    if (!in || PQputCopyData(c, bytes.data(), static_cast<int>(bytes.size())) != 1 ||
        PQputCopyEnd(c, nullptr) != 1)
      throw Error(std::string("bench: COPY failed: ") + PQerrorMessage(c));
    r = PQgetResult(c);
    const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    while ((r = PQgetResult(c)) != nullptr) PQclear(r);
    if (!ok) throw Error(std::string("bench: COPY failed: ") + PQerrorMessage(c));
  }

  /// One binary `key = ANY($1)` query, each row's value copied out as
  /// batch_get copies it; returns the rows' bytes read. Not inlined, so that
  /// callgrind can count it alone (--toggle-collect='*select_any*').
  [[gnu::noinline]] std::size_t select_any(const Data& data, std::vector<std::string>& out) {
    std::size_t bytes = 0;
    for (const auto& key : data.keys) bytes += key.size() + 4;
    detail::pg::ArrayWriter array(detail::pg::text_oid, data.keys.size(), false, bytes);
    for (const auto& key : data.keys) array.add(key);
    const char* value = array.bytes().data();
    const int length = static_cast<int>(array.bytes().size());
    const int format = 1;
    const std::string sql =
        fmt::format("SELECT key, envelope FROM {} WHERE key = ANY($1::text[])", raw_table);
    PGresult* r = PQexecParams(c, sql.c_str(), 1, nullptr, &value, &length, &format, 1);
    std::size_t read = 0;
    out.resize(static_cast<std::size_t>(PQntuples(r)));
    for (int row = 0; row < PQntuples(r); ++row) {
      out[static_cast<std::size_t>(row)].assign(PQgetvalue(r, row, 1),
                                                static_cast<std::size_t>(PQgetlength(r, row, 1)));
      read += static_cast<std::size_t>(PQgetlength(r, row, 0) + PQgetlength(r, row, 1));
    }
    PQclear(r);
    return read;
  }

  /// The hand-written overwrite: one `INSERT ... SELECT FROM unnest(...) ON
  /// CONFLICT DO UPDATE` of every row, from binary arrays, in one statement.
  void upsert(const Data& data) {
    std::size_t key_bytes = 0, envelope_bytes = 0;
    for (std::size_t i = 0; i < data.keys.size(); ++i) {
      key_bytes += data.keys[i].size() + detail::pg::per_field_bytes;
      envelope_bytes += data.envelopes[i].size() + detail::pg::per_field_bytes;
    }
    detail::pg::ArrayWriter keys(detail::pg::text_oid, data.keys.size(), false, key_bytes);
    detail::pg::ArrayWriter envelopes(detail::pg::bytea_oid, data.keys.size(), false,
                                      envelope_bytes);
    detail::pg::ArrayWriter expiry(detail::pg::timestamptz_oid, data.keys.size(), true,
                                   data.keys.size() * 12);
    for (std::size_t i = 0; i < data.keys.size(); ++i) {
      keys.add(data.keys[i]);
      envelopes.add(data.envelopes[i]);
      expiry.add_timestamptz(std::nullopt);
    }
    const char* values[] = {keys.bytes().data(), envelopes.bytes().data(), expiry.bytes().data()};
    const int lengths[] = {static_cast<int>(keys.bytes().size()),
                           static_cast<int>(envelopes.bytes().size()),
                           static_cast<int>(expiry.bytes().size())};
    const int formats[] = {1, 1, 1};
    const std::string sql = fmt::format(
        "INSERT INTO {} (key, envelope, expires_at, updated_at) SELECT k, e, x, now() FROM "
        "unnest($1::text[], $2::bytea[], $3::timestamptz[]) AS u(k, e, x) ON CONFLICT (key) DO "
        "UPDATE SET envelope = EXCLUDED.envelope, expires_at = EXCLUDED.expires_at, updated_at = "
        "EXCLUDED.updated_at",
        raw_table);
    PGresult* r = PQexecParams(c, sql.c_str(), 3, nullptr, values, lengths, formats, 1);
    const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (!ok) throw Error(std::string("bench: upsert failed: ") + PQerrorMessage(c));
  }

  PGconn* c;
};

/// Empties strata's table and stores `data` in it, outside any timing.
void fill(Store& store, const Data& data) {
  Raw().truncate(strata_table);
  if (!store.batch_set(data.items).all_stored()) throw Error("bench: filling the table failed");
}

void raw_copy(benchmark::State& state) {
  const Data data(static_cast<std::size_t>(state.range(0)));
  Raw raw;
  for (auto _ : state) {
    state.PauseTiming();
    raw.truncate(raw_table);
    state.ResumeTiming();
    raw.copy(data);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
void strata_set_with(benchmark::State& state, std::size_t copy_threshold) {
  const Data data(static_cast<std::size_t>(state.range(0)));
  Store store = make_store(copy_threshold);
  Raw raw;
  for (auto _ : state) {
    state.PauseTiming();
    raw.truncate(strata_table);
    state.ResumeTiming();
    if (!store.batch_set(data.items).all_stored()) state.SkipWithError("batch_set failed");
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
void strata_set(benchmark::State& state) {
  strata_set_with(state, PostgresOptions{}.copy_threshold);
}
/// Every key already stored: what a steady-state writer pays.
void strata_overwrite(benchmark::State& state) {
  const Data data(static_cast<std::size_t>(state.range(0)));
  Store store = make_store(PostgresOptions{}.copy_threshold);
  fill(store, data);
  for (auto _ : state)
    if (!store.batch_set(data.items).all_stored()) state.SkipWithError("batch_set failed");
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
void strata_set_unnest(benchmark::State& state) { strata_set_with(state, SIZE_MAX); }
void strata_set_copy(benchmark::State& state) { strata_set_with(state, 1); }
void raw_upsert(benchmark::State& state) {
  const Data data(static_cast<std::size_t>(state.range(0)));
  Raw raw;
  raw.truncate(raw_table);
  raw.copy(data);  // every key exists, as for strata/overwrite
  for (auto _ : state) raw.upsert(data);
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

/// The rows of `data`, and, with `tenfold`, nine times as many other rows
/// (the batch then reads a tenth of the table), then ANALYZE, as a table
/// that has lived a while has statistics.
void fill_raw(Raw& raw, const Data& data, bool tenfold) {
  raw.truncate(raw_table);
  raw.copy(data);
  if (tenfold) raw.copy(Data(data.keys.size() * 9, ":other"));
  raw.exec(fmt::format("ANALYZE {}", raw_table));
}
void fill_strata(Store& store, const Data& data, bool tenfold) {
  fill(store, data);
  if (tenfold) {
    const Data other(data.keys.size() * 9, ":other");
    if (!store.batch_set(other.items).all_stored()) throw Error("bench: filling failed");
  }
  Raw().exec(fmt::format("ANALYZE {}", strata_table));
}
/// The raw query into the strings of its last call, or (`fresh`) into new
/// ones that replace them.
void raw_any_in(benchmark::State& state, bool tenfold, bool fresh) {
  const Data data(static_cast<std::size_t>(state.range(0)));
  Raw raw;
  fill_raw(raw, data, tenfold);
  std::vector<std::string> values;
  for (auto _ : state) {
    std::vector<std::string> replaced;
    if (fresh) replaced = std::exchange(values, std::vector<std::string>());
    if (raw.select_any(data, values) == 0) state.SkipWithError("raw query found nothing");
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
/// One batch_get of the data's keys, into a new result or (`reused`, as the
/// raw baseline reuses its strings) into the one the last call filled; not
/// inlined, so that callgrind can count it alone beside select_any
/// (--toggle-collect='*strata_get_once*').
[[gnu::noinline]] std::size_t strata_get_once(Store& store, const Data& data, LoadResult* reused) {
  if (reused == nullptr) return store.batch_get(data.views).found_count();
  store.batch_get_into(data.views, *reused);
  return reused->found_count();
}
void strata_get_in(benchmark::State& state, bool tenfold, bool reuse) {
  const Data data(static_cast<std::size_t>(state.range(0)));
  Store store = make_store(PostgresOptions{}.copy_threshold);
  fill_strata(store, data, tenfold);
  LoadResult result;
  for (auto _ : state)
    if (strata_get_once(store, data, reuse ? &result : nullptr) != data.keys.size())
      state.SkipWithError("batch_get missed keys");
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
void raw_any(benchmark::State& state) { raw_any_in(state, false, false); }
void raw_any_fresh(benchmark::State& state) { raw_any_in(state, false, true); }
void raw_any_tenfold(benchmark::State& state) { raw_any_in(state, true, false); }
void raw_any_tenfold_fresh(benchmark::State& state) { raw_any_in(state, true, true); }
void strata_get(benchmark::State& state) { strata_get_in(state, false, false); }
void strata_get_tenfold(benchmark::State& state) { strata_get_in(state, true, false); }
void strata_get_into(benchmark::State& state) { strata_get_in(state, false, true); }
void strata_get_into_tenfold(benchmark::State& state) { strata_get_in(state, true, true); }
void single_set(benchmark::State& state) {
  const Data data(static_cast<std::size_t>(state.range(0)));
  Store store = make_store(PostgresOptions{}.copy_threshold);
  Raw raw;
  for (auto _ : state) {
    state.PauseTiming();
    raw.truncate(strata_table);
    state.ResumeTiming();
    for (const Item& item : data.items) benchmark::DoNotOptimize(store.set(item.key, item.value));
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
void single_get(benchmark::State& state) {
  const Data data(static_cast<std::size_t>(state.range(0)));
  Store store = make_store(PostgresOptions{}.copy_threshold);
  fill(store, data);
  for (auto _ : state)
    for (std::string_view key : data.views) benchmark::DoNotOptimize(store.get(key));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  {
    const Store migrate = make_store(1);  // creates strata's table, which the raw one copies
    Raw().exec(fmt::format("CREATE TABLE IF NOT EXISTS {} (LIKE \"{}\" INCLUDING ALL)", raw_table,
                           strata_table));
  }
  const std::vector<long> sizes{354, 2'000, 10'000, 100'000};
  for (long n : sizes) {
    using Fn = void (*)(benchmark::State&);
    const std::pair<const char*, Fn> paired[] = {{"raw/copy", raw_copy},
                                                 {"strata/set", strata_set},
                                                 {"raw/upsert", raw_upsert},
                                                 {"strata/overwrite", strata_overwrite},
                                                 {"path/unnest", strata_set_unnest},
                                                 {"path/copy", strata_set_copy},
                                                 {"raw/any", raw_any},
                                                 {"raw/any_new", raw_any_fresh},
                                                 {"strata/get", strata_get},
                                                 {"strata/get_into", strata_get_into},
                                                 {"raw/any10", raw_any_tenfold},
                                                 {"raw/any10_new", raw_any_tenfold_fresh},
                                                 {"strata/get10", strata_get_tenfold},
                                                 {"strata/get10_into", strata_get_into_tenfold}};
    for (const auto& [name, fn] : paired)
      benchmark::RegisterBenchmark(name, fn)->Arg(n)->Unit(benchmark::kMillisecond);
  }
  // One statement and one commit per key: 354 keys already take a second or more.
  benchmark::RegisterBenchmark("single/set", single_set)->Arg(354)->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("single/get", single_get)->Arg(354)->Unit(benchmark::kMillisecond);

  strata::bench::RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);

  reporter.header("strata batch vs raw libpq (raw time / strata time = throughput ratio)");
  for (long n : sizes) {
    reporter.ratio(fmt::format("batch_set vs binary COPY x{}", n), fmt::format("raw/copy/{}", n),
                   fmt::format("strata/set/{}", n));
    reporter.ratio(fmt::format("batch_get vs binary = ANY x{}", n),
                   fmt::format("raw/any_new/{}", n), fmt::format("strata/get/{}", n));
    reporter.ratio(fmt::format("  into a reused result x{}", n), fmt::format("raw/any/{}", n),
                   fmt::format("strata/get_into/{}", n));
    reporter.ratio(fmt::format("  from a table ten times larger x{}", n),
                   fmt::format("raw/any10_new/{}", n), fmt::format("strata/get10/{}", n));
    reporter.ratio(fmt::format("  ten times larger, into a reused result x{}", n),
                   fmt::format("raw/any10/{}", n), fmt::format("strata/get10_into/{}", n));
  }
  reporter.header("overwriting every key vs one hand-written INSERT ... ON CONFLICT DO UPDATE");
  for (long n : sizes) {
    reporter.ratio(fmt::format("batch_set, all keys existing x{}", n),
                   fmt::format("raw/upsert/{}", n), fmt::format("strata/overwrite/{}", n));
  }
  reporter.header("new rows, by write path, vs binary COPY (ADR 8: copy_threshold)");
  for (long n : sizes) {
    reporter.ratio(fmt::format("upsert statement x{}", n), fmt::format("raw/copy/{}", n),
                   fmt::format("path/unnest/{}", n));
    reporter.ratio(fmt::format("COPY path x{}", n), fmt::format("raw/copy/{}", n),
                   fmt::format("path/copy/{}", n));
  }
  reporter.header("strata batch vs single-key calls (single time / batch time)");
  reporter.ratio("set x354", "single/set/354", "strata/set/354");
  reporter.ratio("get x354", "single/get/354", "strata/get/354");
  benchmark::Shutdown();
  return 0;
}
