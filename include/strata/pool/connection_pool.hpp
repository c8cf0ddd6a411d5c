#pragma once
/// \file
/// ConnectionPool<Conn>: a generic, thread-safe pool of client connections
/// for the network tiers (Redis, PostgreSQL, S3).
///
/// - `size` connections are kept; under load up to `max_overflow` more are
///   opened and closed again when returned.
/// - acquire() waits at most `checkout_timeout` for a free connection, then
///   fails with errc::pool_exhausted; a failed connect fails with the
///   connector's error. Neither throws.
/// - A connection idle for at least `health_check_after` is checked before it
///   is handed out; one that fails the check is closed and replaced.
/// - Idle connections older than `max_idle` are closed (reaped) on every
///   acquire and release, and by reap_idle().
/// - A Lease returns its connection when destroyed. A caller whose connection
///   saw an error calls discard(): the connection is closed, never handed out
///   again, and the next acquire opens a fresh one.

#include "strata/core/clock.hpp"
#include "strata/core/config.hpp"
#include "strata/core/error.hpp"

#include <chrono>              // std::chrono::steady_clock
#include <condition_variable>  // std::condition_variable
#include <cstddef>             // std::size_t
#include <cstdint>             // std::uint64_t
#include <functional>          // std::function
#include <memory>              // std::unique_ptr
#include <mutex>               // std::mutex, std::unique_lock
#include <optional>            // std::optional
#include <system_error>        // std::error_code
#include <utility>             // std::move, std::exchange
#include <vector>              // std::vector

STRATA_BEGIN_NAMESPACE

/// Sizes and timeouts of a ConnectionPool.
struct PoolOptions {
  std::size_t size = 4;           ///< connections kept open; 0 means 1
  std::size_t max_overflow = 4;   ///< extra connections under load, closed when returned; 0: none
  Millis checkout_timeout{1000};  ///< longest wait for a free connection; zero: fail at once
  /// A connection idle at least this long is checked before it is handed out;
  /// zero checks at every checkout.
  Millis health_check_after{1000};
  /// An idle connection older than this is closed; zero keeps idle ones for ever.
  Millis max_idle{std::chrono::minutes(5)};
};

/// What a pool holds right now and has done so far.
struct PoolStats {
  std::size_t open = 0;       ///< connections that exist: idle + leased
  std::size_t idle = 0;       ///< connections waiting in the pool
  std::size_t created = 0;    ///< successful connects
  std::size_t discarded = 0;  ///< closed after an error or a failed health check
  std::size_t reaped = 0;     ///< closed after max_idle
  std::size_t waits = 0;      ///< acquires that had to wait for a connection
  std::uint64_t wait_ns = 0;  ///< the time those acquires spent waiting, in nanoseconds
  std::size_t exhausted = 0;  ///< acquires that gave up waiting (errc::pool_exhausted)
};

/// A thread-safe pool of `Conn` connections for the network tiers; see the file's description for
/// the rules it follows.
template <class Conn>
class ConnectionPool {
 public:
  /// Opens a connection, or sets the error and returns nullopt.
  using Connector = std::function<std::optional<Conn>(std::error_code&)>;
  /// Whether an idle connection is still usable (e.g. a PING); empty: always.
  using HealthCheck = std::function<bool(Conn&)>;

  /// A connection borrowed from the pool, given back when the lease is destroyed (or closed, after
  /// discard()). Move-only.
  class Lease {
   public:
    Lease() = default;
    /// A lease without a connection, carrying why acquire() gave none.
    explicit Lease(std::error_code error) : error_(error) {}
    /// Moves the connection; the source is left without one.
    ///@{
    Lease(Lease&& other) noexcept
        : pool_(std::exchange(other.pool_, nullptr)),
          conn_(std::move(other.conn_)),
          broken_(other.broken_),
          error_(other.error_) {}
    Lease& operator=(Lease&& other) noexcept {
      if (this != &other) {
        give_back();
        pool_ = std::exchange(other.pool_, nullptr);
        conn_ = std::move(other.conn_);
        broken_ = other.broken_;
        error_ = other.error_;
      }
      return *this;
    }
    ///@}
    ~Lease() { give_back(); }

    /// True when the lease holds a connection.
    explicit operator bool() const noexcept { return pool_ != nullptr; }
    /// Why acquire() gave no connection (pool_exhausted, or the connect error).
    std::error_code error() const noexcept { return error_; }
    /// The connection; only when the lease holds one.
    ///@{
    Conn& operator*() noexcept { return *conn_; }
    Conn* operator->() noexcept { return &*conn_; }
    ///@}

    /// The connection saw an error: close it instead of returning it.
    void discard() noexcept { broken_ = true; }

   private:
    friend class ConnectionPool;
    Lease(ConnectionPool* pool, Conn conn) : pool_(pool), conn_(std::move(conn)) {}
    void give_back() noexcept {
      if (pool_ != nullptr) std::exchange(pool_, nullptr)->release(std::move(*conn_), broken_);
      conn_.reset();
    }

