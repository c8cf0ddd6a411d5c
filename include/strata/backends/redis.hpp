#pragma once
/// \file
/// RedisRepository: the HOT tier over hiredis (CMake component strata::redis).
///
/// - store_many: per chunk of at most `chunk_size` records, one pipelined
///   MULTI ... EXEC, so each chunk is applied all-or-none. Inside it, runs of
///   records without expiry go in one MSET (2-2.6x faster than as many SETs),
///   a record with expiry is `SET key envelope PX ttl`, and an already
///   expired record is a DEL; input order is kept, so the last write of a key
///   wins. Chunks are sent one after another.
/// - load_many: one MGET per chunk, all chunks in one pipeline.
/// - erase_many: one variadic UNLINK per chunk, pipelined; the count is what
///   Redis reports (an expired key is already gone there).
/// - scan: SCAN with MATCH <prefix>* and Redis' own cursor, then MGET of the
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

struct RedisOptions {
  std::string host = "127.0.0.1";
  int port = 6379;
  int db = 0;                    ///< SELECTed on connect; 0 sends nothing
  std::string password{};        ///< AUTH on connect; empty sends nothing. Never logged.
  std::string key_prefix{};      ///< prepended to every key (a namespace); stripped by scan
  Millis connect_timeout{1000};  ///< zero means the OS default
  Millis command_timeout{1000};  ///< per reply; zero means wait for ever
  PoolOptions pool{};
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

/// Builds one command's argument vectors (binary-safe: pointers and lengths).
/// Arguments built here (prefixed keys, numbers) go into one buffer, so a
/// 10k-key command costs a few allocations, not two per key.
class RedisCommand {
 public:
  void arg(std::string_view a) { args_.push_back({a.data(), a.size(), npos}); }
  /// Copies `a` into the command's own buffer.
  void owned(std::string_view a) {
    args_.push_back({nullptr, a.size(), buffer_.size()});
    buffer_.append(a);
  }
  /// Copies `prefix` + `a` into the command's own buffer.
  void owned(std::string_view prefix, std::string_view a) {
    args_.push_back({nullptr, prefix.size() + a.size(), buffer_.size()});
    buffer_.append(prefix).append(a);
  }
  void reserve(std::size_t args, std::size_t owned_bytes) {
    args_.reserve(args);
    buffer_.reserve(owned_bytes);
  }
  int append_to(redisContext* c) const {
    // Pointers into buffer_ are taken only now: it may have grown meanwhile.
    argv_.resize(args_.size());
    lens_.resize(args_.size());
    for (std::size_t i = 0; i < args_.size(); ++i) {
      argv_[i] = args_[i].offset == npos ? args_[i].data : buffer_.data() + args_[i].offset;
      lens_[i] = args_[i].size;
    }
    // hiredis 0.14 declares argv non-const but only reads it.
    return redisAppendCommandArgv(c, static_cast<int>(argv_.size()), argv_.data(), lens_.data());
  }
  void clear() noexcept {
    args_.clear();
    buffer_.clear();
  }

 private:
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);
  struct Arg {
    const char* data;  // borrowed bytes, when offset == npos
    std::size_t size;
    std::size_t offset;  // into buffer_ otherwise
  };
  std::vector<Arg> args_;
  std::string buffer_;
  mutable std::vector<const char*> argv_;
  mutable std::vector<std::size_t> lens_;
};

}  // namespace detail

class RedisRepository {
 public:
  static constexpr bool atomic_batches = true;

  /// A pooled connection.
  struct Connection {
    std::unique_ptr<redisContext, detail::FreeRedisContext> context;
  };

  /// Connects lazily: construction never blocks on the network.
  explicit RedisRepository(RedisOptions options)
      : state_(std::make_unique<State>(std::move(options))) {}

