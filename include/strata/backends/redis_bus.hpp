#pragma once
/// \file
/// RedisBus: invalidations between processes through Redis (component
/// strata::redis; ADR 15). Models InvalidationBus.
///
/// One dedicated connection per bus, on its own thread:
///
///     CLIENT ID                                   -> n
///     CLIENT TRACKING on REDIRECT n BCAST PREFIX <key_prefix>
///     SUBSCRIBE __redis__:invalidate <channel>
///
/// Server-assisted tracking (RESP2, so Debian's hiredis 0.14 will do) makes
/// Redis itself send the name of every key under the prefix that any client
/// writes, deletes, or that expires or is evicted, the moment it changes,
/// even if the writer dies right after. That covers the tiers whose keys live
/// in this Redis (`server_tracked`, HOT by default). Keys of the other tiers
/// (PostgreSQL, S3, ...) are announced by the writing store: queued after its
/// write returned and PUBLISHed on `channel` by the bus's publisher thread (a
/// bus ignores its own). A writer that dies between the two
/// never announces, so values read from those tiers stay in a cache at most
/// `max_staleness` (staleness_bound).
///
/// The subscription answers a PING every `heartbeat`; a connection that
/// fails, closes or stops answering is a gap (the store clears its cache and
/// fills nothing) until a new subscription is up, retried with backoff.
/// Tracking lives and dies with the subscribing connection, so no
/// invalidation can be lost without the gap that says so.

#include "strata/backends/redis.hpp"
#include "strata/core/clock.hpp"
#include "strata/core/config.hpp"
#include "strata/core/entropy.hpp"
#include "strata/core/invalidation_bus.hpp"
#include "strata/core/tier.hpp"

#include <algorithm>           // std::min
#include <array>               // std::array
#include <atomic>              // std::atomic
#include <chrono>              // std::chrono::steady_clock
#include <condition_variable>  // std::condition_variable
#include <cstdint>             // std::uint64_t
#include <functional>          // std::function
#include <memory>              // std::unique_ptr
#include <mutex>               // std::mutex
#include <optional>            // std::optional
#include <span>                // std::span
#include <string>              // std::string
#include <string_view>         // std::string_view
#include <thread>              // std::thread
#include <utility>             // std::move
#include <vector>              // std::vector

#include <hiredis/hiredis.h>
#include <poll.h>  // poll

STRATA_BEGIN_NAMESPACE

/// Where the bus's Redis is and what it covers.
struct RedisBusOptions {
  /// The server, credentials and key_prefix: those of the HOT tier's
  /// RedisRepository, so that tracking covers exactly its keys.
  RedisOptions server{};
  /// Tiers whose keys live in this Redis: Redis announces their changes.
  /// The store announces the others' keys itself.
  std::array<bool, tier_count> server_tracked{true, false, false};
  /// Where stores announce keys; empty: "strata:invalidate:" + key_prefix.
  std::string channel{};
  /// How long a value from a tier that is announced, not tracked, may stay
  /// cached: the bound on staleness when a writer dies before announcing.
  Millis max_staleness{5000};
  /// A PING on the subscription this often; no answer within it is a gap.
  Millis heartbeat{500};
  /// How long attach (so the store's constructor) waits for the first
  /// subscription; the cache is bypassed until it is up, whatever this is.
  Millis attach_wait{0};
  Millis reconnect_min{25};    ///< first wait before subscribing again after a gap
  Millis reconnect_max{2000};  ///< the wait doubles up to this
  /// Called on the bus's thread after the store dropped keys another
  /// process changed (metrics, benchmarks); may be empty.
  std::function<void(std::span<const std::string_view> keys)> on_invalidated{};
};

/// What a RedisBus has seen.
struct RedisBusStats {
  std::uint64_t invalidations = 0;      ///< keys delivered to the store
  std::uint64_t gaps = 0;               ///< subscriptions lost (the first start not counted)
  std::uint64_t subscriptions = 0;      ///< subscriptions made, the first included
  std::uint64_t announce_failures = 0;  ///< PUBLISHes that failed (bounded by max_staleness)
  bool subscribed = false;              ///< whether delivery is vouched for now
};

