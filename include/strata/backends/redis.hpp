#pragma once
/// \file
/// RedisRepository: the HOT tier over hiredis (CMake component strata::redis).
///
/// - store_many: per chunk of at most `chunk_size` records, one pipelined
///   MULTI ... EXEC, so each chunk is applied all-or-none. Inside it, runs of
///   records without expiry go in one MSET (2-2.6x faster than as many SETs),
///   a record with expiry is `SET key envelope PX ttl`, and an already
///   expired record is a DEL; input order is kept, so the last write of a key
///   wins. Chunks are sent one after another: the next is encoded while the
///   server applies the current one, and sent only once its EXEC reply is in.
/// - load_many: one MGET per chunk, all chunks in one pipeline; if any key
///   came back nil, one EXISTS of those keys, so that a key of another type
///   (hash, list, ...) is corrupt_record, not absent.
/// - erase_many: one variadic UNLINK per chunk, pipelined; the count is what
///   Redis reports (an expired key is already gone there).
/// - scan: SCAN with MATCH `<prefix>*` and Redis' own cursor, then MGET of the
///   page. SCAN may return a key twice across pages (Redis' guarantee is "at
///   least once"); rehydrate copies are idempotent, so that is harmless.
///
/// After a connection error or timeout mid-pipeline: chunks whose EXEC reply
/// arrived are stored; the chunk in flight is outcome_unknown (it may or may
/// not have been applied); later chunks fail with backend_unavailable without
/// being sent; the connection is discarded and the next call reconnects.
/// Every reply's type is checked: an unexpected one is treated like a broken
/// connection, never trusted.
///
/// atomic_batches is true: a store_many of up to chunk_size records is
/// all-or-none. A larger one is all-or-none per chunk, and its BatchResult
/// says exactly which chunks landed.
///
/// Thread safety: every member may be called concurrently; each call leases
/// its own pooled connection.

#include "strata/backends/resp_writer.hpp"
#include "strata/core/batch_result.hpp"
#include "strata/core/clock.hpp"
#include "strata/core/config.hpp"
#include "strata/core/error.hpp"
#include "strata/core/load_result.hpp"
#include "strata/core/record.hpp"
#include "strata/pool/connection_pool.hpp"

#include <algorithm>     // std::min
#include <cerrno>        // EAGAIN
#include <cstddef>       // std::size_t
#include <cstdint>       // std::int64_t
#include <memory>        // std::unique_ptr
#include <optional>      // std::optional
#include <span>          // std::span
#include <string>        // std::string
#include <string_view>   // std::string_view
#include <system_error>  // std::error_code
#include <utility>       // std::move
#include <vector>        // std::vector

#include <hiredis/hiredis.h>
#include <sys/time.h>  // timeval

STRATA_BEGIN_NAMESPACE

/// Where the HOT tier's server is and how the repository talks to it.
struct RedisOptions {
  std::string host = "127.0.0.1";   ///< the server's address; the scripts start one on 127.0.0.1
  int port = 6379;                  ///< the server's TCP port
  int db = 0;                       ///< SELECTed on connect; 0 sends nothing
  std::string password{};           ///< AUTH on connect; empty sends nothing. Never logged.
  std::string key_prefix{};         ///< prepended to every key (a namespace); stripped by scan
  Millis connect_timeout{1000};     ///< zero means the OS default
  Millis command_timeout{1000};     ///< per reply; zero means wait for ever
  PoolOptions pool{};               ///< connections kept and their limits (see PoolOptions)
  std::size_t chunk_size = 10'000;  ///< records per MULTI/EXEC, keys per MGET/UNLINK; 0 means 10000
  Clock clock{};                    ///< turns expiry times into PX; the system clock by default
};

