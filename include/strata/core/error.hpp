#pragma once
/// \file
/// strata's error vocabulary. Data-path outcomes are values (a std::error_code
/// per failed item, from strata::error_category()); exceptions rooted at
/// strata::Error are reserved for construction and misconfiguration
/// (docs/adr/0002-errors-as-values.md).

#include "strata/core/config.hpp"

#include <iterator>      // std::size, std::ssize
#include <stdexcept>     // std::runtime_error
#include <string>        // std::string
#include <system_error>  // std::error_code, std::error_category

STRATA_BEGIN_NAMESPACE

/// Every error strata reports on the data path. Zero is never used: a
/// default-constructed std::error_code means success. A new code goes last:
/// ErrorCategory's message table follows this order.
enum class errc {
  invalid_key = 1,      ///< the key is empty, too long or has a byte outside the allowed set
  value_too_large,      ///< the value exceeds StoreOptions::max_value_bytes
  backend_unavailable,  ///< the tier's server or file could not be reached
  timeout,              ///< the backend did not answer within its configured timeout
  checksum_mismatch,    ///< the stored value's XXH3-64 differs from the envelope's
  corrupt_record,       ///< the stored bytes are not a strata envelope this version can read
  pool_exhausted,       ///< no pooled connection became free within the checkout timeout
  outcome_unknown,      ///< the backend did not confirm whether the write was applied
  tier_not_configured,  ///< the router chose a tier this store was composed without
  invalid_ttl,          ///< the time to live is negative, or expires after latest_expiry
  access_denied,        ///< the backend refused the configured credentials
  malformed_response,   ///< the backend answered with bytes that do not parse as its protocol
  invalid_codec_tag,    ///< an Item's codec tag is above 15 (the envelope has four bits for it)
  codec_mismatch,       ///< the record was written by another codec (or as raw bytes)
  encode_failed,        ///< the codec cannot represent the value (TypedStore says where)
  decode_failed,        ///< the stored bytes do not decode as the type (TypedStore says where)
  not_found,            ///< the bucket, table or snapshot the call names does not exist
  name_too_long,        ///< valid key, but its name in the backend exceeds the backend's limit
};

namespace detail {

class ErrorCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "strata"; }

  std::string message(int value) const override {
    if (value == static_cast<int>(errc::invalid_key))
      return "invalid key: a key must be 1 to " + std::to_string(STRATA_MAX_KEY_BYTES) +
             " bytes of printable ASCII (0x21-0x7E: no spaces, control or non-ASCII bytes)";
    if (value > static_cast<int>(errc::invalid_key) && value < std::ssize(messages))
      return messages[value];
    return "unknown strata error";
  }

 private:
  // One entry per errc, in the enum's order (a table rather than a switch of
  // returns: the messages are data, and the static_assert below catches a
  // code added without its message). invalid_key's names the configured key
  // limit, so message() builds it.
  static constexpr const char* messages[] = {
      nullptr,  // 0: success, never a strata error
      nullptr,  // invalid_key: built by message()
      "value too large: raise StoreOptions::max_value_bytes or split the value",
      "backend unavailable: the tier's server or storage could not be reached; "
      "check that it is running and reachable, then retry",
      "timeout: the backend did not answer in time; retry, or raise the tier's timeout",
      "checksum mismatch: the stored value does not match its checksum; the record "
      "is damaged, restore it from another tier or a backup",
      "corrupt record: the stored bytes are not a readable strata envelope "
      "(truncated, foreign, or written by a newer strata)",
      "connection pool exhausted: no connection became free within the checkout "
      "timeout; raise the pool size or overflow, or lower concurrency",
      "outcome unknown: the backend did not confirm this write; it may or may not "
      "have been applied, so read the key back before relying on it",
      "tier not configured: the router chose a tier this store has no repository for; "
      "fix the routing table or compose the store with that tier",
      "invalid ttl: a time to live must be positive, or zero for a record that "
      "never expires, and must expire by 9999-12-31 (use zero for 'never')",
      "access denied: the backend refused the configured credentials; check the "
      "password or user in the tier's options",
      "malformed response: the backend's answer could not be parsed, so its outcome is "
      "not known; check what answers on the tier's address",
      "invalid codec tag: a codec tag is 0 (raw bytes) to 15",
      "codec mismatch: the record was written by another codec or as raw bytes; read "
      "it with the codec whose tag it carries",
      "encode failed: the codec cannot represent this value faithfully; the codec "
      "error names the field",
      "decode failed: the stored bytes do not decode as this type (a schema change, "
      "or a writer with another type); the codec error names the field",
      "not found: the bucket, table or snapshot named does not exist; check the name "
      "(and for a bucket, the endpoint and region)",
      "name too long for the backend: the key is valid, but prefixed and escaped it "
      "exceeds what the backend can name (S3: 1024 bytes); use a shorter key or prefix",
  };
  static_assert(std::size(messages) == static_cast<std::size_t>(errc::name_too_long) + 1,
                "every errc needs its message, in the enum's order");
};

}  // namespace detail

/// The category of every strata::errc.
inline const std::error_category& error_category() noexcept {
  static const detail::ErrorCategory category;
  return category;
}

/// Makes an errc a std::error_code of strata's category (found by ADL, so `std::error_code ec =
/// errc::timeout;` works).
inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

/// Whether a write that failed with `error` may still be applied by the server
/// later: the request went out and no answer said it was refused
/// (errc::outcome_unknown, errc::timeout, errc::malformed_response). A
/// repository reports one of these for every write it cannot rule out.
inline bool write_may_still_land(std::error_code error) noexcept {
  return error == make_error_code(errc::outcome_unknown) ||
         error == make_error_code(errc::timeout) ||
         error == make_error_code(errc::malformed_response);
}

/// Root of strata's exceptions, thrown only for construction and
/// misconfiguration (never for the outcome of a data-path call).
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A store, router or repository was configured inconsistently.
class ConfigError : public Error {
 public:
  using Error::Error;
};

STRATA_END_NAMESPACE

/// \cond
// Specialisations of fmt's and std's templates: documented in the \file
// comment above, kept out of the reference (Doxygen cannot place them).
template <>
struct std::is_error_code_enum<strata::errc> : std::true_type {};
/// \endcond