/// Invalidations through Redis: server-assisted tracking for the keys it
/// holds, PUBLISH for the others (see the file's description).
class RedisBus {
 public:
  /// True: TieredStore announces and listens.
  static constexpr bool enabled = true;

  /// Connects nothing yet: the subscription starts when a store attaches.
  explicit RedisBus(RedisBusOptions options = {})
      : state_(std::make_unique<State>(std::move(options))) {}
  RedisBus(RedisBus&&) noexcept = default;             ///< moves the handle
  RedisBus& operator=(RedisBus&&) noexcept = default;  ///< moves the handle
  /// Stops the subscription thread (at most a connect timeout later).
  ~RedisBus() {
    if (state_) state_->stop();
  }

  /// Starts the subscription thread, delivering to `sink`; waits up to
  /// attach_wait for the first subscription.
  void attach(BusSink sink) {
    state_->start(std::move(sink));
    if (state_->options.attach_wait > Millis{0}) wait_until_subscribed(state_->options.attach_wait);
  }

  /// Announces keys the store changed in `tier`: nothing for a tier Redis
  /// tracks itself, else the keys are queued for the bus's publisher thread,
  /// which PUBLISHes them newline-separated (strata keys hold no newline),
  /// what is queued meanwhile in one message: the write does not wait for
  /// the round trip. A failed PUBLISH is counted; max_staleness bounds it.
  void announce(Tier tier, std::span<const std::string_view> keys) {
    if (keys.empty() || state_->options.server_tracked[index_of(tier)]) return;
    state_->enqueue(keys);
  }

  /// nullopt for a tier Redis tracks (every change is delivered), else
  /// max_staleness.
  std::optional<Millis> staleness_bound(Tier tier) const {
    if (state_->options.server_tracked[index_of(tier)]) return std::nullopt;
    return state_->options.max_staleness;
  }

  /// What the bus has seen so far.
  RedisBusStats stats() const {
    return {state_->invalidations.load(), state_->gaps.load(), state_->subscriptions.load(),
            state_->announce_failures.load(), state_->subscribed.load()};
  }

