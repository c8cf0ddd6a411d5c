#pragma once
/// \file
/// BatchResult: for every input position of a batch write, stored or the error
/// that kept it from being stored (docs/adr/0001-batch-result.md).
///
/// The success path allocates per batch, never per key: a bitmap (inline up to
/// 64 positions) and, when keys are attached, one buffer holding all of them.
/// Per-position errors are allocated on the first failure only.

#include "strata/core/config.hpp"
#include "strata/core/error.hpp"

#include <bit>           // std::popcount
#include <cstddef>       // std::size_t
#include <cstdint>       // std::uint64_t, std::uint32_t
#include <functional>    // std::identity, std::invoke, std::less
#include <iterator>      // std::forward_iterator_tag
#include <set>           // std::set
#include <string>        // std::string
#include <string_view>   // std::string_view
#include <system_error>  // std::error_code
#include <utility>       // std::exchange, std::move
#include <vector>        // std::vector

STRATA_BEGIN_NAMESPACE

/// One position that was not stored.
struct Failure {
  std::size_t index;      ///< the position in the batch's input
  std::string_view key;   ///< empty unless the result carries keys
  std::error_code error;  ///< why: an errc of strata's category, or a backend's own code
};

/// For every input position of a batch write: stored, or the error that kept it from being stored.
/// Repositories fill it with mark_stored and mark_failed; callers read it by position, as
/// failures(), or as the set of stored keys.
class BatchResult {
 public:
  BatchResult() = default;

  /// `size` positions, none stored yet. A position never marked reports
  /// errc::outcome_unknown: a backend that forgets one never claims success.
  explicit BatchResult(std::size_t size) : size_(size) {
    if (size > 64) heap_bits_.assign((size + 63) / 64, 0);
  }

  /// Copyable; a moved-from result is empty, not a size without its bitmap.
  ///@{
  BatchResult(const BatchResult&) = default;
  BatchResult& operator=(const BatchResult&) = default;
  BatchResult(BatchResult&& other) noexcept
      : size_(std::exchange(other.size_, 0)),
        inline_bits_(std::exchange(other.inline_bits_, 0)),
        heap_bits_(std::move(other.heap_bits_)),
        errors_(std::move(other.errors_)),
        key_bytes_(std::move(other.key_bytes_)),
        key_ends_(std::move(other.key_ends_)) {}
  BatchResult& operator=(BatchResult&& other) noexcept {
    if (this != &other) {
      size_ = std::exchange(other.size_, 0);
      inline_bits_ = std::exchange(other.inline_bits_, 0);
      heap_bits_ = std::move(other.heap_bits_);
      errors_ = std::move(other.errors_);
      key_bytes_ = std::move(other.key_bytes_);
      key_ends_ = std::move(other.key_ends_);
    }
    return *this;
  }
  ///@}
  ~BatchResult() = default;

  /// The number of positions in the batch.
  std::size_t size() const noexcept { return size_; }
  /// True for an empty batch.
  bool empty() const noexcept { return size_ == 0; }

  /// Whether position i was stored.
  bool stored(std::size_t i) const noexcept { return (words()[i / 64] >> (i % 64)) & 1u; }

  /// The error of position i: empty when stored.
  std::error_code error(std::size_t i) const noexcept {
    if (stored(i)) return {};
    if (errors_.empty() || !errors_[i]) return make_error_code(errc::outcome_unknown);
    return errors_[i];
  }

  /// How many positions were stored.
  std::size_t stored_count() const noexcept {
    std::size_t n = 0;
    const std::uint64_t* w = words();
    for (std::size_t i = 0, count = word_count(); i < count; ++i) n += std::popcount(w[i]);
    return n;
  }
  /// How many positions were not stored.
  std::size_t failed_count() const noexcept { return size_ - stored_count(); }
  /// True when every position was stored.
  bool all_stored() const noexcept { return stored_count() == size_; }

  /// Marks position i stored, clearing an error marked before.
  void mark_stored(std::size_t i) noexcept {
    words()[i / 64] |= std::uint64_t{1} << (i % 64);
    if (!errors_.empty()) errors_[i].clear();
  }
  /// Marks position i failed with `error`; an empty `error` reads as
  /// errc::outcome_unknown (a failure always says why).
  void mark_failed(std::size_t i, std::error_code error) {
    words()[i / 64] &= ~(std::uint64_t{1} << (i % 64));
    if (errors_.empty()) errors_.resize(size_);
    errors_[i] = error ? error : make_error_code(errc::outcome_unknown);
  }
  /// Marks every position stored.
  void mark_all_stored() noexcept {
    for (std::size_t i = 0; i < size_; ++i) mark_stored(i);
  }
  /// Marks every position failed with `error`.
  void mark_all_failed(std::error_code error) {
    for (std::size_t i = 0; i < size_; ++i) mark_failed(i, error);
  }

