#pragma once
/// \file
/// The value types of the TieredStore API: what a write takes, what a delete
/// returns, and the store's options.

#include "strata/core/clock.hpp"
#include "strata/core/config.hpp"
#include "strata/core/error.hpp"
#include "strata/core/tier.hpp"

#include <array>         // std::array
#include <cstddef>       // std::size_t
#include <cstdint>       // std::uint8_t
#include <string_view>   // std::string_view
#include <system_error>  // std::error_code
#include <vector>        // std::vector

STRATA_BEGIN_NAMESPACE

/// One key/value pair to write. Views: the caller keeps the bytes alive for the call.
struct Item {
  /// A valid key (see is_valid_key), else the item fails with errc::invalid_key.
  std::string_view key;
  std::string_view value;  ///< the bytes to store, up to StoreOptions::max_value_bytes
  Millis ttl{0};  ///< time to live; zero means the record never expires; negative is invalid_ttl
  /// The codec that encoded `value` (1-15, see codec/codec.hpp), carried in the
  /// envelope and handed back by reads; 0 for raw bytes; above 15 is invalid_codec_tag.
  std::uint8_t codec_tag = 0;
};

/// What a read does when the routed tier cannot answer with a value.
enum class ReadFallback {
  none,              ///< the routed tier's answer is final
  on_miss,           ///< an absent key is looked up in the lower tiers (hot -> warm -> cold)
  on_miss_or_error,  ///< also when the routed tier failed; a lower tier's value then wins, and
                     ///< if no lower tier has it the original error is reported, never "absent"
};

/// How a TieredStore validates writes, falls back on reads and tells time.
struct StoreOptions {
  /// Largest value accepted, in bytes; a larger one fails with value_too_large.
  std::size_t max_value_bytes = STRATA_DEFAULT_MAX_VALUE_BYTES;
  /// What a read does when the routed tier has no value (see ReadFallback).
  ReadFallback read_fallback = ReadFallback::none;
  /// Stamps created/updated times and decides expiry; the system clock by default.
  Clock clock{};
  /// How long a key whose write ended with an outcome the server may still
  /// apply (errc::outcome_unknown, timeout, malformed_response) is not filled
  /// into the cache by reads: a read in that window could cache the old value
  /// and keep it after the write lands. Set it above the tiers' longest
  /// command or statement timeout plus their retries; zero turns the hold off.
  Millis unknown_outcome_hold{30'000};
};

/// Whether a read consults the cache.
enum class ReadMode {
  cached,   ///< the cache first, then the tiers for what it misses (the default)
  refresh,  ///< the tiers for every key, and the cache refreshed with what they answer: the way
            ///< to read back a key whose write ended with errc::outcome_unknown
};

/// The outcome of batch_delete / erase.
struct DeleteResult {
  /// Input positions whose key is invalid (errc::invalid_key), in input
  /// order: no tier was asked about them, since no such key can be stored.
  std::vector<std::size_t> invalid_keys{};
  /// Records removed, summed over tiers. A key normally lives in its routed
  /// tier only; one copied to several tiers (rehydrate, demote) counts once per
  /// tier that held it.
  std::size_t erased = 0;
  /// `erased` split by tier, indexed by index_of(Tier).
  std::array<std::size_t, tier_count> erased_by_tier{};
  /// Per tier: set when that tier could not complete the erase (its keys may
  /// remain there). The cache is invalidated regardless.
  std::array<std::error_code, tier_count> errors{};

  /// True when no tier reported an error and every key was valid.
  bool ok() const noexcept { return !error(); }
  /// The first tier error, hot to cold; else errc::invalid_key when a key was
  /// invalid; empty when ok().
  std::error_code error() const noexcept {
    for (const auto& e : errors)
      if (e) return e;
    if (!invalid_keys.empty()) return make_error_code(errc::invalid_key);
    return {};
  }
};

STRATA_END_NAMESPACE
