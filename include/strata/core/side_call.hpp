#pragma once
/// \file
/// One call run on a thread of its own while the caller does other work, as
/// `std::async(std::launch::async, ...)` would run it, without `<future>`: that
/// header (shared states, promises, packaged tasks) costs every translation
/// unit that includes the store about 0.2 s of parsing (issue 21), for the
/// two places strata overlaps calls: an erase over two tiers that do I/O, and
/// the page stream reading its next page while the current one is written.

#include "strata/core/config.hpp"

#include <exception>     // std::exception_ptr, std::current_exception, std::rethrow_exception
#include <system_error>  // std::system_error
#include <thread>        // std::thread
#include <utility>       // std::move

STRATA_BEGIN_NAMESPACE
namespace detail {

/// The result of one call on a side thread. Like the future std::async
/// returns, it is joined before it is destroyed, and get() rethrows what the
/// call threw.
template <class T>
class SideCall {
 public:
  SideCall() = default;
  SideCall(const SideCall&) = delete;
  SideCall& operator=(const SideCall&) = delete;
  ~SideCall() {
    if (thread_.joinable()) thread_.join();
  }

  /// Starts `call` on a new thread; false (and nothing started) when the
  /// system has no thread to give, so the caller runs it itself.
  template <class Call>
  bool start(Call call) {
    try {
      thread_ = std::thread([this, call = std::move(call)]() mutable {
        try {
          value_ = call();
        } catch (...) {
          error_ = std::current_exception();
        }
      });
      return true;
    } catch (const std::system_error&) {
      return false;
    }
  }

  /// Whether start() started a thread that get() has not yet joined.
  bool started() const noexcept { return thread_.joinable(); }

  /// Waits for the call and returns its result, or rethrows its exception.
  T get() {
    thread_.join();
    if (error_) std::rethrow_exception(error_);
    return std::move(value_);
  }

 private:
  std::thread thread_;
  T value_{};
  std::exception_ptr error_;
};

}  // namespace detail
STRATA_END_NAMESPACE
