#pragma once
/// \file
/// detail::SmallArray: a fixed-size array whose size is chosen at run time,
/// held inline when small. The store's per-batch scratch (routes, positions,
/// records) uses it so that single-key calls and small batches do not touch
/// the heap for bookkeeping a hand-written call would not have.

#include "strata/core/config.hpp"

#include <cstddef>      // std::size_t, std::byte
#include <memory>       // std::unique_ptr, std::make_unique_for_overwrite
#include <new>          // std::launder
#include <span>         // std::span
#include <type_traits>  // std::is_trivially_copyable_v

STRATA_BEGIN_NAMESPACE
namespace detail {

template <class T, std::size_t Inline>
class SmallArray {
  // The inline elements live in raw bytes, which begin the lifetime of
  // implicit-lifetime objects (C++20 [intro.object]); that skips zeroing
  // Inline elements on every call, which showed up in the single-key path.
  static_assert(std::is_trivially_copyable_v<T> && std::is_trivially_destructible_v<T>,
                "detail::SmallArray holds trivially copyable, trivially destructible scratch");

 public:
  /// `size` elements, uninitialised: callers write an element before reading it.
  explicit SmallArray(std::size_t size) : size_(size) {
    if (size > Inline) heap_ = std::make_unique_for_overwrite<T[]>(size);
  }
  SmallArray(std::size_t size, const T& fill) : SmallArray(size) {
    for (std::size_t i = 0; i < size; ++i) data()[i] = fill;
  }
  SmallArray(const SmallArray&) = delete;
  SmallArray& operator=(const SmallArray&) = delete;

  T* data() noexcept { return heap_ ? heap_.get() : std::launder(reinterpret_cast<T*>(inline_)); }
  const T* data() const noexcept {
    return heap_ ? heap_.get() : std::launder(reinterpret_cast<const T*>(inline_));
  }
  std::size_t size() const noexcept { return size_; }
  T& operator[](std::size_t i) noexcept { return data()[i]; }
  const T& operator[](std::size_t i) const noexcept { return data()[i]; }
  T* begin() noexcept { return data(); }
  T* end() noexcept { return data() + size_; }
  std::span<T> span() noexcept { return {data(), size_}; }
  std::span<const T> span() const noexcept { return {data(), size_}; }

 private:
  alignas(T) std::byte inline_[sizeof(T) * Inline];
  std::unique_ptr<T[]> heap_;
  std::size_t size_;
};

}  // namespace detail
STRATA_END_NAMESPACE
