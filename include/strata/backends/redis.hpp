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
#include "strata/pool/socket_liveness.hpp"

#include <algorithm>     // std::min
#include <atomic>        // std::atomic
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
#include <hiredis/sds.h>  // sdslen, sdssetlen (inline): the connection's output buffer
#include <sys/socket.h>   // send, MSG_NOSIGNAL
#include <sys/time.h>     // timeval

STRATA_BEGIN_NAMESPACE

/// A Redis server's (or sentinel's) TCP address.
struct RedisEndpoint {
  std::string host = "127.0.0.1";  ///< an IP address or a host name
  int port = 6379;                 ///< the TCP port
};

/// Finding the master through Redis Sentinel instead of a fixed address.
struct RedisSentinelOptions {
  /// The sentinels asked, in order, for the master's address; empty: no
  /// Sentinel, the repository connects to RedisOptions::host and port.
  std::vector<RedisEndpoint> sentinels{};
  std::string master_name{};  ///< the name the sentinels monitor the master under
  std::string password{};     ///< the sentinels' own AUTH; empty sends nothing. Never logged.
};

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
  /// With sentinels named, every connection goes to the master they report
  /// (and is checked with ROLE); host and port are then not used.
  RedisSentinelOptions sentinel{};
  /// Zero: a chunk is stored once the master applied it. N > 0: once `WAIT N`
  /// also confirms that N replicas have it; fewer acknowledgements within
  /// `replica_ack_timeout` make the chunk errc::outcome_unknown (it is on the
  /// master, maybe not on a replica, so a failover may lose it).
  int min_replicas_acked = 0;
  Millis replica_ack_timeout{1000};  ///< WAIT's timeout; zero waits for ever (as WAIT does)
};

namespace detail {

/// Appends `WAIT min_replicas_acked replica_ack_timeout`: its reply counts the
/// replicas that have every write this connection made before it.
inline void append_wait(RespWriter& out, const RedisOptions& options) {
  out.command(3);
  out.arg("WAIT");
  out.arg(std::int64_t{options.min_replicas_acked});
  out.arg(static_cast<std::int64_t>(options.replica_ack_timeout.count()));
}

/// * ? [ ] \ are glob metacharacters in SCAN MATCH.
inline std::string glob_escape(std::string_view text) {
  std::string out;
  for (char ch : text) {
    if (ch == '*' || ch == '?' || ch == '[' || ch == ']' || ch == '\\') out.push_back('\\');
    out.push_back(ch);
  }
  return out;
}

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

/// Moves the values a scan step loaded for `keys` into `page`, the found ones
/// in key order. If any key failed, the page is that error alone: a scan
/// must not skip a key it could not read.
inline void fill_scan_page(ScanPage& page, std::vector<std::string>& keys, LoadResult& loaded) {
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (loaded[i].failed()) {
      page = ScanPage{};
      page.error = loaded[i].error;
      return;
    }
    if (loaded[i].found()) page.records.push_back({std::move(keys[i]), std::move(loaded[i].value)});
  }
}

/// Writes `size` bytes to the connection's socket. Not hiredis' own writer:
/// it calls write(), and writing to a connection the server has closed (a
/// killed master) raises SIGPIPE, which ends a process that does not ignore
/// it. send(MSG_NOSIGNAL) reports EPIPE instead, as an error like any other;
/// a send timeout is EAGAIN (connection_error reads errno).
inline bool send_all(redisContext* c, const char* bytes, std::size_t size) {
  if (c->err != 0) return false;
  std::size_t sent = 0;
  while (sent < size) {
    const ssize_t n = ::send(c->fd, bytes + sent, size - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      c->err = REDIS_ERR_IO;
      return false;
    }
  }
  return true;
}

/// Sends what hiredis' output buffer holds (see send_all) and empties it.
inline bool flush(redisContext* c) {
  if (!send_all(c, c->obuf, sdslen(c->obuf))) return false;
  sdssetlen(c->obuf, 0);  // as sdsclear does (which not every libhiredis exports)
  c->obuf[0] = '\0';
  return true;
}

/// Sends an encoded command (or pipeline) straight from `resp`, after
/// anything already in hiredis' output buffer: appending it there first
/// copied every byte of a batch once more (for 354 records of 100 bytes, a
/// third of store_many's instructions). The replies are read as usual.
inline bool send_formatted(redisContext* c, const RespWriter& resp) {
  return flush(c) && send_all(c, resp.data(), resp.size());
}