    ConnectionPool* pool_ = nullptr;
    std::optional<Conn> conn_;
    bool broken_ = false;
    std::error_code error_;
  };

  /// A pool that opens connections with `connect` and, when given, checks an idle one with
  /// `healthy` before handing it out. Connects lazily: no connection is opened here.
  ConnectionPool(PoolOptions options, Connector connect, HealthCheck healthy = {})
      : options_(options), connect_(std::move(connect)), healthy_(std::move(healthy)) {
    if (options_.size == 0) options_.size = 1;
  }
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;
  /// Every Lease must have been returned.
  ~ConnectionPool() = default;

  /// A connection, or an empty Lease whose error() says why.
  Lease acquire() {
    const auto deadline = Steady::now() + options_.checkout_timeout;
    std::unique_lock lock(mutex_);
    bool waited = false;  // counted once per acquire, however often it wakes
    for (;;) {
      std::vector<Idle> closing = take_expired(Steady::now());
      if (!idle_.empty()) {
        Idle idle = std::move(idle_.back());  // most recently used: likely still warm
        idle_.pop_back();
        const bool check = healthy_ && Steady::now() - idle.since >= options_.health_check_after;
        lock.unlock();
        closing.clear();  // close reaped connections outside the lock
        if (!check || healthy_(idle.conn)) return Lease(this, std::move(idle.conn));
        { const Conn dead = std::move(idle.conn); }  // closed before the lock is retaken
        lock.lock();
        --open_;
        ++stats_.discarded;
        continue;
      }
      if (open_ < options_.size + options_.max_overflow) {
        ++open_;
        lock.unlock();
        closing.clear();
        std::error_code error;
        std::optional<Conn> conn = connect_(error);
        lock.lock();
        if (!conn) {
          --open_;
          available_.notify_one();  // the slot is free again for a waiter
          return Lease(error ? error : make_error_code(errc::backend_unavailable));
        }
        ++stats_.created;
        lock.unlock();
        return Lease(this, std::move(*conn));
      }
      if (!waited) ++stats_.waits;
      waited = true;
      const auto before = Steady::now();
      const bool timed_out = available_.wait_until(lock, deadline) == std::cv_status::timeout;
      stats_.wait_ns += static_cast<std::uint64_t>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(Steady::now() - before).count());
      if (timed_out && idle_.empty() && open_ >= options_.size + options_.max_overflow) {
        ++stats_.exhausted;
        return Lease(make_error_code(errc::pool_exhausted));
      }
    }
  }

  /// Closes idle connections older than max_idle, returning how many.
  std::size_t reap_idle() {
    std::unique_lock lock(mutex_);
    std::vector<Idle> closing = take_expired(Steady::now());
    const std::size_t n = closing.size();
    lock.unlock();
    return n;  // `closing` closes them here, outside the lock
  }

  /// What the pool holds now and has done so far.
  PoolStats stats() const {
    std::lock_guard lock(mutex_);
    PoolStats out = stats_;
    out.open = open_;
    out.idle = idle_.size();
    return out;
  }

  /// The options, a `size` of 0 made 1.
  const PoolOptions& options() const noexcept { return options_; }

 private:
  using Steady = std::chrono::steady_clock;
  struct Idle {
    Conn conn;
    Steady::time_point since;
  };

  void release(Conn conn, bool broken) noexcept {
    std::optional<Conn> closing;  // destroyed after the lock is released
    std::vector<Idle> reaped;
    {
      std::lock_guard lock(mutex_);
      reaped = take_expired(Steady::now());
      if (broken || open_ > options_.size) {
        --open_;
        if (broken) ++stats_.discarded;
        closing.emplace(std::move(conn));
      } else {
        idle_.push_back(Idle{std::move(conn), Steady::now()});
      }
    }
    available_.notify_one();
  }

  /// Removes (under the lock) the idle connections past max_idle; the caller
  /// destroys them once it has released the lock.
  std::vector<Idle> take_expired(Steady::time_point now) {
    std::vector<Idle> expired;
    if (options_.max_idle.count() == 0) return expired;
    // idle_ is ordered by return time: the oldest are at the front.
    std::size_t n = 0;
    while (n < idle_.size() && now - idle_[n].since >= options_.max_idle) ++n;
    if (n == 0) return expired;
    expired.reserve(n);
    for (std::size_t i = 0; i < n; ++i) expired.push_back(std::move(idle_[i]));
    idle_.erase(idle_.begin(), idle_.begin() + static_cast<std::ptrdiff_t>(n));
    open_ -= n;
    stats_.reaped += n;
    return expired;
  }

  PoolOptions options_;
  Connector connect_;
  HealthCheck healthy_;
  mutable std::mutex mutex_;
  std::condition_variable available_;
  std::vector<Idle> idle_;  // oldest first
  std::size_t open_ = 0;
  PoolStats stats_{};
};

STRATA_END_NAMESPACE