  BatchResult store_many(std::span<const Record> records) {
    BatchResult result(records.size());
    if (records.empty()) return result;
    auto lease = state_->pool.acquire();
    if (!lease) {
      result.mark_all_failed(lease.error());
      return result;
    }
    const std::size_t chunk = state_->chunk();
    for (std::size_t first = 0; first < records.size(); first += chunk) {
      const std::size_t last = std::min(records.size(), first + chunk);
      const ChunkOutcome outcome = store_chunk(lease->context.get(), records, first, last, result);
      if (outcome == ChunkOutcome::stored) continue;
      // The connection is unusable: this chunk's fate is recorded; later
      // chunks are not sent.
      lease.discard();
      for (std::size_t i = last; i < records.size(); ++i)
        result.mark_failed(i, errc::backend_unavailable);
      break;
    }
    return result;
  }

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
      detail::RedisCommand mget;
      reserve_for_keys(mget, keys.subspan(first, std::min(chunk, keys.size() - first)));
      mget.arg("MGET");
      for (std::size_t i = first; i < std::min(keys.size(), first + chunk); ++i)
        mget.owned(state_->options.key_prefix, keys[i]);
      if (mget.append_to(c) != REDIS_OK) break;
      sent = std::min(keys.size(), first + chunk);
    }
    std::size_t done = 0;
    for (std::size_t first = 0; first < sent; first += chunk) {
      const std::size_t last = std::min(keys.size(), first + chunk);
      detail::RedisReplyPtr reply = read_reply(c);
      if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != last - first) break;
      bool well_formed = true;
      for (std::size_t i = first; i < last; ++i) {
        const redisReply* e = reply->element[i - first];
        if (e->type == REDIS_REPLY_STRING)
          result.set_found(i, std::string(e->str, e->len));
        else if (e->type != REDIS_REPLY_NIL)
          well_formed = false;
      }
      if (!well_formed) break;
      done = last;
    }
    if (done < keys.size()) {
      lease.discard();
      const std::error_code error = connection_error(c);
      for (std::size_t i = done; i < keys.size(); ++i) result.set_failed(i, error);
    }
    return result;
  }

  EraseResult erase_many(std::span<const std::string_view> keys) {
    if (keys.empty()) return {};
    auto lease = state_->pool.acquire();
    if (!lease) return {0, lease.error()};
    redisContext* c = lease->context.get();
    const std::size_t chunk = state_->chunk();
    std::size_t chunks = 0;
    for (std::size_t first = 0; first < keys.size(); first += chunk, ++chunks) {
      detail::RedisCommand unlink;
      reserve_for_keys(unlink, keys.subspan(first, std::min(chunk, keys.size() - first)));
      unlink.arg("UNLINK");
      for (std::size_t i = first; i < std::min(keys.size(), first + chunk); ++i)
        unlink.owned(state_->options.key_prefix, keys[i]);
      if (unlink.append_to(c) != REDIS_OK) break;
    }
    EraseResult result;
    for (std::size_t k = 0; k < chunks; ++k) {
      detail::RedisReplyPtr reply = read_reply(c);
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

  /// One SCAN step (COUNT `limit`) and an MGET of the keys it returned.
  ScanPage scan(std::string_view prefix, std::string_view cursor, std::size_t limit) {
    ScanPage page;
    auto lease = state_->pool.acquire();
    if (!lease) {
      page.error = lease.error();
      return page;
    }
    redisContext* c = lease->context.get();
    detail::RedisCommand command;
    command.arg("SCAN");
    command.owned(cursor.empty() ? std::string("0") : std::string(cursor));
    command.arg("MATCH");
    command.owned(glob_escape(state_->prefixed(prefix)) + "*");
    command.arg("COUNT");
    command.owned(std::to_string(limit == 0 ? 1 : limit));
    detail::RedisReplyPtr reply;
    if (command.append_to(c) == REDIS_OK) reply = read_reply(c);
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
      keys.emplace_back(full.substr(state_->options.key_prefix.size()));
    }
    lease = {};  // load_many leases its own
    const std::vector<std::string_view> views(keys.begin(), keys.end());
    LoadResult loaded = load_many(views);
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (loaded[i].failed()) {
        page = ScanPage{};
        page.error = loaded[i].error;
        return page;
      }
      if (loaded[i].found())
        page.records.push_back({std::move(keys[i]), std::move(loaded[i].value)});
    }
    page.done = next == "0";
    page.next_cursor = page.done ? std::string() : next;
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

  PoolStats pool_stats() const { return state_->pool.stats(); }

 private:
  enum class ChunkOutcome { stored, failed };

  void reserve_for_keys(detail::RedisCommand& command,
                        std::span<const std::string_view> keys) const {
    std::size_t bytes = keys.size() * state_->options.key_prefix.size();
    for (std::string_view key : keys) bytes += key.size();
    command.reserve(keys.size() + 1, bytes);
  }

  static std::error_code connection_error(const redisContext* c) noexcept {
    if (c != nullptr && c->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK))
      return make_error_code(errc::timeout);
    return make_error_code(errc::backend_unavailable);
  }

  static detail::RedisReplyPtr read_reply(redisContext* c) {
    void* raw = nullptr;
    if (redisGetReply(c, &raw) != REDIS_OK) return nullptr;
    return detail::RedisReplyPtr(static_cast<redisReply*>(raw));
  }

  static bool ping(Connection& conn) {
    if (redisAppendCommand(conn.context.get(), "PING") != REDIS_OK) return false;
    const detail::RedisReplyPtr reply = read_reply(conn.context.get());
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

  /// One MULTI/EXEC for records[first, last). Marks their outcome in `result`
  /// and says whether the connection is still usable.
  ChunkOutcome store_chunk(redisContext* c, std::span<const Record> records, std::size_t first,
                           std::size_t last, BatchResult& result) {
    const TimePoint now = state_->options.clock.now();
    // Commands in input order: runs of records without expiry share an MSET.
    struct Queued {
      std::size_t first, last;  // the records it writes
    };
    std::vector<Queued> queued;
    const auto fail_chunk = [&](std::error_code error) {
      for (std::size_t i = first; i < last; ++i) result.mark_failed(i, error);
    };
    // hiredis only buffers appended commands; nothing reaches the socket until
    // the first reply is read, so a failed append means "not applied".
    static const char* multi_argv[] = {"MULTI"};  // non-const: hiredis 0.14's signature
    static const char* exec_argv[] = {"EXEC"};
    static const std::size_t multi_len[] = {5}, exec_len[] = {4};
    bool appended = redisAppendCommandArgv(c, 1, multi_argv, multi_len) == REDIS_OK;
    detail::RedisCommand command;  // reused: its buffers keep their capacity
    for (std::size_t i = first; i < last && appended;) {
      command.clear();
      if (!records[i].expires_at) {
        command.arg("MSET");
        const std::size_t run = i;
        for (; i < last && !records[i].expires_at; ++i) {
          command.owned(state_->options.key_prefix, records[i].key);
          command.arg(records[i].envelope);
        }
        queued.push_back({run, i});
      } else {
        const auto ttl = *records[i].expires_at - now;
        if (ttl.count() <= 0) {  // already expired: the write is a delete
          command.arg("DEL");
          command.owned(state_->options.key_prefix, records[i].key);
        } else {
          command.arg("SET");
          command.owned(state_->options.key_prefix, records[i].key);
          command.arg(records[i].envelope);
          command.arg("PX");
          command.owned(std::to_string(ttl.count()));
        }
        queued.push_back({i, i + 1});
        ++i;
      }
      appended = command.append_to(c) == REDIS_OK;
    }
    appended = appended && redisAppendCommandArgv(c, 1, exec_argv, exec_len) == REDIS_OK;
    if (!appended) {
      fail_chunk(make_error_code(errc::backend_unavailable));
      return ChunkOutcome::failed;
    }

    // MULTI's +OK and one +QUEUED per command, then EXEC's array. Until EXEC's
    // reply is read, the chunk may or may not have been applied.
    bool well_formed = true;
    for (std::size_t k = 0; k < queued.size() + 1 && well_formed; ++k) {
      const detail::RedisReplyPtr reply = read_reply(c);
      if (!reply) {
        fail_chunk(make_error_code(errc::outcome_unknown));
        return ChunkOutcome::failed;
      }
      well_formed = detail::is_status(reply.get(), k == 0 ? "OK" : "QUEUED");
    }
    const detail::RedisReplyPtr exec = read_reply(c);
    if (!exec) {
      fail_chunk(make_error_code(errc::outcome_unknown));
      return ChunkOutcome::failed;
    }
    if (!well_formed || exec->type != REDIS_REPLY_ARRAY || exec->elements != queued.size()) {
      // EXECABORT or a reply we do not understand: Redis discarded the
      // transaction (EXECABORT) or we cannot tell; both are unusable here.
      fail_chunk(exec->type == REDIS_REPLY_ERROR ? make_error_code(errc::backend_unavailable)
                                                 : make_error_code(errc::outcome_unknown));
      return ChunkOutcome::failed;
    }
    for (std::size_t k = 0; k < queued.size(); ++k) {
      const redisReply* r = exec->element[k];
      // A command that failed at run time (e.g. out of memory) fails its own
      // records; MULTI/EXEC does not roll the others back.
      const bool ok = detail::is_status(r, "OK") || r->type == REDIS_REPLY_INTEGER;
      for (std::size_t i = queued[k].first; i < queued[k].last; ++i) {
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
      redisContext* raw = options.connect_timeout.count() > 0
                              ? redisConnectWithTimeout(options.host.c_str(), options.port,
                                                        detail::to_timeval(options.connect_timeout))
                              : redisConnect(options.host.c_str(), options.port);
      Connection conn{std::unique_ptr<redisContext, detail::FreeRedisContext>(raw)};
      if (raw == nullptr || raw->err != 0) {
        error = errc::backend_unavailable;
        return std::nullopt;
      }
      if (options.command_timeout.count() > 0 &&
          redisSetTimeout(raw, detail::to_timeval(options.command_timeout)) != REDIS_OK) {
        error = errc::backend_unavailable;
        return std::nullopt;
      }
      if (!options.password.empty()) {
        detail::RedisCommand auth;
        auth.arg("AUTH");
        auth.arg(options.password);
        detail::RedisReplyPtr reply;
        if (auth.append_to(raw) == REDIS_OK) reply = read_reply(raw);
        if (!detail::is_status(reply.get(), "OK")) {
          error = reply && reply->type == REDIS_REPLY_ERROR ? make_error_code(errc::access_denied)
                                                            : connection_error(raw);
          return std::nullopt;
        }
      }
      if (options.db != 0) {
        detail::RedisCommand select;
        select.arg("SELECT");
        select.owned(std::to_string(options.db));
        detail::RedisReplyPtr reply;
        if (select.append_to(raw) == REDIS_OK) reply = read_reply(raw);
        if (!detail::is_status(reply.get(), "OK")) {
          error = errc::backend_unavailable;
          return std::nullopt;
        }
      }
      return conn;
    }

    RedisOptions options;
    ConnectionPool<Connection> pool;
  };

  std::unique_ptr<State> state_;
};

STRATA_END_NAMESPACE