/// Reads one reply, first sending what is appended (hiredis would write it
/// itself, with write()); null when the connection failed.
inline RedisReplyPtr read_reply(redisContext* c) {
  if (sdslen(c->obuf) != 0 && !flush(c)) return nullptr;
  void* raw = nullptr;
  if (redisGetReply(c, &raw) != REDIS_OK) return nullptr;
  return RedisReplyPtr(static_cast<redisReply*>(raw));
}

/// Sends one command and reads its reply; null when the connection failed.
inline RedisReplyPtr call(redisContext* c, const RespWriter& command) {
  if (!send_formatted(c, command)) return nullptr;
  return read_reply(c);
}

/// One SCAN step's keys under `prefix`, without the namespace, in key order,
/// those up to `after` left out, at most `limit` of them.
struct ScanStep {
  std::vector<std::string> keys;  ///< the keys to load, sorted
  std::string next;               ///< SCAN's next cursor ("0": the scan is complete)
  bool surplus = false;           ///< the step found more than `limit` keys after `after`
};

/// Runs `SCAN step MATCH <namespace><prefix>* COUNT limit` on `c`; nullopt
/// when the connection failed or the reply is not SCAN's.
inline std::optional<ScanStep> scan_step(redisContext* c, std::string_view key_prefix,
                                         std::string_view prefix, std::string_view step,
                                         std::string_view after, std::size_t limit) {
  std::string pattern = glob_escape(key_prefix);
  pattern += glob_escape(prefix);
  pattern += '*';
  RespWriter command;
  command.command(6);
  command.arg("SCAN");
  command.arg(step);
  command.arg("MATCH");
  command.arg(pattern);
  command.arg("COUNT");
  command.arg(static_cast<std::int64_t>(limit));
  const RedisReplyPtr reply = call(c, command);
  if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
      reply->element[0]->type != REDIS_REPLY_STRING || reply->element[1]->type != REDIS_REPLY_ARRAY)
    return std::nullopt;
  ScanStep out;
  out.next.assign(reply->element[0]->str, reply->element[0]->len);
  const redisReply* found = reply->element[1];
  for (std::size_t i = 0; i < found->elements; ++i) {
    const redisReply* k = found->element[i];
    if (k->type != REDIS_REPLY_STRING || k->len < key_prefix.size()) continue;
    const std::string_view key = std::string_view(k->str, k->len).substr(key_prefix.size());
    if (after.empty() || key > after) out.keys.emplace_back(key);
  }
  std::sort(out.keys.begin(), out.keys.end());
  out.surplus = out.keys.size() > limit;
  if (out.surplus) out.keys.resize(limit);
  return out;
}

/// One write command of a batch and the records it writes: positions
/// [first, last) of the caller's sequence.
struct WriteCommand {
  std::size_t first;  ///< the first record it writes
  std::size_t last;   ///< one past the last record it writes
};

