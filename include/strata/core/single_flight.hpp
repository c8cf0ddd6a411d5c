#pragma once
/// \file
/// Batch single-flight, TieredStore's ninth parameter: when several threads'
/// reads miss the same keys at once, each key is loaded by the read that asked
/// first and the others wait for its answer instead of loading it again.
/// NoSingleFlight (the default) compiles out; BatchSingleFlight opts in.
///
/// What a joined read may answer: the answer of a load that was under way
/// when it asked. A write or delete of a key (through this store, or heard on
/// its invalidation bus) retires the key's load in flight once storage has
/// answered, so a read that begins after a write ended never joins a load
/// that may have begun before it: read-your-writes holds as without it.
///
/// A read leads its keys' loads before it waits for any other read's, so
/// two reads that each lead a key the other wants cannot wait on each other;
/// a waiter waits exactly as long as the leading read's own tier calls take
/// (each bounded by its repository's timeouts), and gets that read's answer,
/// value, absence or error alike.

#include "strata/core/config.hpp"
#include "strata/core/error.hpp"
#include "strata/core/load_result.hpp"

#include <atomic>              // std::atomic
#include <concepts>            // std::convertible_to
#include <condition_variable>  // std::condition_variable
#include <cstddef>             // std::size_t
#include <cstdint>             // std::uint32_t, std::uint64_t
#include <functional>          // std::identity, std::invoke
#include <memory>              // std::shared_ptr, std::make_shared
#include <mutex>               // std::mutex, std::lock_guard, std::unique_lock
#include <span>                // std::span
#include <string_view>         // std::string_view
#include <type_traits>         // std::is_default_constructible_v
#include <unordered_map>       // std::unordered_map
#include <utility>             // std::move
#include <vector>              // std::vector

STRATA_BEGIN_NAMESPACE

/// No single-flight (the default): every read loads its own misses, and the
/// store spends no instruction on flights.
struct NoSingleFlight {
  /// False: reads never wait for one another.
  static constexpr bool enabled = false;
};

/// Batch single-flight: one table of the keys being loaded, each entry
/// pointing at the answers of the read that leads it. One mutex guards the
/// table; it is taken once per read that misses (to claim its keys) and once
/// when that read has loaded (to retire them), never around a tier call, and
/// never on a read the cache answered whole.
class BatchSingleFlight {
  /// The answers of one leading read, shared with every read that joined it.
  struct Flight {
    std::vector<Lookup> answers;  // by the leader's slot; written before `done`
    std::uint32_t waiters = 0;    // guarded by the table's mutex
    bool done = false;            // guarded by `mutex`
    std::mutex mutex;
    std::condition_variable landed;
  };
  struct Entry {
    std::shared_ptr<Flight> flight;
    std::uint32_t slot = 0;
  };

 public:
  /// True: reads that miss the same keys at once load them once.
  static constexpr bool enabled = true;

  BatchSingleFlight() = default;
  BatchSingleFlight(const BatchSingleFlight&) = delete;             ///< owns a live table
  BatchSingleFlight& operator=(const BatchSingleFlight&) = delete;  ///< owns a live table

  /// One read's part in the flights: the keys it leads (it loads them and
  /// publishes their answers) and the keys it joined (another read loads
  /// them; collect() waits for their answers). Publishes on destruction if
  /// the read did not (an exception mid-read): its waiters get
  /// errc::outcome_unknown rather than waiting forever.
  class Claim {
   public:
    /// Claims the keys for which `wanted(i)` holds: a key no read is loading
    /// is led by this one, a key another read is loading is joined. The key
    /// views must stay valid until publish() (the table refers to them).
    template <class Wanted>
    Claim(BatchSingleFlight& table, std::span<const std::string_view> keys, Wanted wanted)
        : table_(table), keys_(keys) {
      const std::lock_guard lock(table_.mutex_);
      for (std::size_t i = 0; i < keys.size(); ++i) {
        if (!wanted(i)) continue;
        const auto [it, inserted] = table_.flights_.try_emplace(keys[i]);
        if (inserted) {
          if (!mine_) mine_ = std::make_shared<Flight>();
          it->second = Entry{mine_, static_cast<std::uint32_t>(led_.size())};
          led_.push_back(i);
        } else if (it->second.flight != mine_) {  // the same key twice in this read: load it again
          ++it->second.flight->waiters;
          joined_.push_back(Joined{i, it->second});
        }
      }
      if (!joined_.empty())
        table_.joined_keys_.fetch_add(joined_.size(), std::memory_order_relaxed);
    }
    Claim(const Claim&) = delete;
    Claim& operator=(const Claim&) = delete;
    ~Claim() {
      if (!published_) publish_each([](std::size_t) { return failed_lookup(); });
    }

