#pragma once
/// \file
/// FaultInjecting<R>: a Repository decorator that fails chosen keys, whole
/// batches, or the next N calls, so partial failure is tested
/// deterministically. It also counts calls, for the one-call-per-tier laws.
///
/// With Atomic (by default R's own atomic_batches) a batch that contains a
/// chosen key fails whole, as an all-or-none backend would; otherwise only the
/// chosen keys fail and the rest reach R.
///
/// Two behaviours the Repository concept allows and a store must survive can
/// be switched on: applying a batch's records in another order than given
/// (reversed or shuffled), and a write that reports outcome_unknown yet is
/// applied later (deferred until land_deferred()), as a Redis transaction
/// the client gave up on can be.

#include <strata/core/batch_result.hpp>
#include <strata/core/clock.hpp>
#include <strata/core/concepts.hpp>
#include <strata/core/error.hpp>
#include <strata/core/load_result.hpp>
#include <strata/core/record.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <numeric>
#include <optional>
#include <random>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

namespace strata::testing {

/// The order in which FaultInjecting hands a batch's records to the repository it wraps.
enum class ApplyOrder { as_given, reversed, shuffled };

/// A Repository decorator that breaks on request (see the file comment).
template <Repository R, bool Atomic = R::atomic_batches>
class FaultInjecting {
 public:
  static constexpr bool atomic_batches = Atomic;  ///< R's, unless told otherwise

  /// Wraps `inner`, breaking nothing until told.
  explicit FaultInjecting(R inner = R{}) : inner_(std::move(inner)) {}
  /// Moves the repository and the faults set so far.
  FaultInjecting(FaultInjecting&& other) noexcept
      : inner_(std::move(other.inner_)), faults_(std::move(other.faults_)), order_(other.order_) {}

  // ---- what to break --------------------------------------------------------

  /// Every call touching one of these keys fails them (the whole batch if Atomic).
  void fail_keys(const std::set<std::string, std::less<>>& keys,
                 std::error_code error = errc::backend_unavailable) {
    std::lock_guard lock(faults_.mutex);
    faults_.keys = keys;
    faults_.key_error = error;
  }
  /// The next `calls` calls of any kind fail whole.
  void fail_next_calls(std::size_t calls, std::error_code error = errc::backend_unavailable) {
    std::lock_guard lock(faults_.mutex);
    faults_.next_calls = calls;
    faults_.call_error = error;
  }
  /// Every call fails whole until told otherwise, as if the server were down.
  void set_unavailable(bool down, std::error_code error = errc::backend_unavailable) {
    std::lock_guard lock(faults_.mutex);
    faults_.down = down;
    faults_.call_error = error;
  }
  /// Every call sleeps this long after the inner repository answered, as a
  /// network reply would take: it widens the windows in which concurrent
  /// batches interleave, so races show up in tests instead of in production.
  void set_latency(std::chrono::microseconds latency) { latency_us_ = latency.count(); }

  /// Hands each batch to the wrapped repository in this order.
  void set_apply_order(ApplyOrder order) { order_ = order; }
  /// While on, store_many applies nothing and reports every record
  /// outcome_unknown; land_deferred() applies what it held back, later.
  void defer_writes(bool on) {
    std::lock_guard lock(faults_.mutex);
    faults_.defer = on;
  }
  /// Applies the writes held back by defer_writes, in the order they came.
  BatchResult land_deferred() {
    std::vector<std::pair<std::string, std::string>> held;
    std::vector<std::optional<TimePoint>> expiry;
    {
      std::lock_guard lock(faults_.mutex);
      held.swap(faults_.deferred);
      expiry.swap(faults_.deferred_expiry);
    }
    std::vector<Record> records;
    for (std::size_t i = 0; i < held.size(); ++i)
      records.push_back({held[i].first, held[i].second, expiry[i]});
    return inner_.store_many(records);
  }

  /// Clears every fault: chosen keys, failing calls, unavailability, latency.
  void heal() {
    std::lock_guard lock(faults_.mutex);
    faults_.keys.clear();
    faults_.next_calls = 0;
    faults_.down = false;
  }

  // ---- what happened --------------------------------------------------------

  /// Calls of store_many since the last reset_counts().
  std::size_t store_calls() const noexcept { return store_calls_.load(); }
  /// Calls of load_many since the last reset_counts().
  std::size_t load_calls() const noexcept { return load_calls_.load(); }
  /// Calls of erase_many since the last reset_counts().
  std::size_t erase_calls() const noexcept { return erase_calls_.load(); }
  /// Sets the call counts to zero.
  void reset_counts() noexcept {
    store_calls_ = 0;
    load_calls_ = 0;
    erase_calls_ = 0;
  }
  /// The repository underneath, unbroken.
  R& inner() noexcept { return inner_; }

  // ---- Repository -----------------------------------------------------------