namespace detail {

struct FreeRedisContext {
  void operator()(redisContext* c) const noexcept { redisFree(c); }
};
struct FreeRedisReply {
  void operator()(redisReply* r) const noexcept { freeReplyObject(r); }
};
using RedisReplyPtr = std::unique_ptr<redisReply, FreeRedisReply>;

inline timeval to_timeval(Millis ms) noexcept {
  timeval tv{};
  tv.tv_sec = static_cast<decltype(tv.tv_sec)>(ms.count() / 1000);
  tv.tv_usec = static_cast<decltype(tv.tv_usec)>((ms.count() % 1000) * 1000);
  return tv;
}

inline bool is_status(const redisReply* r, std::string_view text) noexcept {
  return r != nullptr && r->type == REDIS_REPLY_STATUS && std::string_view(r->str, r->len) == text;
}

/// Reads one reply; null when the connection failed.
inline RedisReplyPtr read_reply(redisContext* c) {
  void* raw = nullptr;
  if (redisGetReply(c, &raw) != REDIS_OK) return nullptr;
  return RedisReplyPtr(static_cast<redisReply*>(raw));
}

/// Sends one command and reads its reply; null when the connection failed.
inline RedisReplyPtr call(redisContext* c, const RespWriter& command) {
  if (redisAppendFormattedCommand(c, command.data(), command.size()) != REDIS_OK) return nullptr;
  return read_reply(c);
}

/// Writes everything appended so far to the socket.
inline bool flush(redisContext* c) {
  int done = 0;
  do {
    if (redisBufferWrite(c, &done) != REDIS_OK) return false;
  } while (done == 0);
  return true;
}

}  // namespace detail

/// The HOT tier on Redis through hiredis: per chunk one pipelined MULTI/EXEC, MGET and UNLINK;
/// expiry is Redis's own (PX). Models ScannableRepository.
class RedisRepository {
 public:
  /// True: each chunk of a batch is one MULTI/EXEC, all or none.
  static constexpr bool atomic_batches = true;

  /// A pooled connection.
  struct Connection {
    std::unique_ptr<redisContext, detail::FreeRedisContext> context;  ///< the hiredis connection
  };

  /// Connects lazily: construction never blocks on the network.
  explicit RedisRepository(RedisOptions options)
      : state_(std::make_unique<State>(std::move(options))) {}

  /// Writes each chunk of `chunk_size` records as one MULTI/EXEC (MSET for records without expiry,
  /// SET PX for the others), encoding the next chunk while the server applies the current one. A
  /// connection cut after a chunk was sent makes that chunk errc::outcome_unknown and the chunks
  /// after it errc::backend_unavailable.
  BatchResult store_many(std::span<const Record> records) {
    BatchResult result(records.size());
    if (records.empty()) return result;
    auto lease = state_->pool.acquire();
    if (!lease) {
      result.mark_all_failed(lease.error());
      return result;
    }
    redisContext* c = lease->context.get();
    const std::size_t chunk = state_->chunk();
    // Two encoded chunks: one on the wire, the next being encoded meanwhile.
    EncodedChunk sending, encoding;
    encode_chunk(records, 0, std::min(records.size(), chunk), sending);
    for (std::size_t first = 0; first < records.size(); first += chunk) {
      const std::size_t last = std::min(records.size(), first + chunk);
      if (redisAppendFormattedCommand(c, sending.resp.data(), sending.resp.size()) != REDIS_OK) {
        fail_from(result, first, errc::backend_unavailable);  // nothing of it was sent
        lease.discard();
        break;
      }
      if (!detail::flush(c)) {  // part of the chunk may have reached the server
        fail_range(result, first, last, errc::outcome_unknown);
        fail_from(result, last, errc::backend_unavailable);
        lease.discard();
        break;
      }
      // While the server applies this chunk, encode the next one. It is sent
      // only once this chunk's EXEC reply is in.
      if (last < records.size())
        encode_chunk(records, last, std::min(records.size(), last + chunk), encoding);
      if (read_chunk(c, sending, first, last, result) != ChunkOutcome::stored) {
        // The connection is unusable: this chunk's fate is recorded; later
        // chunks are not sent.
        fail_from(result, last, errc::backend_unavailable);
        lease.discard();
        break;
      }
      std::swap(sending, encoding);
    }
    return result;
  }

