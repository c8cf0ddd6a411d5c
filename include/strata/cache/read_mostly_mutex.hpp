#pragma once
/// \file
/// detail::ReadMostlyMutex: the caches' shard lock. A reader-writer lock
/// whose readers write only their own thread stripe's counter, so that
/// threads reading one shard at once share no cache line through the lock.
/// `std::shared_mutex` makes every `lock_shared` write the same word: on a
/// cache hit, whose only other write is a bit that stops changing once set,
/// that word moving between cores was what kept two threads from doing
/// more than one thread's work. A writer raises a flag and waits for every
/// stripe to drain; a reader that finds the flag raised steps back and waits
/// for it to fall. Writers (a cache put or erase) are short and rarer than
/// reads, so both sides wait by yielding rather than sleeping. ADR 18.

#include "strata/core/config.hpp"
#include "strata/core/thread_stripes.hpp"

#include <array>    // std::array
#include <atomic>   // std::atomic
#include <cstdint>  // std::uint32_t
#include <mutex>    // std::mutex
#include <thread>   // std::this_thread::yield

STRATA_BEGIN_NAMESPACE

namespace detail {

/// Meets the SharedMutex requirements std::shared_lock and std::unique_lock
/// use; not recursive, and a thread unlocks what it locked (its stripe).
class ReadMostlyMutex {
 public:
  void lock_shared() noexcept {
    std::atomic<std::uint32_t>& readers = stripes_[this_thread_stripe()].readers;
    for (;;) {
      // Announce, then look: a writer raises its flag, then looks at the
      // announcements. Both in one total order (seq_cst), so at least one of
      // the two sees the other.
      readers.fetch_add(1, std::memory_order_seq_cst);
      if (!writing_.load(std::memory_order_seq_cst)) return;
      readers.fetch_sub(1, std::memory_order_release);
      while (writing_.load(std::memory_order_acquire)) std::this_thread::yield();
    }
  }

  void unlock_shared() noexcept {
    stripes_[this_thread_stripe()].readers.fetch_sub(1, std::memory_order_release);
  }

  void lock() {
    writers_.lock();
    writing_.store(true, std::memory_order_seq_cst);
    for (const Stripe& stripe : stripes_)
      while (stripe.readers.load(std::memory_order_seq_cst) != 0) std::this_thread::yield();
  }

  void unlock() noexcept {
    writing_.store(false, std::memory_order_release);
    writers_.unlock();
  }

 private:
  // A line per stripe (64 bytes: see detail::TwoFifoShard).
  struct alignas(64) Stripe {
    std::atomic<std::uint32_t> readers{0};
  };
  std::array<Stripe, stripe_count> stripes_{};
  alignas(64) std::atomic<bool> writing_{false};
  std::mutex writers_;
};

}  // namespace detail

STRATA_END_NAMESPACE