/// Appends the writes of the records at positions [first, last) (record_at
/// maps a position to its record), in order, so the last write of a key wins:
/// runs of records without expiry share an MSET of at most `max_keys` keys, a
/// record with expiry is SET ... PX, an already expired one is DEL (the write
/// is a delete). Each command and its records go to `commands`.
template <class RecordAt>
void encode_writes(RespWriter& out, std::vector<WriteCommand>& commands, std::size_t first,
                   std::size_t last, RecordAt record_at, std::string_view prefix, TimePoint now,
                   std::size_t max_keys) {
  std::size_t bytes = out.size() + 64;
  for (std::size_t i = first; i < last; ++i) {
    const Record& r = record_at(i);
    bytes += RespWriter::arg_bytes(prefix.size() + r.key.size()) +
             RespWriter::arg_bytes(r.envelope.size()) + 64;
  }
  out.reserve(bytes);
  for (std::size_t i = first; i < last;) {
    const std::size_t run = i;
    while (i < last && i - run < max_keys && !record_at(i).expires_at) ++i;
    if (i > run) {
      out.command(1 + 2 * (i - run));
      out.arg("MSET");
      for (std::size_t r = run; r < i; ++r) {
        out.arg(prefix, record_at(r).key);
        out.arg(record_at(r).envelope);
      }
      commands.push_back({run, i});
      continue;
    }
    const Record& r = record_at(i);
    const auto ttl = *r.expires_at - now;
    if (ttl.count() <= 0) {
      out.command(2);
      out.arg("DEL");
      out.arg(prefix, r.key);
    } else {
      out.command(5);
      out.arg("SET");
      out.arg(prefix, r.key);
      out.arg(r.envelope);
      out.arg("PX");
      out.arg(static_cast<std::int64_t>(ttl.count()));
    }
    commands.push_back({i, i + 1});
    ++i;
  }
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
    /// Which master it was opened to: with Sentinel, a connection from before
    /// the last rediscovery is closed instead of used.
    std::uint64_t generation = 0;
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
    auto lease = state_->lease();
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
      if (!detail::send_formatted(c, sending.resp)) {  // part of it may have reached the server
        fail_range(result, first, last, errc::outcome_unknown);
        fail_from(result, last, errc::backend_unavailable);
        state_->drop(lease);
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
        state_->drop(lease);
        break;
      }
      std::swap(sending, encoding);
    }
    return result;
  }

  /// Reads each chunk of keys with one MGET, pipelined.
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
    auto lease = state_->lease();
    if (!lease) {
      result.fail_all(lease.error());
      return;
    }
    redisContext* c = lease->context.get();
    const std::size_t chunk = state_->chunk();
    // Keys whose MGET went out: all or, when the connection failed, none.
    const std::size_t sent = send_key_commands(c, "MGET", keys, chunk) != 0 ? keys.size() : 0;
    std::size_t done = 0;
    for (std::size_t first = 0; first < sent; first += chunk) {
      const std::size_t last = std::min(keys.size(), first + chunk);
      detail::RedisReplyPtr reply = detail::read_reply(c);
      if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != last - first) break;
      bool well_formed = true;
      for (std::size_t i = first; i < last; ++i) {
        const redisReply* e = reply->element[i - first];
        if (e->type == REDIS_REPLY_STRING)
          result.set_found_copy(i, std::string_view(e->str, e->len));
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
      state_->drop(lease);
      const std::error_code error = connection_error(c);
      for (std::size_t i = done; i < keys.size(); ++i) result.set_failed(i, error);
    }
  }

  /// Deletes each chunk of keys with one UNLINK and counts what existed.
  EraseResult erase_many(std::span<const std::string_view> keys) {
    if (keys.empty()) return {};
    auto lease = state_->lease();
    if (!lease) return {0, lease.error()};
    redisContext* c = lease->context.get();
    const std::size_t chunk = state_->chunk();
    const std::size_t chunks = send_key_commands(c, "UNLINK", keys, chunk);
    EraseResult result;
    for (std::size_t k = 0; k < chunks; ++k) {
      detail::RedisReplyPtr reply = detail::read_reply(c);
      if (!reply || reply->type != REDIS_REPLY_INTEGER || reply->integer < 0) {
        state_->drop(lease);
        result.error = connection_error(c);
        return result;
      }
      result.erased += static_cast<std::size_t>(reply->integer);
    }
    if (chunks * chunk < keys.size()) {
      state_->drop(lease);
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
    auto lease = state_->lease();
    if (!lease) {
      page.error = lease.error();
      return page;
    }
    std::optional<detail::ScanStep> found = detail::scan_step(
        lease->context.get(), state_->options.key_prefix, prefix, step, after, limit);
    if (!found) {
      page.error = connection_error(lease->context.get());
      state_->drop(lease);
      return page;
    }
    std::vector<std::string>& keys = found->keys;
    const bool surplus = found->surplus;
    const std::string& next = found->next;
    lease = {};  // load_many leases its own
    const std::vector<std::string_view> views(keys.begin(), keys.end());
    LoadResult loaded = load_many(views);
    if (surplus) {
      page.next_cursor = std::string(step) + "/" + keys.back();
    } else {
      page.done = next == "0";
      page.next_cursor = page.done ? std::string() : next;
    }
    detail::fill_scan_page(page, keys, loaded);
    return page;
  }

  /// Sends PING on a pooled connection: whether the server answers.
  bool ping() {
    auto lease = state_->lease();
    if (!lease) return false;
    const bool ok = ping(*lease);
    if (!ok) state_->drop(lease);
    return ok;
  }

  /// Opens a connection now, returning the error a call would meet (e.g.
  /// access_denied for a wrong password, backend_unavailable when down).
  std::error_code check_connection() {
    auto lease = state_->lease();
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
  ///
  /// With sentinels named, the address is the master's as the first sentinel
  /// that answers reports it (SENTINEL get-master-addr-by-name), and the
  /// server must say ROLE master: during a failover a sentinel may still name
  /// the old master, now a replica, and writes there would be refused.
  static std::unique_ptr<redisContext, detail::FreeRedisContext> open_connection(
      const RedisOptions& options, std::error_code& error) {
    if (options.sentinel.sentinels.empty())
      return connect_to({options.host, options.port}, options, error);
    error = errc::backend_unavailable;
    for (const RedisEndpoint& sentinel : options.sentinel.sentinels) {
      const std::optional<RedisEndpoint> master = ask_sentinel(sentinel, options);
      if (!master) continue;
      auto conn = connect_to(*master, options, error);
      if (conn && is_master(conn.get())) return conn;
      if (conn) error = errc::backend_unavailable;
      if (error == errc::access_denied) return nullptr;
    }
    return nullptr;
  }

  /// Whether an idle pooled connection may be reused: a peek at its socket
  /// (no round trip: the kernel knows when the server closed it), and a PING
  /// only when bytes are pending on a connection that should be silent.
  /// RedisClusterRepository checks its nodes' connections so.
  static bool healthy(Connection& conn) {
    const redisContext* context = conn.context.get();
    if (context == nullptr || context->err != 0) return false;
    return detail::idle_connection_usable(context->fd, [&conn] { return ping(conn); });
  }

  /// Opens one connection to `at`: connect, AUTH, SELECT (or a PING), as
  /// open_connection describes. RedisClusterRepository opens its nodes so.
  static std::unique_ptr<redisContext, detail::FreeRedisContext> connect_to(
      const RedisEndpoint& at, const RedisOptions& options, std::error_code& error) {
    redisContext* raw = options.connect_timeout.count() > 0
                            ? redisConnectWithTimeout(at.host.c_str(), at.port,
                                                      detail::to_timeval(options.connect_timeout))
                            : redisConnect(at.host.c_str(), at.port);
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

  /// The master's address as `sentinel` reports it; nullopt when it cannot be
  /// reached or does not know the name.
  static std::optional<RedisEndpoint> ask_sentinel(const RedisEndpoint& sentinel,
                                                   const RedisOptions& options) {
    RedisOptions to_sentinel;
    to_sentinel.password = options.sentinel.password;
    to_sentinel.connect_timeout = options.connect_timeout;
    to_sentinel.command_timeout = options.command_timeout;
    std::error_code ignored;
    const auto conn = connect_to(sentinel, to_sentinel, ignored);
    if (!conn) return std::nullopt;
    detail::RespWriter ask;
    ask.command(3);
    ask.arg("SENTINEL");
    ask.arg("get-master-addr-by-name");
    ask.arg(options.sentinel.master_name);
    const detail::RedisReplyPtr reply = detail::call(conn.get(), ask);
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
        reply->element[0]->type != REDIS_REPLY_STRING ||
        reply->element[1]->type != REDIS_REPLY_STRING)
      return std::nullopt;
    RedisEndpoint master;
    master.host.assign(reply->element[0]->str, reply->element[0]->len);
    const std::string_view port(reply->element[1]->str, reply->element[1]->len);
    master.port = 0;
    for (char ch : port) {
      if (ch < '0' || ch > '9' || master.port > 65535) return std::nullopt;
      master.port = master.port * 10 + (ch - '0');
    }
    if (master.port == 0 || master.port > 65535) return std::nullopt;
    return master;
  }

  /// Whether the server answers ROLE with "master".
  static bool is_master(redisContext* c) {
    detail::RespWriter role;
    role.command(1);
    role.arg("ROLE");
    const detail::RedisReplyPtr reply = detail::call(c, role);
    return reply && reply->type == REDIS_REPLY_ARRAY && reply->elements > 0 &&
           reply->element[0]->type == REDIS_REPLY_STRING &&
           std::string_view(reply->element[0]->str, reply->element[0]->len) == "master";
  }

  /// One chunk of store_many, encoded: MULTI, its commands, EXEC.
  struct EncodedChunk {
    detail::RespWriter resp;
    std::vector<detail::WriteCommand> commands;  // between MULTI and EXEC, in order
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
    const std::size_t commands = send_key_commands(c, "EXISTS", absent_keys, chunk);
    if (commands == 0) return false;
    long long existing = 0;
    for (std::size_t k = 0; k < commands; ++k) {
      const detail::RedisReplyPtr reply = detail::read_reply(c);
      if (!reply || reply->type != REDIS_REPLY_INTEGER) return false;
      existing += reply->integer;
    }
    if (existing == 0) return true;
    if (send_key_commands(c, "TYPE", absent_keys, 1) == 0) return false;
    for (std::size_t i : absent) {
      const detail::RedisReplyPtr reply = detail::read_reply(c);
      if (!reply || reply->type != REDIS_REPLY_STATUS) return false;
      const std::string_view type(reply->str, reply->len);
      if (type != "none" && type != "string")
        result.set_failed(i, make_error_code(errc::corrupt_record));
    }
    return true;
  }

  /// Sends `verb` followed by the namespaced keys, one command per `chunk`
  /// keys, encoded into one buffer and sent from it, as store_many's writes
  /// are (appending each command to hiredis' buffer first copied every key
  /// once more). Returns how many commands went out: all of them, or 0 when
  /// the connection failed (then none of their replies is trusted).
  std::size_t send_key_commands(redisContext* c, std::string_view verb,
                                std::span<const std::string_view> keys, std::size_t chunk) const {
    const std::string_view prefix = state_->options.key_prefix;
    const std::size_t commands = (keys.size() + chunk - 1) / chunk;
    std::size_t bytes = commands * (detail::RespWriter::arg_bytes(verb.size()) + 16);
    for (std::string_view key : keys)
      bytes += detail::RespWriter::arg_bytes(prefix.size() + key.size());
    detail::RespWriter resp;
    resp.reserve(bytes);
    for (std::size_t first = 0; first < keys.size(); first += chunk) {
      const std::size_t last = std::min(keys.size(), first + chunk);
      resp.command(last - first + 1);
      resp.arg(verb);
      for (std::size_t i = first; i < last; ++i) resp.arg(prefix, keys[i]);
    }
    return detail::send_formatted(c, resp) ? commands : 0;
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

  /// Encodes records[first, last) as MULTI, the writes (encode_writes), EXEC.
  void encode_chunk(std::span<const Record> records, std::size_t first, std::size_t last,
                    EncodedChunk& out) const {
    out.resp.clear();
    out.commands.clear();
    out.resp.command(1);
    out.resp.arg("MULTI");
    detail::encode_writes(
        out.resp, out.commands, first, last,
        [records](std::size_t i) -> const Record& { return records[i]; },
        state_->options.key_prefix, state_->options.clock.now(), last - first);
    out.resp.command(1);
    out.resp.arg("EXEC");
    if (state_->options.min_replicas_acked > 0) detail::append_wait(out.resp, state_->options);
  }

  /// Reads the replies of a sent chunk (records[first, last)) and marks their
  /// outcome in `result`; says whether the connection is still usable.
  ChunkOutcome read_chunk(redisContext* c, const EncodedChunk& chunk, std::size_t first,
                          std::size_t last, BatchResult& result) const {
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
    if (state_->options.min_replicas_acked > 0) {
      const detail::RedisReplyPtr acked = detail::read_reply(c);
      if (!acked || acked->type != REDIS_REPLY_INTEGER) {
        downgrade_stored(result, first, last);
        return ChunkOutcome::failed;
      }
      if (acked->integer < state_->options.min_replicas_acked)
        downgrade_stored(result, first, last);
    }
    return ChunkOutcome::stored;
  }

  /// Records the master applied but too few replicas confirmed: a failover
  /// may lose them, so they are outcome_unknown, not stored.
  static void downgrade_stored(BatchResult& result, std::size_t first, std::size_t last) {
    for (std::size_t i = first; i < last; ++i)
      if (result.stored(i)) result.mark_failed(i, errc::outcome_unknown);
  }

  struct State {
    explicit State(RedisOptions opts)
        : options(std::move(opts)),
          pool(
              options.pool, [this](std::error_code& error) { return connect(error); },
              [](Connection& conn) { return healthy(conn); }) {}

    std::size_t chunk() const noexcept {
      return options.chunk_size == 0 ? 10'000 : options.chunk_size;
    }

    std::optional<Connection> connect(std::error_code& error) const {
      const std::uint64_t opened_for = generation.load();
      auto context = open_connection(options, error);
      if (!context) return std::nullopt;
      return Connection{std::move(context), opened_for};
    }

    using Lease = ConnectionPool<Connection>::Lease;

    /// A pooled connection opened since the last rediscovery of the master.
    Lease lease() {
      for (;;) {
        Lease leased = pool.acquire();
        if (!leased || leased->generation == generation.load()) return leased;
        leased.discard();  // opened to the master before a failover
      }
    }

    /// Closes a connection that saw an error. With Sentinel, the error may be
    /// a failover (the master gone, or demoted: READONLY): every pooled
    /// connection is then opened again through the sentinels.
    void drop(Lease& leased) {
      leased.discard();
      if (!options.sentinel.sentinels.empty()) ++generation;
    }

    /// Whether a reply is Redis refusing the connection's credentials.
    static bool refused(const redisReply* reply) noexcept {
      if (reply == nullptr || reply->type != REDIS_REPLY_ERROR) return false;
      const std::string_view message(reply->str, reply->len);
      return message.starts_with("NOAUTH") || message.starts_with("WRONGPASS");
    }

    RedisOptions options;
    std::atomic<std::uint64_t> generation{0};  // rediscoveries of the master so far
    ConnectionPool<Connection> pool;
  };

  std::unique_ptr<State> state_;
};

STRATA_END_NAMESPACE