  /// Reads each chunk of keys with one MGET, pipelined.
  LoadResult load_many(std::span<const std::string_view> keys) {
    LoadResult result(keys.size());
    if (keys.empty()) return result;
    auto lease = state_->pool.acquire();
    if (!lease) {
      result.fail_all(lease.error());
      return result;
    }
    redisContext* c = lease->context.get();
    const std::size_t chunk = state_->chunk();
    std::size_t sent = 0;  // keys whose MGET went out
    for (std::size_t first = 0; first < keys.size(); first += chunk) {
      if (!append_key_command(c, "MGET", keys.subspan(first, std::min(chunk, keys.size() - first))))
        break;
      sent = std::min(keys.size(), first + chunk);
    }
    std::size_t done = 0;
    for (std::size_t first = 0; first < sent; first += chunk) {
      const std::size_t last = std::min(keys.size(), first + chunk);
      detail::RedisReplyPtr reply = detail::read_reply(c);
      if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != last - first) break;
      bool well_formed = true;
      for (std::size_t i = first; i < last; ++i) {
        const redisReply* e = reply->element[i - first];
        if (e->type == REDIS_REPLY_STRING)
          result.set_found(i, std::string(e->str, e->len));
        else if (e->type == REDIS_REPLY_NIL)
          result.set_absent(i);
        else
          well_formed = false;
      }
      if (!well_formed) break;
      done = last;
    }
    if (done == keys.size() && !fail_foreign_types(c, keys, result)) done = 0;
    if (done < keys.size()) {
      lease.discard();
      const std::error_code error = connection_error(c);
      for (std::size_t i = done; i < keys.size(); ++i) result.set_failed(i, error);
    }
    return result;
  }

  /// Deletes each chunk of keys with one UNLINK and counts what existed.
  EraseResult erase_many(std::span<const std::string_view> keys) {
    if (keys.empty()) return {};
    auto lease = state_->pool.acquire();
    if (!lease) return {0, lease.error()};
    redisContext* c = lease->context.get();
    const std::size_t chunk = state_->chunk();
    std::size_t chunks = 0;
    for (std::size_t first = 0; first < keys.size(); first += chunk, ++chunks)
      if (!append_key_command(c, "UNLINK",
                              keys.subspan(first, std::min(chunk, keys.size() - first))))
        break;
    EraseResult result;
    for (std::size_t k = 0; k < chunks; ++k) {
      detail::RedisReplyPtr reply = detail::read_reply(c);
      if (!reply || reply->type != REDIS_REPLY_INTEGER || reply->integer < 0) {
        lease.discard();
        result.error = connection_error(c);
        return result;
      }
      result.erased += static_cast<std::size_t>(reply->integer);
    }
    if (chunks * chunk < keys.size()) {
      lease.discard();
      result.error = connection_error(c);
    }
    return result;
  }

  /// One SCAN step (COUNT `limit`) and an MGET of at most `limit` of the keys
  /// it returned. Redis treats COUNT as a hint and may return more; the
  /// surplus is kept for the next page: the batch's keys are taken in key
  /// order, and the cursor "SCAN-CURSOR/LAST-KEY" names the batch and the last
  /// key handed out, so the next page runs the same SCAN step again and
  /// continues after that key. (A key that is not printable ASCII cannot
  /// follow the '/': strata keys are 0x21-0x7E, and the SCAN cursor is digits.)
  ScanPage scan(std::string_view prefix, std::string_view cursor, std::size_t limit) {
    ScanPage page;
    if (limit == 0) limit = 1;
    std::string_view step = cursor.empty() ? std::string_view("0") : cursor;
    std::string_view after;  // the last key a previous page of this step handed out
    if (const auto slash = step.find('/'); slash != std::string_view::npos) {
      after = step.substr(slash + 1);
      step = step.substr(0, slash);
    }
    auto lease = state_->pool.acquire();
    if (!lease) {
      page.error = lease.error();
      return page;
    }
    redisContext* c = lease->context.get();
    detail::RespWriter command;
    command.command(6);
    command.arg("SCAN");
    command.arg(step);
    command.arg("MATCH");
    command.arg(glob_escape(state_->prefixed(prefix)) + "*");
    command.arg("COUNT");
    command.arg(static_cast<std::int64_t>(limit));
    const detail::RedisReplyPtr reply = detail::call(c, command);
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
        reply->element[0]->type != REDIS_REPLY_STRING ||
        reply->element[1]->type != REDIS_REPLY_ARRAY) {
      lease.discard();
      page.error = connection_error(c);
      return page;
    }
    const std::string next(reply->element[0]->str, reply->element[0]->len);
    const redisReply* found = reply->element[1];
    std::vector<std::string> keys;
    for (std::size_t i = 0; i < found->elements; ++i) {
      const redisReply* k = found->element[i];
      if (k->type != REDIS_REPLY_STRING) continue;
      const std::string_view full(k->str, k->len);
      const std::string_view key = full.substr(state_->options.key_prefix.size());
      if (after.empty() || key > after) keys.emplace_back(key);
    }
    std::sort(keys.begin(), keys.end());
    const bool surplus = keys.size() > limit;
    if (surplus) keys.resize(limit);
    lease = {};  // load_many leases its own
    const std::vector<std::string_view> views(keys.begin(), keys.end());
    LoadResult loaded = load_many(views);
    if (surplus) {
      page.next_cursor = std::string(step) + "/" + keys.back();
    } else {
      page.done = next == "0";
      page.next_cursor = page.done ? std::string() : next;
    }
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (loaded[i].failed()) {
        page = ScanPage{};
        page.error = loaded[i].error;
        return page;
      }
      if (loaded[i].found())
        page.records.push_back({std::move(keys[i]), std::move(loaded[i].value)});
    }
    return page;
  }

  /// Sends PING on a pooled connection: whether the server answers.
  bool ping() {
    auto lease = state_->pool.acquire();
    if (!lease) return false;
    const bool ok = ping(*lease);
    if (!ok) lease.discard();
    return ok;
  }

  /// Opens a connection now, returning the error a call would meet (e.g.
  /// access_denied for a wrong password, backend_unavailable when down).
  std::error_code check_connection() {
    auto lease = state_->pool.acquire();
    return lease ? std::error_code{} : lease.error();
  }

  /// Connections open, idle and leased, and how often a lease waited or failed.
  PoolStats pool_stats() const { return state_->pool.stats(); }

  /// The options the repository was made with (a RedisBus for the same
  /// server and prefix starts from them).
  const RedisOptions& options() const noexcept { return state_->options; }

  /// Opens one connection as the pool does: connect, AUTH, then SELECT (or a
  /// PING) so that refused credentials show here as access_denied. Null on
  /// failure, with `error` saying why. RedisBus opens its subscription so.
  static std::unique_ptr<redisContext, detail::FreeRedisContext> open_connection(
      const RedisOptions& options, std::error_code& error) {
    redisContext* raw = options.connect_timeout.count() > 0
                            ? redisConnectWithTimeout(options.host.c_str(), options.port,
                                                      detail::to_timeval(options.connect_timeout))
                            : redisConnect(options.host.c_str(), options.port);
    std::unique_ptr<redisContext, detail::FreeRedisContext> conn(raw);
    if (raw == nullptr || raw->err != 0) {
      error = errc::backend_unavailable;
      return nullptr;
    }
    if (options.command_timeout.count() > 0 &&
        redisSetTimeout(raw, detail::to_timeval(options.command_timeout)) != REDIS_OK) {
      error = errc::backend_unavailable;
      return nullptr;
    }
    if (!options.password.empty()) {
      detail::RespWriter auth;
      auth.command(2);
      auth.arg("AUTH");
      auth.arg(options.password);
      const detail::RedisReplyPtr reply = detail::call(raw, auth);
      if (!detail::is_status(reply.get(), "OK")) {
        error = reply && reply->type == REDIS_REPLY_ERROR ? make_error_code(errc::access_denied)
                                                          : connection_error(raw);
        return nullptr;
      }
    }
    // A server that wants a password answers the first command without one
    // with NOAUTH: asked here (SELECT, or else a PING), so that refused
    // credentials are access_denied when the pool connects, not a broken
    // reply in the middle of a batch.
    detail::RespWriter first;
    if (options.db != 0) {
      first.command(2);
      first.arg("SELECT");
      first.arg(std::int64_t{options.db});
    } else if (options.password.empty()) {
      first.command(1);
      first.arg("PING");
    }
    if (first.size() != 0) {
      const detail::RedisReplyPtr reply = detail::call(raw, first);
      if (!detail::is_status(reply.get(), options.db != 0 ? "OK" : "PONG")) {
        error = State::refused(reply.get()) ? make_error_code(errc::access_denied)
                                            : make_error_code(errc::backend_unavailable);
        return nullptr;
      }
    }
    return conn;
  }

 private:
  enum class ChunkOutcome { stored, failed };

  /// One chunk of store_many, encoded: MULTI, its commands, EXEC.
  struct EncodedChunk {
    /// One MULTI/EXEC's command and the records it writes.
    struct Command {
      std::size_t first;  ///< the first record it writes (a position in the batch)
      std::size_t last;   ///< one past the last record it writes
    };
    detail::RespWriter resp;
    std::vector<Command> commands;  // between MULTI and EXEC, in order
  };

  /// MGET answers nil for a key that holds a hash, list or any other
  /// non-string type, just as for a missing key. Such a key is not strata's
  /// (someone else wrote it under strata's prefix), and reading it as absent
  /// would let the store fall through to a lower tier and cache past it, or a
  /// scan drop it without a word: it fails as corrupt_record instead. So the
  /// keys MGET found absent are counted with one EXISTS (one more round trip,
  /// only for a batch with misses); only if some exist is each one's TYPE
  /// asked. A key that became a string in between was absent when MGET read
  /// it, and stays absent. False when the connection failed: then no result
  /// of this batch is trusted.
  bool fail_foreign_types(redisContext* c, std::span<const std::string_view> keys,
                          LoadResult& result) const {
    std::vector<std::size_t> absent;
    for (std::size_t i = 0; i < keys.size(); ++i)
      if (result[i].absent()) absent.push_back(i);
    if (absent.empty()) return true;
    std::vector<std::string_view> absent_keys;
    absent_keys.reserve(absent.size());
    for (std::size_t i : absent) absent_keys.push_back(keys[i]);
    const std::size_t chunk = state_->chunk();
    std::size_t sent = 0;
    for (std::size_t first = 0; first < absent_keys.size(); first += chunk, ++sent)
      if (!append_key_command(
              c, "EXISTS",
              std::span(absent_keys).subspan(first, std::min(chunk, absent_keys.size() - first))))
        return false;
    long long existing = 0;
    for (std::size_t k = 0; k < sent; ++k) {
      const detail::RedisReplyPtr reply = detail::read_reply(c);
      if (!reply || reply->type != REDIS_REPLY_INTEGER) return false;
      existing += reply->integer;
    }
    if (existing == 0) return true;
    for (std::string_view key : absent_keys)
      if (!append_key_command(c, "TYPE", std::span(&key, 1))) return false;
    for (std::size_t i : absent) {
      const detail::RedisReplyPtr reply = detail::read_reply(c);
      if (!reply || reply->type != REDIS_REPLY_STATUS) return false;
      const std::string_view type(reply->str, reply->len);
      if (type != "none" && type != "string")
        result.set_failed(i, make_error_code(errc::corrupt_record));
    }
    return true;
  }

  /// `verb` followed by the namespaced keys, as one command.
  bool append_key_command(redisContext* c, std::string_view verb,
                          std::span<const std::string_view> keys) const {
    const std::string_view prefix = state_->options.key_prefix;
    std::size_t bytes = detail::RespWriter::arg_bytes(verb.size()) + 16;
    for (std::string_view key : keys)
      bytes += detail::RespWriter::arg_bytes(prefix.size() + key.size());
    detail::RespWriter command;
    command.reserve(bytes);
    command.command(keys.size() + 1);
    command.arg(verb);
    for (std::string_view key : keys) command.arg(prefix, key);
    return redisAppendFormattedCommand(c, command.data(), command.size()) == REDIS_OK;
  }

  static void fail_range(BatchResult& result, std::size_t first, std::size_t last, errc error) {
    for (std::size_t i = first; i < last; ++i) result.mark_failed(i, error);
  }
  static void fail_from(BatchResult& result, std::size_t first, errc error) {
    fail_range(result, first, result.size(), error);
  }

  static std::error_code connection_error(const redisContext* c) noexcept {
    if (c != nullptr && c->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK))
      return make_error_code(errc::timeout);
    return make_error_code(errc::backend_unavailable);
  }

  static bool ping(Connection& conn) {
    if (redisAppendCommand(conn.context.get(), "PING") != REDIS_OK) return false;
    const detail::RedisReplyPtr reply = detail::read_reply(conn.context.get());
    return detail::is_status(reply.get(), "PONG");
  }

  /// * ? [ ] \ are glob metacharacters in SCAN MATCH.
  static std::string glob_escape(std::string_view text) {
    std::string out;
    for (char ch : text) {
      if (ch == '*' || ch == '?' || ch == '[' || ch == ']' || ch == '\\') out.push_back('\\');
      out.push_back(ch);
    }
    return out;
  }

  /// Encodes records[first, last) as MULTI, commands in input order, EXEC:
  /// runs of records without expiry share an MSET, a record with expiry is
  /// SET ... PX, an already expired one is DEL (the write is a delete).
  void encode_chunk(std::span<const Record> records, std::size_t first, std::size_t last,
                    EncodedChunk& out) const {
    const std::string_view prefix = state_->options.key_prefix;
    const TimePoint now = state_->options.clock.now();
    out.resp.clear();
    out.commands.clear();
    std::size_t bytes = 64;
    for (std::size_t i = first; i < last; ++i)
      bytes += detail::RespWriter::arg_bytes(prefix.size() + records[i].key.size()) +
               detail::RespWriter::arg_bytes(records[i].envelope.size()) + 64;
    out.resp.reserve(bytes);

    out.resp.command(1);
    out.resp.arg("MULTI");
    for (std::size_t i = first; i < last;) {
      const std::size_t run = i;
      while (i < last && !records[i].expires_at) ++i;
      if (i > run) {
        out.resp.command(1 + 2 * (i - run));
        out.resp.arg("MSET");
        for (std::size_t r = run; r < i; ++r) {
          out.resp.arg(prefix, records[r].key);
          out.resp.arg(records[r].envelope);
        }
        out.commands.push_back({run, i});
        continue;
      }
      const auto ttl = *records[i].expires_at - now;
      if (ttl.count() <= 0) {
        out.resp.command(2);
        out.resp.arg("DEL");
        out.resp.arg(prefix, records[i].key);
      } else {
        out.resp.command(5);
        out.resp.arg("SET");
        out.resp.arg(prefix, records[i].key);
        out.resp.arg(records[i].envelope);
        out.resp.arg("PX");
        out.resp.arg(static_cast<std::int64_t>(ttl.count()));
      }
      out.commands.push_back({i, i + 1});
      ++i;
    }
    out.resp.command(1);
    out.resp.arg("EXEC");
  }

  /// Reads the replies of a sent chunk (records[first, last)) and marks their
  /// outcome in `result`; says whether the connection is still usable.
  static ChunkOutcome read_chunk(redisContext* c, const EncodedChunk& chunk, std::size_t first,
                                 std::size_t last, BatchResult& result) {
    // MULTI's +OK and one +QUEUED per command, then EXEC's array. Until EXEC's
    // reply is read, the chunk may or may not have been applied.
    bool well_formed = true;
    for (std::size_t k = 0; k < chunk.commands.size() + 1 && well_formed; ++k) {
      const detail::RedisReplyPtr reply = detail::read_reply(c);
      if (!reply) {
        fail_range(result, first, last, errc::outcome_unknown);
        return ChunkOutcome::failed;
      }
      well_formed = detail::is_status(reply.get(), k == 0 ? "OK" : "QUEUED");
    }
    const detail::RedisReplyPtr exec = detail::read_reply(c);
    if (!exec) {
      fail_range(result, first, last, errc::outcome_unknown);
      return ChunkOutcome::failed;
    }
    if (!well_formed || exec->type != REDIS_REPLY_ARRAY ||
        exec->elements != chunk.commands.size()) {
      // EXECABORT or a reply we do not understand: Redis discarded the
      // transaction (EXECABORT) or we cannot tell; both are unusable here.
      fail_range(
          result, first, last,
          exec->type == REDIS_REPLY_ERROR ? errc::backend_unavailable : errc::outcome_unknown);
      return ChunkOutcome::failed;
    }
    for (std::size_t k = 0; k < chunk.commands.size(); ++k) {
      const redisReply* r = exec->element[k];
      // A command that failed at run time (e.g. out of memory) fails its own
      // records; MULTI/EXEC does not roll the others back.
      const bool ok = detail::is_status(r, "OK") || r->type == REDIS_REPLY_INTEGER;
      for (std::size_t i = chunk.commands[k].first; i < chunk.commands[k].last; ++i) {
        if (ok)
          result.mark_stored(i);
        else
          result.mark_failed(i, errc::backend_unavailable);
      }
    }
    return ChunkOutcome::stored;
  }

  struct State {
    explicit State(RedisOptions opts)
        : options(std::move(opts)),
          pool(
              options.pool, [this](std::error_code& error) { return connect(error); },
              [](Connection& conn) { return ping(conn); }) {}

    std::size_t chunk() const noexcept {
      return options.chunk_size == 0 ? 10'000 : options.chunk_size;
    }

    std::string prefixed(std::string_view key) const {
      std::string out;
      out.reserve(options.key_prefix.size() + key.size());
      out.append(options.key_prefix).append(key);
      return out;
    }

    std::optional<Connection> connect(std::error_code& error) const {
      auto context = open_connection(options, error);
      if (!context) return std::nullopt;
      return Connection{std::move(context)};
    }

    /// Whether a reply is Redis refusing the connection's credentials.
    static bool refused(const redisReply* reply) noexcept {
      if (reply == nullptr || reply->type != REDIS_REPLY_ERROR) return false;
      const std::string_view message(reply->str, reply->len);
      return message.starts_with("NOAUTH") || message.starts_with("WRONGPASS");
    }

    RedisOptions options;
    ConnectionPool<Connection> pool;
  };

  std::unique_ptr<State> state_;
};

STRATA_END_NAMESPACE
