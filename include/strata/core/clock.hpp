#pragma once
/// \file
/// Time as strata sees it: wall-clock milliseconds, read through an injectable
/// Clock so TTL behaviour can be tested without sleeping.

#include "strata/core/config.hpp"

#include <atomic>   // std::atomic
#include <chrono>   // std::chrono::sys_time
#include <cstdint>  // std::int64_t

STRATA_BEGIN_NAMESPACE

/// Wall-clock time at millisecond resolution, the resolution every tier stores
/// (Redis PX, the envelope, SQL columns).
using TimePoint = std::chrono::sys_time<std::chrono::milliseconds>;
/// Durations, at the resolution every tier stores.
using Millis = std::chrono::milliseconds;

/// A handle on "now": the system clock by default, or a ManualClock that a test
/// advances by hand. Copyable and trivially cheap; a branch, not a virtual call.
class Clock {
 public:
  constexpr Clock() noexcept = default;

  /// The current time, to the millisecond.
  TimePoint now() const noexcept {
    if (manual_ != nullptr) return TimePoint{Millis{manual_->load(std::memory_order_relaxed)}};
    return std::chrono::time_point_cast<Millis>(std::chrono::system_clock::now());
  }

 private:
  friend class ManualClock;
  explicit constexpr Clock(const std::atomic<std::int64_t>* manual) noexcept : manual_(manual) {}

  const std::atomic<std::int64_t>* manual_ = nullptr;
};

/// A clock that moves only when told to. It must outlive every Clock handed
/// out by clock().
class ManualClock {
 public:
  /// A clock stopped at `start` (by default 2023-11-14, an arbitrary fixed instant, so that tests
  /// never depend on the date).
  explicit ManualClock(TimePoint start = TimePoint{Millis{1'700'000'000'000}}) noexcept
      : ms_(start.time_since_epoch().count()) {}
  ManualClock(const ManualClock&) = delete;
  ManualClock& operator=(const ManualClock&) = delete;

  /// A Clock that reads this one; valid while this ManualClock lives.
  Clock clock() const noexcept { return Clock{&ms_}; }
  /// The time it is stopped at.
  TimePoint now() const noexcept { return clock().now(); }
  /// Moves the time forward by `by` (backwards when negative).
  void advance(Millis by) noexcept { ms_.fetch_add(by.count(), std::memory_order_relaxed); }
  /// Sets the time to `to`.
  void set(TimePoint to) noexcept {
    ms_.store(to.time_since_epoch().count(), std::memory_order_relaxed);
  }

 private:
  std::atomic<std::int64_t> ms_;
};

/// Whether a record with this expiry is expired at `now`. An expiry is
/// exclusive: a record expiring at t is already gone at t.
constexpr bool is_expired(TimePoint expires_at, TimePoint now) noexcept {
  return expires_at <= now;
}

STRATA_END_NAMESPACE