  /// Waits until delivery is vouched for (a subscription is up); false when
  /// `timeout` passed first. For tests and for a service's readiness check.
  bool wait_until_subscribed(Millis timeout) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!state_->subscribed.load()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return true;
  }

 private:
  using Context = std::unique_ptr<redisContext, detail::FreeRedisContext>;
  using SteadyClock = std::chrono::steady_clock;

  struct State {
    explicit State(RedisBusOptions opts) : options(std::move(opts)) {
      if (options.channel.empty())
        options.channel = "strata:invalidate:" + options.server.key_prefix;
      sender = std::to_string(detail::entropy64());
    }

    void start(BusSink s) {
      sink = std::move(s);
      thread = std::thread([this] { run(); });
      publisher_thread = std::thread([this] { publish_queued(); });
    }

    void stop() {
      stopping = true;
      queued_cv.notify_one();
      if (thread.joinable()) thread.join();
      if (publisher_thread.joinable()) publisher_thread.join();
    }

    // ---- announcing --------------------------------------------------------

    /// On the store's thread: queues the keys for the publisher thread, so a
    /// write never waits for the PUBLISH round trip; announcements queued
    /// meanwhile go out as one message.
    void enqueue(std::span<const std::string_view> keys) {
      {
        std::lock_guard lock(queued_mutex);
        for (const std::string_view key : keys) queued.append("\n").append(key);
      }
      queued_cv.notify_one();
    }

    /// The publisher thread: sends what is queued until the bus stops (and
    /// what was queued before it stopped).
    void publish_queued() {
      std::string keys;
      for (;;) {
        {
          std::unique_lock lock(queued_mutex);
          queued_cv.wait(lock, [&] { return stopping || !queued.empty(); });
          if (queued.empty()) return;  // stopping, nothing left
          keys.swap(queued);
          queued.clear();
        }
        publish(keys);
      }
    }

    /// One PUBLISH of "SENDER\nkey\nkey..." (`keys` starts with '\n'): a
    /// bus skips its own announcements (its store settled its cache for them).
    void publish(std::string_view keys) {
      std::string payload;
      payload.reserve(sender.size() + keys.size());
      payload.append(sender).append(keys);
      detail::RespWriter command;
      command.command(3);
      command.arg("PUBLISH");
      command.arg(options.channel);
      command.arg(payload);
      for (int attempt = 0; attempt < 2; ++attempt) {  // once more on a fresh connection
        if (!publisher) {
          std::error_code error;
          publisher = RedisRepository::open_connection(options.server, error);
          if (!publisher) break;
        }
        const detail::RedisReplyPtr reply = detail::call(publisher.get(), command);
        if (reply && reply->type == REDIS_REPLY_INTEGER) return;
        publisher.reset();
      }
      ++announce_failures;
    }

    // ---- listening (the bus's thread) ---------------------------------------

    void run() {
      Millis wait = options.reconnect_min;
      while (!stopping) {
        Context c = subscribe();
        if (!c) {
          sleep_unless_stopping(wait);
          wait = std::min(wait * 2, options.reconnect_max);
          continue;
        }
        wait = options.reconnect_min;
        ++subscriptions;
        subscribed = true;
        if (sink.gap_closed) sink.gap_closed();
        listen(c.get());
        subscribed = false;
        if (stopping) return;
        ++gaps;
        if (sink.gap_opened) sink.gap_opened();
      }
    }

    /// A connection with tracking redirected to itself (when a tier is
    /// server-tracked) and the channels subscribed, or null.
    Context subscribe() {
      std::error_code error;
      Context c = RedisRepository::open_connection(options.server, error);
      if (!c) return nullptr;
      const bool tracking = std::find(options.server_tracked.begin(), options.server_tracked.end(),
                                      true) != options.server_tracked.end();
      if (tracking) {
        const detail::RedisReplyPtr id = command(c.get(), {"CLIENT", "ID"});
        if (!id || id->type != REDIS_REPLY_INTEGER) return nullptr;
        const std::string self = std::to_string(id->integer);
        std::vector<std::string_view> words{"CLIENT", "TRACKING", "on", "REDIRECT", self, "BCAST"};
        if (!options.server.key_prefix.empty()) {
          words.push_back("PREFIX");
          words.push_back(options.server.key_prefix);
        }
        if (!detail::is_status(command(c.get(), words).get(), "OK")) return nullptr;
      }
      detail::RespWriter subscribe;
      subscribe.command(tracking ? 3 : 2);
      subscribe.arg("SUBSCRIBE");
      if (tracking) subscribe.arg(tracking_channel);
      subscribe.arg(options.channel);
      if (!detail::send_formatted(c.get(), subscribe)) return nullptr;
      for (int confirmed = 0; confirmed < (tracking ? 2 : 1); ++confirmed) {  // one per channel
        if (!is_message_of(detail::read_reply(c.get()).get(), "subscribe")) return nullptr;
      }
      return c;
    }

    /// Delivers messages until the connection fails, stops answering PINGs,
    /// or the bus stops.
    void listen(redisContext* c) {
      auto ping_due = SteadyClock::now() + options.heartbeat;
      std::optional<SteadyClock::time_point> ping_sent;
      const int poll_ms =
          static_cast<int>(std::clamp<Millis::rep>(options.heartbeat.count() / 4, 1, 20));
      while (!stopping) {
        const auto now = SteadyClock::now();
        if (ping_sent && now - *ping_sent > options.heartbeat) return;  // no answer: a gap
        if (!ping_sent && now >= ping_due) {
          if (redisAppendCommand(c, "PING") != REDIS_OK || !detail::flush(c)) return;
          ping_sent = now;
        }
        pollfd descriptor{c->fd, POLLIN, 0};
        const int ready = ::poll(&descriptor, 1, poll_ms);
        if (ready < 0) continue;  // EINTR
        if (ready == 0) continue;
        if (redisBufferRead(c) != REDIS_OK) return;  // closed or failed
        for (;;) {
          void* raw = nullptr;
          if (redisGetReplyFromReader(c, &raw) != REDIS_OK) return;
          if (raw == nullptr) break;
          const detail::RedisReplyPtr reply(static_cast<redisReply*>(raw));
          if (is_message_of(reply.get(), "pong")) {
            ping_sent.reset();
            ping_due = SteadyClock::now() + options.heartbeat;
          } else if (!deliver(reply.get())) {
            return;  // not what a subscription sends: trust nothing after it
          }
        }
      }
    }

    /// Hands one pushed message to the store; false when it is malformed.
    bool deliver(const redisReply* reply) {
      if (!is_message_of(reply, "message") || reply->elements != 3) return false;
      const redisReply* channel = reply->element[1];
      const redisReply* payload = reply->element[2];
      const std::string_view name(channel->str, channel->len);
      std::vector<std::string_view> keys;
      if (name == tracking_channel) {
        if (payload->type == REDIS_REPLY_NIL) {  // FLUSHALL / FLUSHDB: everything changed
          if (sink.invalidate_all) sink.invalidate_all();
          return true;
        }
        if (payload->type != REDIS_REPLY_ARRAY) return false;
        const std::string_view prefix = options.server.key_prefix;
        for (std::size_t i = 0; i < payload->elements; ++i) {
          const redisReply* key = payload->element[i];
          if (key->type != REDIS_REPLY_STRING) return false;
          const std::string_view full(key->str, key->len);
          if (full.starts_with(prefix)) keys.push_back(full.substr(prefix.size()));
        }
      } else if (name == options.channel && payload->type == REDIS_REPLY_STRING) {
        std::string_view rest(payload->str, payload->len);
        const std::size_t first = rest.find('\n');
        if (rest.substr(0, first) == sender) return true;  // our own store's announcement
        rest = first == std::string_view::npos ? std::string_view{} : rest.substr(first + 1);
        while (!rest.empty()) {
          const std::size_t newline = rest.find('\n');
          keys.push_back(rest.substr(0, newline));
          rest = newline == std::string_view::npos ? std::string_view{} : rest.substr(newline + 1);
        }
      } else {
        return false;
      }
      if (keys.empty()) return true;
      if (sink.invalidate) sink.invalidate(keys);
      invalidations += keys.size();
      if (options.on_invalidated) options.on_invalidated(keys);
      return true;
    }

    /// A pushed array whose first element is `kind` ("message", "pong", ...).
    static bool is_message_of(const redisReply* reply, std::string_view kind) noexcept {
      return reply != nullptr && reply->type == REDIS_REPLY_ARRAY && reply->elements >= 1 &&
             reply->element[0]->type == REDIS_REPLY_STRING &&
             std::string_view(reply->element[0]->str, reply->element[0]->len) == kind;
    }

    static detail::RedisReplyPtr command(redisContext* c,
                                         const std::vector<std::string_view>& words) {
      detail::RespWriter resp;
      resp.command(words.size());
      for (const std::string_view word : words) resp.arg(word);
      return detail::call(c, resp);
    }

    void sleep_unless_stopping(Millis wait) const {
      const auto until = SteadyClock::now() + wait;
      while (!stopping && SteadyClock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }

    static constexpr std::string_view tracking_channel = "__redis__:invalidate";

    RedisBusOptions options;
    std::string sender;  // this bus's id in its announcements
    BusSink sink{};
    std::thread thread{};
    std::atomic<bool> stopping{false};
    std::atomic<bool> subscribed{false};
    std::atomic<std::uint64_t> invalidations{0}, gaps{0}, subscriptions{0}, announce_failures{0};
    std::mutex queued_mutex;
    std::condition_variable queued_cv;
    std::string queued;   // "\nkey\nkey..." not yet published, guarded by queued_mutex
    Context publisher{};  // the publisher thread's connection
    std::thread publisher_thread{};
  };

  std::unique_ptr<State> state_;
};

STRATA_END_NAMESPACE