  /// Copies the input keys (projected by key_of) into one buffer so that the result can name them
  /// after the caller's input is gone. `keys` must have size() elements.
  template <class KeyRange, class Projection = std::identity>
  void attach_keys(const KeyRange& keys, Projection key_of = {}) {
    std::size_t total = 0;
    for (const auto& item : keys) total += std::string_view(std::invoke(key_of, item)).size();
    key_bytes_.clear();
    key_bytes_.reserve(total);
    key_ends_.clear();
    key_ends_.reserve(size_);
    for (const auto& item : keys) {
      key_bytes_.append(std::string_view(std::invoke(key_of, item)));
      key_ends_.push_back(static_cast<std::uint32_t>(key_bytes_.size()));
    }
  }
  /// Whether key(i) names the keys: attach_keys was called, or the batch is empty.
  bool has_keys() const noexcept { return !key_ends_.empty() || size_ == 0; }

  /// The key at position i; empty unless keys were attached.
  std::string_view key(std::size_t i) const noexcept {
    if (key_ends_.empty()) return {};
    const std::size_t begin = i == 0 ? 0 : key_ends_[i - 1];
    return std::string_view(key_bytes_).substr(begin, key_ends_[i] - begin);
  }

  /// The set of stored keys (requires attached keys).
  std::set<std::string, std::less<>> stored_keys() const {
    std::set<std::string, std::less<>> out;
    for (std::size_t i = 0; i < size_; ++i)
      if (stored(i)) out.emplace(key(i));
    return out;
  }
  operator std::set<std::string, std::less<>>() const { return stored_keys(); }

  /// Walks the positions that were not stored, in input order, yielding a Failure for each.
  class FailureIterator {
   public:
    /// Standard iterator traits; the iterator yields Failure by value.
    ///@{
    using iterator_category = std::forward_iterator_tag;
    using value_type = Failure;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = Failure;
    ///@}

    FailureIterator() = default;
    /// The first failed position at or after i.
    FailureIterator(const BatchResult* result, std::size_t i) : result_(result), i_(i) { skip(); }
    /// The failure at the current position.
    Failure operator*() const { return {i_, result_->key(i_), result_->error(i_)}; }
    /// Advances to the next failed position.
    ///@{
    FailureIterator& operator++() {
      ++i_;
      skip();
      return *this;
    }
    FailureIterator operator++(int) {
      auto copy = *this;
      ++*this;
      return copy;
    }
    ///@}
    /// Equal when at the same position.
    bool operator==(const FailureIterator& other) const noexcept { return i_ == other.i_; }

   private:
    void skip() {
      while (i_ < result_->size_ && result_->stored(i_)) ++i_;
    }
    const BatchResult* result_ = nullptr;
    std::size_t i_ = 0;
  };

  /// The failed positions as a range, for range-for.
  struct FailureRange {
    const BatchResult* result;  ///< the result walked; must outlive the range
    /// The first failure.
    FailureIterator begin() const { return {result, 0}; }
    /// Past the last position.
    FailureIterator end() const { return {result, result->size_}; }
  };

  /// Every position that was not stored, in input order.
  FailureRange failures() const noexcept { return {this}; }

 private:
  std::size_t word_count() const noexcept { return (size_ + 63) / 64; }
  const std::uint64_t* words() const noexcept {
    return heap_bits_.empty() ? &inline_bits_ : heap_bits_.data();
  }
  std::uint64_t* words() noexcept { return heap_bits_.empty() ? &inline_bits_ : heap_bits_.data(); }

  std::size_t size_ = 0;
  std::uint64_t inline_bits_ = 0;         // positions 0-63 when size_ <= 64
  std::vector<std::uint64_t> heap_bits_;  // used instead when size_ > 64
  std::vector<std::error_code> errors_;   // empty until the first failure
  std::string key_bytes_;                 // all attached keys, back to back
  std::vector<std::uint32_t> key_ends_;   // end offset of key i in key_bytes_
};

namespace detail {

/// Places a repository's answer for `count` records of a batch into the
/// batch's result: record j's outcome at position `positions[j]`, a record
/// the answer does not cover as outcome_unknown. Returns how many failed.
/// Not a template, so every store and tier shares this one copy.
inline std::size_t place_outcomes(const BatchResult& stored, std::size_t count,
                                  const std::size_t* positions, BatchResult& result) {
  std::size_t failures = 0;
  for (std::size_t j = 0; j < count; ++j) {
    const std::size_t i = positions[j];
    if (j < stored.size() && stored.stored(j)) {
      result.mark_stored(i);
    } else {
      result.mark_failed(
          i, j < stored.size() ? stored.error(j) : make_error_code(errc::outcome_unknown));
      ++failures;
    }
  }
  return failures;
}

}  // namespace detail
STRATA_END_NAMESPACE