  /// R's store_many, with the faults set applied.
  BatchResult store_many(std::span<const Record> records) {
    ++store_calls_;
    BatchResult result(records.size());
    if (auto error = whole_call_error()) {
      result.mark_all_failed(error);
      return result;
    }
    std::vector<Record> pass;
    std::vector<std::size_t> where;
    std::error_code key_error;
    for (std::size_t i = 0; i < records.size(); ++i) {
      if (auto error = chosen(records[i].key)) {
        result.mark_failed(i, error);
        key_error = error;
      } else {
        pass.push_back(records[i]);
        where.push_back(i);
      }
    }
    if (Atomic && key_error) {
      result.mark_all_failed(key_error);
      return result;
    }
    if (defer(pass)) {
      for (std::size_t i : where) result.mark_failed(i, errc::outcome_unknown);
      return result;
    }
    reorder(pass, where);
    const BatchResult inner = inner_.store_many(pass);
    reply_latency();
    for (std::size_t j = 0; j < pass.size(); ++j) {
      if (inner.stored(j))
        result.mark_stored(where[j]);
      else
        result.mark_failed(where[j], inner.error(j));
    }
    return result;
  }

  /// R's load_many, with the faults set applied.
  LoadResult load_many(std::span<const std::string_view> keys) {
    LoadResult result;
    load_with_faults(keys, result, [&] { result = inner_.load_many(keys); });
    return result;
  }

  /// R's load_many_into, with the same faults; present when R has it.
  void load_many_into(std::span<const std::string_view> keys,
                      LoadResult& result) requires detail::HasLoadManyInto<R> {
    load_with_faults(keys, result, [&] { inner_.load_many_into(keys, result); });
  }

  /// R's erase_many, with the faults set applied.
  EraseResult erase_many(std::span<const std::string_view> keys) {
    ++erase_calls_;
    if (auto error = whole_call_error()) return {0, error};
    std::vector<std::string_view> pass;
    std::error_code key_error;
    for (std::string_view key : keys) {
      if (auto error = chosen(key))
        key_error = error;
      else
        pass.push_back(key);
    }
    if (Atomic && key_error) return {0, key_error};
    EraseResult result;
    if constexpr (std::is_same_v<decltype(inner_.erase_many(pass)), EraseResult>)
      result = inner_.erase_many(pass);
    else
      result.erased = inner_.erase_many(pass);
    reply_latency();
    if (!result.error) result.error = key_error;
    return result;
  }

  /// R's scan, failing while the repository is set unavailable.
  ScanPage scan(std::string_view prefix, std::string_view cursor,
                std::size_t limit) requires ScannableRepository<R> {
    if (auto error = whole_call_error()) {
      ScanPage page;
      page.error = error;
      return page;
    }
    return inner_.scan(prefix, cursor, limit);
  }

 private:
  bool defer(const std::vector<Record>& pass) {
    std::lock_guard lock(faults_.mutex);
    if (!faults_.defer) return false;
    for (const Record& r : pass) {
      faults_.deferred.emplace_back(std::string(r.key), std::string(r.envelope));
      faults_.deferred_expiry.push_back(r.expires_at);
    }
    return true;
  }
  void reorder(std::vector<Record>& pass, std::vector<std::size_t>& where) const {
    if (order_ == ApplyOrder::as_given) return;
    std::vector<std::size_t> perm(pass.size());
    std::iota(perm.begin(), perm.end(), std::size_t{0});
    if (order_ == ApplyOrder::reversed)
      std::reverse(perm.begin(), perm.end());
    else
      std::shuffle(perm.begin(), perm.end(), std::mt19937_64(pass.size()));
    std::vector<Record> records;
    std::vector<std::size_t> positions;
    for (std::size_t j : perm) {
      records.push_back(pass[j]);
      positions.push_back(where[j]);
    }
    pass.swap(records);
    where.swap(positions);
  }

  /// Counts a load, then fails it whole or calls `load` (which fills
  /// `result`) and fails the keys chosen to fail.
  template <class Load>
  void load_with_faults(std::span<const std::string_view> keys, LoadResult& result, Load load) {
    ++load_calls_;
    if (auto error = whole_call_error()) {
      result.reset(keys.size());
      result.fail_all(error);
      return;
    }
    load();
    reply_latency();
    for (std::size_t i = 0; i < keys.size(); ++i)
      if (auto error = chosen(keys[i])) result.set_failed(i, error);
  }

  void reply_latency() const {
    if (const auto us = latency_us_.load(); us > 0)
      std::this_thread::sleep_for(std::chrono::microseconds(us));
  }

  std::error_code whole_call_error() {
    std::lock_guard lock(faults_.mutex);
    if (faults_.down) return faults_.call_error;
    if (faults_.next_calls > 0) {
      --faults_.next_calls;
      return faults_.call_error;
    }
    return {};
  }
  std::error_code chosen(std::string_view key) {
    std::lock_guard lock(faults_.mutex);
    return faults_.keys.contains(key) ? faults_.key_error : std::error_code{};
  }

  struct Faults {
    Faults() = default;
    Faults(Faults&& other) noexcept
        : keys(std::move(other.keys)),
          key_error(other.key_error),
          call_error(other.call_error),
          next_calls(other.next_calls),
          down(other.down),
          defer(other.defer) {}
    std::mutex mutex;
    std::set<std::string, std::less<>> keys;
    std::error_code key_error;
    std::error_code call_error;
    std::size_t next_calls = 0;
    bool down = false;
    bool defer = false;
    std::vector<std::pair<std::string, std::string>> deferred;
    std::vector<std::optional<TimePoint>> deferred_expiry;
  };

  R inner_;
  Faults faults_;
  ApplyOrder order_ = ApplyOrder::as_given;
  std::atomic<std::int64_t> latency_us_{0};
  std::atomic<std::size_t> store_calls_{0}, load_calls_{0}, erase_calls_{0};
};

}  // namespace strata::testing
