#pragma once
/// \file
/// LoadResult: per position, the bytes, "absent", or the error. Absent and
/// failed are distinct states, never confused.

#include "strata/core/config.hpp"
#include "strata/core/error.hpp"

#include <cstddef>       // std::size_t
#include <cstdint>       // std::uint8_t
#include <string>        // std::string
#include <string_view>   // std::string_view
#include <system_error>  // std::error_code
#include <utility>       // std::move
#include <vector>        // std::vector

STRATA_BEGIN_NAMESPACE

/// What a read found for one key.
enum class LookupStatus : unsigned char {
  absent,  ///< no record (never stored, erased, or expired)
  found,   ///< `value` holds the bytes
  failed,  ///< `error` says why the key could not be read
};

/// The outcome for one key. From a Repository, `value` is the stored envelope;
/// from a TieredStore, the user's value (envelope decoded and verified).
struct Lookup {
  LookupStatus status = LookupStatus::absent;  ///< found, absent or failed
  std::string value{};                         ///< the bytes when found; empty otherwise
  std::error_code error{};                     ///< why the read failed; empty unless failed
  /// From a TieredStore: the codec tag the value was written with (0: raw
  /// bytes), for a typed reader to check. From a Repository: always 0.
  std::uint8_t codec_tag = 0;

  /// True when `value` holds the record.
  bool found() const noexcept { return status == LookupStatus::found; }
  /// True when there is no record (never stored, erased or expired).
  bool absent() const noexcept { return status == LookupStatus::absent; }
  /// True when the key could not be read; `error` says why.
  bool failed() const noexcept { return status == LookupStatus::failed; }
  /// True when found.
  explicit operator bool() const noexcept { return found(); }
};

/// One Lookup per input key, in input order.
class LoadResult {
 public:
  LoadResult() = default;
  /// `size` lookups, each failed with errc::outcome_unknown until set: a
  /// repository that forgets a position never claims the key is absent (a
  /// claim of absence nobody made), just as BatchResult never claims a store.
  explicit LoadResult(std::size_t size)
      : slots_(size, Lookup{LookupStatus::failed, {}, make_error_code(errc::outcome_unknown), 0}) {}

  /// The number of keys looked up.
  std::size_t size() const noexcept { return slots_.size(); }
  /// The lookup of the i-th key, in input order.
  ///@{
  const Lookup& operator[](std::size_t i) const noexcept { return slots_[i]; }
  Lookup& operator[](std::size_t i) noexcept { return slots_[i]; }
  ///@}
  /// Iteration over the lookups in input order.
  ///@{
  auto begin() const noexcept { return slots_.begin(); }
  auto end() const noexcept { return slots_.end(); }
  ///@}

  /// Makes this `size` lookups, each failed with errc::outcome_unknown as in
  /// a new LoadResult, keeping the capacity of the value strings it already
  /// holds: a result read into again and again allocates for a value only
  /// when it outgrows the one before it at that position.
  void reset(std::size_t size) {
    slots_.resize(size);
    for (Lookup& slot : slots_) {
      slot.status = LookupStatus::failed;
      slot.value.clear();
      slot.error = make_error_code(errc::outcome_unknown);
      slot.codec_tag = 0;
    }
  }

  /// Sets key i found with `value` (and its codec tag).
  void set_found(std::size_t i, std::string value, std::uint8_t codec_tag = 0) {
    slots_[i].status = LookupStatus::found;
    slots_[i].value = std::move(value);
    slots_[i].error.clear();
    slots_[i].codec_tag = codec_tag;
  }
  /// Sets key i found with a copy of `value`, written into the string the
  /// slot already holds (no allocation when its capacity suffices).
  void set_found_copy(std::size_t i, std::string_view value, std::uint8_t codec_tag = 0) {
    slots_[i].status = LookupStatus::found;
    slots_[i].value.assign(value);
    slots_[i].error.clear();
    slots_[i].codec_tag = codec_tag;
  }
  /// Sets key i absent.
  void set_absent(std::size_t i) noexcept {
    slots_[i].status = LookupStatus::absent;
    slots_[i].value.clear();
    slots_[i].error.clear();
  }
  /// Sets key i failed with `error`; an empty `error` reads as
  /// errc::outcome_unknown (a failure always says why).
  void set_failed(std::size_t i, std::error_code error) noexcept {
    slots_[i].status = LookupStatus::failed;
    slots_[i].value.clear();
    slots_[i].error = error ? error : make_error_code(errc::outcome_unknown);
  }
  /// Sets every key failed with `error` (the backend could not be reached).
  void fail_all(std::error_code error) noexcept {
    for (std::size_t i = 0; i < slots_.size(); ++i) set_failed(i, error);
  }

  /// How many lookups have `status`.
  std::size_t count(LookupStatus status) const noexcept {
    std::size_t n = 0;
    for (const auto& slot : slots_) n += slot.status == status;
    return n;
  }
  /// How many keys were found.
  std::size_t found_count() const noexcept { return count(LookupStatus::found); }

 private:
  std::vector<Lookup> slots_;
};

STRATA_END_NAMESPACE
