#pragma once
/// \file
/// What the striped policies (StripedStats, StripedMetrics) share: relaxed
/// counters, and which stripe this thread writes, so that no counter line is
/// written by every thread on every call.

#include "strata/core/config.hpp"

#include <atomic>   // std::atomic
#include <cstddef>  // std::size_t
#include <cstdint>  // std::uint64_t

STRATA_BEGIN_NAMESPACE

namespace detail {

/// A counter only ever added to and summed: relaxed order is enough.
using StripeCounter = std::atomic<std::uint64_t>;

/// Adds `n` to `counter`, relaxed.
inline void add_relaxed(StripeCounter& counter, std::uint64_t n) noexcept {
  counter.fetch_add(n, std::memory_order_relaxed);
}

/// Stripes per striped policy: threads beyond this many share stripes.
inline constexpr std::size_t stripe_count = 16;

/// This thread's stripe, in [0, stripe_count): threads are numbered once, in
/// the order they first ask.
inline std::size_t this_thread_stripe() noexcept {
  static std::atomic<std::size_t> next_thread{0};
  thread_local const std::size_t thread = next_thread.fetch_add(1, std::memory_order_relaxed);
  return thread % stripe_count;
}

}  // namespace detail

STRATA_END_NAMESPACE
