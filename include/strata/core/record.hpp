#pragma once
/// \file
/// What a repository is handed to store, and what its reads and erases return
/// (other than BatchResult, which has a header of its own).

#include "strata/core/clock.hpp"
#include "strata/core/config.hpp"

#include <cstddef>       // std::size_t
#include <optional>      // std::optional
#include <string>        // std::string
#include <string_view>   // std::string_view
#include <system_error>  // std::error_code
#include <vector>        // std::vector

STRATA_BEGIN_NAMESPACE

/// One record to store: a key and its encoded envelope. Views only: the
/// caller owns the bytes for the duration of the store_many call, which lets a
/// batch encode every envelope into one buffer.
struct Record {
  std::string_view key;       ///< a valid key (see is_valid_key)
  std::string_view envelope;  ///< the whole envelope: header and value
  /// The envelope's expiry, decoded once by the store so that a backend with
  /// native expiry (Redis PX, an SQL column) need not parse the envelope.
  std::optional<TimePoint> expires_at{};
};

/// Passed to TieredStore::store_records by a caller that has just decoded
/// every record's envelope without error (decode_envelope) and set each
/// Record::expires_at from it, as rehydrate does to report each record: the
/// store then does not decode them a second time. The keys are still checked.
struct EnvelopesVerified {
  explicit EnvelopesVerified() = default;
};
/// The EnvelopesVerified tag: `store.store_records<T>(records, envelopes_verified)`.
inline constexpr EnvelopesVerified envelopes_verified{};

/// The outcome of an erase_many call.
struct EraseResult {
  std::size_t erased = 0;   ///< records that existed (and were not expired) and are now gone
  std::error_code error{};  ///< set when the backend could not complete the erase
};

/// One record returned by a scan.
struct ScannedRecord {
  std::string key;  ///< the key, as the caller wrote it (without a backend's namespace prefix)
  /// The envelope, not yet verified: a scan hands over what the backend holds.
  std::string envelope;
};

/// One page of a prefix scan. Pass next_cursor back to get the next page; a
/// page with done == true is the last. An empty cursor starts a scan.
struct ScanPage {
  /// Up to the requested number of records, in the backend's order.
  std::vector<ScannedRecord> records;
  std::string next_cursor;  ///< where the next page starts; opaque, backend-specific
  bool done = false;        ///< true on the last page
  std::error_code error{};  ///< set when the page could not be read; records is then empty
};

STRATA_END_NAMESPACE