    /// Calls `f(i)` for each position this read waits for (which it must
    /// not load), in input order.
    template <class F>
    void for_each_joined(F f) const {
      for (const Joined& j : joined_) f(j.position);
    }

    /// Retires the keys this read led and hands their answers (`result`'s
    /// final slots) to the reads that joined them.
    void publish(const LoadResult& result) {
      publish_each([&](std::size_t i) { return result[i]; });
    }

    /// Waits for the loads this read joined and copies their answers into `result`.
    void collect(LoadResult& result) const {
      for (const Joined& j : joined_) {
        Flight& flight = *j.entry.flight;
        std::unique_lock lock(flight.mutex);
        flight.landed.wait(lock, [&] { return flight.done; });
        lock.unlock();
        result[j.position] = flight.answers[j.entry.slot];  // read-only once done
      }
    }

   private:
    struct Joined {
      std::size_t position;
      Entry entry;
    };

    static Lookup failed_lookup() {
      return Lookup{LookupStatus::failed, {}, make_error_code(errc::outcome_unknown), 0};
    }

    template <class AnswerOf>
    void publish_each(AnswerOf answer_of) {
      published_ = true;
      if (!mine_) return;
      std::uint32_t waiters = 0;
      {
        const std::lock_guard lock(table_.mutex_);
        for (const std::size_t i : led_) {
          // A write may have retired the key, and another read may lead it now.
          const auto it = table_.flights_.find(keys_[i]);
          if (it != table_.flights_.end() && it->second.flight == mine_) table_.flights_.erase(it);
        }
        waiters = mine_->waiters;  // final: nobody can join a retired key
      }
      if (waiters > 0) {
        mine_->answers.reserve(led_.size());
        for (const std::size_t i : led_) mine_->answers.push_back(answer_of(i));
      }
      {
        const std::lock_guard lock(mine_->mutex);
        mine_->done = true;
      }
      mine_->landed.notify_all();
    }

    BatchSingleFlight& table_;
    std::span<const std::string_view> keys_;
    std::shared_ptr<Flight> mine_;
    std::vector<std::size_t> led_;  // input positions, by slot
    std::vector<Joined> joined_;
    bool published_ = false;
  };

  /// Retires the loads in flight of these keys, `key_of(element)` each (a
  /// write or delete of them has been answered): later reads load afresh.
  template <class Range, class KeyOf = std::identity>
  void forget(const Range& keys, KeyOf key_of = {}) {
    const std::lock_guard lock(mutex_);
    if (flights_.empty()) return;
    for (const auto& element : keys) flights_.erase(std::string_view(std::invoke(key_of, element)));
  }
  /// Retires every load in flight (the bus lost track of other processes' writes).
  void forget_all() {
    const std::lock_guard lock(mutex_);
    flights_.clear();
  }

  /// Keys that reads joined another read's load of (and so did not load), since the store was made.
  std::uint64_t joined_keys() const noexcept {
    return joined_keys_.load(std::memory_order_relaxed);
  }

 private:
  std::mutex mutex_;
  std::unordered_map<std::string_view, Entry> flights_;
  std::atomic<std::uint64_t> joined_keys_{0};
};

namespace detail {
/// A read's claim on the flights; nothing when the policy is NoSingleFlight.
template <class F, bool = F::enabled>
struct FlightClaim {
  struct type {};
};
template <class F>
struct FlightClaim<F, true> {
  using type = typename F::Claim;
};
}  // namespace detail

/// What TieredStore needs of its single-flight policy: default-constructible,
/// `enabled`, and when enabled, BatchSingleFlight's Claim and forget.
template <class F>
concept SingleFlightPolicy = std::is_default_constructible_v<F> && requires {
  { F::enabled } -> std::convertible_to<bool>;
} &&(!F::enabled || requires(F & flights, std::span<const std::string_view> keys) {
  typename F::Claim;
  flights.forget(keys);
  flights.forget_all();
});

STRATA_END_NAMESPACE
