#pragma once
/// \file
/// S3Repository: the COLD tier over any S3-compatible object store, on
/// libcurl + OpenSSL (CMake component strata::s3).
///
/// - store_many: one PUT per record, at most `concurrency` in flight on
///   keep-alive connections; per-object results (atomic_batches = false).
///   A record's expiry goes into the object's metadata
///   (x-amz-meta-strata-expires-at, Unix milliseconds).
/// - load_many: concurrent GETs; an object whose metadata or envelope says it
///   has expired is absent.
/// - erase_many: DeleteObjects (POST ?delete, Content-MD5) with at most
///   `delete_batch` (≤ 1000) keys per request, each key's Deleted / Error
///   read from the answer. S3 reports a key that did not exist as deleted,
///   so to return how many keys existed, erase_many first HEADs every key
///   (concurrently); `count_erased = false` skips that and returns the
///   number the server reported deleted, for cleanups that need no count.
/// - scan: ListObjectsV2 pages (the continuation token is the cursor), then
///   concurrent GETs of the page's objects.
/// - Every request is signed with SigV4 (s3_sigv4.hpp); transient failures
///   are retried with backoff and jitter (s3_transport.hpp, S3RetryPolicy).
///
/// After retries run out, a PUT that may have reached the server is reported
/// outcome_unknown; one that certainly did not (connection refused, 503
/// SlowDown) backend_unavailable; 403 is access_denied; an answer that does
/// not parse is malformed_response, never trusted.
///
/// Keys become object names as s3_names.hpp describes (usually unchanged).
///
/// Thread safety: every member may be called concurrently; each call leases
/// its own curl multi handle (and its connections) from a pool.

#include "strata/backends/s3_names.hpp"
#include "strata/backends/s3_sigv4.hpp"
#include "strata/backends/s3_transport.hpp"
#include "strata/backends/s3_xml.hpp"
#include "strata/core/batch_result.hpp"
#include "strata/core/clock.hpp"
#include "strata/core/config.hpp"
#include "strata/core/envelope.hpp"
#include "strata/core/error.hpp"
#include "strata/core/key.hpp"
#include "strata/core/load_result.hpp"
#include "strata/core/record.hpp"
#include "strata/pool/connection_pool.hpp"

#include <algorithm>     // std::sort, std::unique, std::lower_bound, std::clamp
#include <charconv>      // std::from_chars
#include <chrono>        // std::chrono::system_clock
#include <cstddef>       // std::size_t
#include <cstdint>       // std::int64_t, std::uint64_t
#include <cstdlib>       // std::getenv
#include <ctime>         // gmtime_r, std::strftime
#include <memory>        // std::unique_ptr
#include <mutex>         // std::mutex, std::lock_guard
#include <optional>      // std::optional
#include <span>          // std::span
#include <string>        // std::string
#include <string_view>   // std::string_view
#include <system_error>  // std::error_code
#include <utility>       // std::move
#include <vector>        // std::vector

#include <openssl/evp.h>

STRATA_BEGIN_NAMESPACE

/// Static credentials for S3Options::credentials.
struct S3Credentials {
  std::string access_key;     ///< the access key id (AWS_ACCESS_KEY_ID)
  std::string secret_key;     ///< only ever fed to HMAC: never formatted or logged
  std::string session_token;  ///< for temporary credentials; empty: none
};

/// How an object's URL names its bucket.
enum class S3Addressing : unsigned char {
  virtual_hosted,  ///< https://bucket.host/key (AWS's default)
  path_style,      ///< https://host/bucket/key (most S3-compatible servers)
};

/// Where the COLD tier's bucket is, how requests are signed, and how failures are retried.
struct S3Options {
  std::string endpoint = "https://s3.amazonaws.com";  ///< scheme://host[:port]
  std::string region{};      ///< empty: AWS_REGION, then AWS_DEFAULT_REGION, then us-east-1
  std::string bucket{};      ///< the bucket; must exist
  std::string key_prefix{};  ///< prepended to every object name, e.g. "strata/"
  /// Virtual-hosted for AWS, path-style for most S3-compatible servers.
  S3Addressing addressing = S3Addressing::virtual_hosted;
  /// Empty: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN.
  std::optional<S3Credentials> credentials{};
  std::size_t concurrency = 16;     ///< requests in flight per call; 0 means 1
  Millis connect_timeout{2000};     ///< per connection attempt
  Millis request_timeout{10000};    ///< per attempt
  S3RetryPolicy retry{};            ///< which failures are retried, how often and for how long
  PoolOptions pool{};               ///< curl multi handles, one per concurrent call
  std::size_t delete_batch = 1000;  ///< keys per DeleteObjects request, 1 to 1000
  bool count_erased = true;         ///< HEAD before delete so erase_many counts what existed
  Clock clock{};                    ///< decides expiry; the system clock by default
};

/// Requests sent so far, retries included, by kind.
struct S3RequestCounts {
  std::uint64_t put_object = 0;      ///< PutObject requests
  std::uint64_t get_object = 0;      ///< GetObject requests
  std::uint64_t head_object = 0;     ///< HeadObject requests (erase_many's counting)
  std::uint64_t delete_objects = 0;  ///< DeleteObjects requests
  std::uint64_t list_objects = 0;    ///< ListObjectsV2 requests
  std::uint64_t retries = 0;         ///< of all the above, how many were retries
};

namespace detail::s3 {

inline constexpr std::string_view expiry_header = "x-amz-meta-strata-expires-at";
inline constexpr std::size_t max_object_name_bytes = 1024;  // S3's limit
inline constexpr std::string_view empty_sha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// base64(MD5(body)): the Content-MD5 S3 requires on DeleteObjects.
inline std::string content_md5(std::string_view body) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(body.data(), body.size(), digest, &n, EVP_md5(), nullptr);
  unsigned char encoded[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
  const int length = EVP_EncodeBlock(encoded, digest, static_cast<int>(n));
  return std::string(reinterpret_cast<const char*>(encoded), static_cast<std::size_t>(length));
}

/// "YYYYMMDDTHHMMSSZ", the x-amz-date of now.
inline std::string amz_date_now() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[17];
  std::strftime(text, sizeof text, "%Y%m%dT%H%M%SZ", &utc);
  return text;
}

inline std::string env_or(const char* name, std::string fallback = {}) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::string(value) : std::move(fallback);
}

/// Whether the record an object holds has expired, by its metadata or, for an
/// object written without it, its envelope.
inline bool expired(const HttpResponse& response, std::string_view key, std::string_view envelope,
                    TimePoint now) {
  const std::string_view header = response.header(expiry_header);
  std::int64_t ms = 0;
  if (!header.empty() &&
      std::from_chars(header.data(), header.data() + header.size(), ms).ec == std::errc{})
    return is_expired(TimePoint(Millis(ms)), now);
  return envelope_expired(key, envelope, now);
}

/// Whether an endpoint's host[:port] is an IP address (v4, or v6 in brackets).
inline bool is_ip_literal(std::string_view authority) noexcept {
  if (authority.starts_with('[')) return true;
  const std::string_view host = authority.substr(0, authority.rfind(':'));
  return !host.empty() && std::all_of(host.begin(), host.end(),
                                      [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
}

/// The error of a request that did not succeed, once retries ran out.
inline std::error_code failure(const HttpResponse& response, bool write) {
  if (response.error == CURLE_OK) {
    if (response.status == 403) return errc::access_denied;
    if (response.status == 404) return errc::not_found;  // no such bucket (a key's 404 is absent)
    if (write && response.status >= 500 && response.status != 503) return errc::outcome_unknown;
    return errc::backend_unavailable;
  }
  if (write && response.maybe_reached) return errc::outcome_unknown;
  if (response.error == CURLE_OPERATION_TIMEDOUT) return errc::timeout;
  return errc::backend_unavailable;
}

}  // namespace detail::s3

/// The COLD tier on S3 or an S3-compatible server through libcurl: one object per key, concurrent
/// requests signed with SigV4, retried with backoff. Models ScannableRepository.
class S3Repository {
  /// False: each object is stored or fails alone.
 public:
  static constexpr bool atomic_batches = false;

  /// Checks the options and finds the credentials; throws ConfigError when
  /// they are unusable. Never touches the network.
  explicit S3Repository(S3Options options) : state_(std::make_unique<State>(std::move(options))) {}

  /// PUTs every object, `concurrency` at a time; each is stored or fails alone. A request that may
  /// have reached the server and then failed is errc::outcome_unknown, never
  /// errc::backend_unavailable.
  BatchResult store_many(std::span<const Record> records) {
    BatchResult result(records.size());
    std::vector<detail::s3::HttpRequest> requests;
    std::vector<std::size_t> positions;
    requests.reserve(records.size());
    positions.reserve(records.size());
    for (std::size_t i = 0; i < records.size(); ++i) {
      std::string name;
      if (const std::error_code error = state_->object_name(records[i].key, name)) {
        result.mark_failed(i, error);
        continue;
      }
      detail::s3::HttpRequest& put = requests.emplace_back(
          state_->object_request(detail::s3::Operation::put_object, detail::s3::Method::put, name));
      put.body = records[i].envelope;
      put.payload_sha256 = sigv4::sha256_hex(put.body);
      put.headers.emplace_back("Content-Type", "application/octet-stream");
      if (records[i].expires_at)
        put.headers.emplace_back(detail::s3::expiry_header,
                                 std::to_string(records[i].expires_at->time_since_epoch().count()));
      positions.push_back(i);
    }
    const auto responses = state_->run(requests);
    if (!responses) {
      for (std::size_t i : positions) result.mark_failed(i, responses.error());
      return result;
    }
    for (std::size_t k = 0; k < positions.size(); ++k) {
      const detail::s3::HttpResponse& response = (*responses)[k];
      if (response.ok())
        result.mark_stored(positions[k]);
      else
        result.mark_failed(positions[k], detail::s3::failure(response, true));
    }
    return result;
  }

  /// GETs every key, `concurrency` at a time; an object past its expiry is absent.
  LoadResult load_many(std::span<const std::string_view> keys) {
    LoadResult result(keys.size());
    std::vector<std::size_t> positions;
    auto responses = state_->fetch(keys, detail::s3::Method::get, result, positions);
    if (!responses) return result;
    const TimePoint now = state_->options.clock.now();
    for (std::size_t k = 0; k < positions.size(); ++k) {
      detail::s3::HttpResponse& response = (*responses)[k];
      if (response.ok()) {
        if (!detail::s3::expired(response, keys[positions[k]], response.body, now))
          result.set_found(positions[k], std::move(response.body));
        else
          result.set_absent(positions[k]);
      } else if (response.error != CURLE_OK || response.status != 404 ||
                 detail::s3::error_code_of(response.body) == "NoSuchBucket") {
        result.set_failed(positions[k], detail::s3::failure(response, false));
      } else {
        result.set_absent(positions[k]);  // NoSuchKey
      }
    }
    return result;
  }

  /// Deletes the keys with DeleteObjects of up to `delete_batch` keys; with `count_erased` it first
  /// HEADs each key to count the ones that existed.
  EraseResult erase_many(std::span<const std::string_view> keys) {
    return erase(keys, state_->options.count_erased);
  }

  /// Live records whose key starts with `prefix`, in object-name order; the
  /// cursor is ListObjectsV2's continuation token. `limit` is at most 1000
  /// (S3's page size); a page may hold fewer (expired objects are skipped).
  ScanPage scan(std::string_view prefix, std::string_view cursor, std::size_t limit) {
    ScanPage page;
    ListedPage listed = list_page(prefix, cursor, limit);
    if (listed.error) {
      page.error = listed.error;
      return page;
    }
    std::vector<std::string_view> keys(listed.keys.begin(), listed.keys.end());
    LoadResult loaded = load_many(keys);
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (loaded[i].failed()) {  // a page with a hole would lose a record for the caller
        page.error = loaded[i].error;
        page.records.clear();
        return page;
      }
      if (loaded[i].found())
        page.records.push_back({std::move(listed.keys[i]), std::move(loaded[i].value)});
    }
    page.next_cursor = std::move(listed.next_token);
    page.done = page.next_cursor.empty();
    return page;
  }

  /// Deletes the expired objects under the key prefix, returning how many.
  /// Stops at the first page that cannot be listed (a later call goes on).
  std::size_t purge_expired() {
    std::size_t purged = 0;
    std::string cursor;
    do {
      ListedPage listed = list_page({}, cursor, 1000);
      if (listed.error) break;
      std::vector<std::string_view> keys(listed.keys.begin(), listed.keys.end());
      const Heads heads = head_many(keys);
      std::vector<std::string_view> expired;
      for (std::size_t i = 0; i < keys.size(); ++i)
        if (heads.states[i] == ObjectState::expired) expired.push_back(keys[i]);
      if (!expired.empty()) purged += erase(expired, false).erased;
      cursor = std::move(listed.next_token);
    } while (!cursor.empty());
    return purged;
  }

  /// The requests sent so far, by kind.
  S3RequestCounts request_counts() const noexcept {
    const auto& sent = state_->counters.sent;
    const auto get = [&](detail::s3::Operation op) {
      return sent[static_cast<std::size_t>(op)].load(std::memory_order_relaxed);
    };
    return {get(detail::s3::Operation::put_object),
            get(detail::s3::Operation::get_object),
            get(detail::s3::Operation::head_object),
            get(detail::s3::Operation::delete_objects),
            get(detail::s3::Operation::list_objects),
            state_->counters.retries.load(std::memory_order_relaxed)};
  }

 private:
  /// DeleteObjects of every distinct key; with `count`, HEADs first to learn
  /// which keys existed.
  EraseResult erase(std::span<const std::string_view> keys, bool count) {
    EraseResult result;
    // Each distinct valid key once, in name order: S3 answers per name.
    std::vector<std::pair<std::string, std::string_view>> targets;  // (name, key)
    targets.reserve(keys.size());
    for (std::string_view key : keys)
      if (std::string name; !state_->object_name(key, name))
        targets.emplace_back(std::move(name), key);
    std::sort(targets.begin(), targets.end());
    targets.erase(std::unique(targets.begin(), targets.end()), targets.end());
    if (targets.empty()) return result;

    std::vector<bool> existed(targets.size(), true);
    if (count) {
      std::vector<std::string_view> unique_keys;
      unique_keys.reserve(targets.size());
      for (const auto& target : targets) unique_keys.push_back(target.second);
      const Heads heads = head_many(unique_keys);
      for (std::size_t i = 0; i < targets.size(); ++i)
        existed[i] = heads.states[i] == ObjectState::live;
      result.error = heads.error;
    }

    const std::size_t per_request = state_->options.delete_batch;
    std::vector<std::string> bodies;
    std::vector<detail::s3::HttpRequest> requests;
    bodies.reserve((targets.size() + per_request - 1) / per_request);
    for (std::size_t first = 0; first < targets.size(); first += per_request) {
      std::vector<std::string> names;
      for (std::size_t i = first; i < std::min(targets.size(), first + per_request); ++i)
        names.push_back(targets[i].first);
      bodies.push_back(detail::s3::delete_request_body(names));
    }
    requests.reserve(bodies.size());
    for (const std::string& body : bodies) {
      detail::s3::HttpRequest& post = requests.emplace_back(state_->bucket_request(
          detail::s3::Operation::delete_objects, detail::s3::Method::post, "delete", "delete="));
      post.body = body;
      post.payload_sha256 = sigv4::sha256_hex(body);
      post.headers.emplace_back("Content-MD5", detail::s3::content_md5(body));
      post.headers.emplace_back("Content-Type", "application/xml");
    }
    const auto responses = state_->run(requests);
    if (!responses) {
      result.error = responses.error();
      return result;
    }
    std::vector<bool> deleted(targets.size(), false);
    for (std::size_t r = 0; r < requests.size(); ++r) {
      const detail::s3::HttpResponse& response = (*responses)[r];
      const auto answers =
          response.ok() ? detail::s3::parse_delete_result(response.body) : std::nullopt;
      if (!answers) {
        if (!result.error)
          result.error = response.ok() ? make_error_code(errc::malformed_response)
                                       : detail::s3::failure(response, true);
        continue;
      }
      for (const detail::s3::DeleteAnswer& answer : *answers) {
        const auto at = std::lower_bound(
            targets.begin(), targets.end(), answer.name,
            [](const auto& target, const std::string& name) { return target.first < name; });
        if (at == targets.end() || at->first != answer.name) continue;  // not asked: ignored
        const auto i = static_cast<std::size_t>(at - targets.begin());
        if (answer.error_code.empty()) {
          deleted[i] = true;
        } else if (!result.error) {
          result.error = answer.error_code == "AccessDenied"
                             ? make_error_code(errc::access_denied)
                             : make_error_code(errc::backend_unavailable);
        }
      }
    }
    for (std::size_t i = 0; i < targets.size(); ++i) {
      result.erased += deleted[i] && existed[i];
      if (!deleted[i] && !result.error) result.error = errc::malformed_response;  // unanswered
    }
    return result;
  }

  struct ListedPage {
    std::vector<std::string> keys;
    std::string next_token;  ///< empty on the last page
    std::error_code error{};
  };

  enum class ObjectState : unsigned char { absent, live, expired, failed };
  struct Heads {
    std::vector<ObjectState> states;
    std::error_code error{};  ///< the first failure's
  };

  /// HEAD of every key: whether its object is there, and live by its
  /// metadata (a HEAD has no body to read an envelope from).
  Heads head_many(std::span<const std::string_view> keys) {
    Heads heads{std::vector<ObjectState>(keys.size(), ObjectState::absent)};
    LoadResult invalid(keys.size());  // where fetch fails keys it could not send
    for (std::size_t i = 0; i < keys.size(); ++i) invalid.set_absent(i);
    std::vector<std::size_t> positions;
    const auto responses = state_->fetch(keys, detail::s3::Method::head, invalid, positions);
    for (std::size_t i = 0; i < keys.size(); ++i)
      if (invalid[i].failed()) heads.states[i] = ObjectState::failed;  // fetch failed these
    if (!responses) {
      heads.error = responses.error();
      return heads;
    }
    const TimePoint now = state_->options.clock.now();
    for (std::size_t k = 0; k < positions.size(); ++k) {
      const detail::s3::HttpResponse& response = (*responses)[k];
      ObjectState& state = heads.states[positions[k]];
      if (response.ok()) {
        state = detail::s3::expired(response, keys[positions[k]], {}, now) ? ObjectState::expired
                                                                           : ObjectState::live;
      } else if (response.error != CURLE_OK || response.status != 404) {
        state = ObjectState::failed;
        if (!heads.error) heads.error = detail::s3::failure(response, false);
      }
    }
    return heads;
  }

  ListedPage list_page(std::string_view prefix, std::string_view cursor, std::size_t limit) {
    ListedPage page;
    const std::string name_prefix =
        state_->options.key_prefix + detail::s3::escaped_list_prefix(prefix);
    std::string query =
        "list-type=2&max-keys=" + std::to_string(std::clamp<std::size_t>(limit, 1, 1000));
    if (!name_prefix.empty()) query += "&prefix=" + detail::s3::uri_encode(name_prefix, false);
    if (!cursor.empty()) query += "&continuation-token=" + detail::s3::uri_encode(cursor, false);
    std::vector<detail::s3::HttpRequest> requests;
    requests.push_back(state_->bucket_request(detail::s3::Operation::list_objects,
                                              detail::s3::Method::get, query, query));
    const auto responses = state_->run(requests);
    if (!responses) {
      page.error = responses.error();
      return page;
    }
    const detail::s3::HttpResponse& response = responses->front();
    if (!response.ok()) {
      page.error = detail::s3::failure(response, false);
      return page;
    }
    auto answer = detail::s3::parse_list_result(response.body);
    if (!answer) {
      page.error = errc::malformed_response;
      return page;
    }
    for (const std::string& name : answer->names) {
      if (!name.starts_with(state_->options.key_prefix)) continue;
      std::optional<std::string> key = detail::s3::unescape_key(
          std::string_view(name).substr(state_->options.key_prefix.size()));
      // Objects strata did not write, and keys the listing prefix let through
      // but the scan prefix does not (see escaped_list_prefix), are skipped.
      if (key && is_valid_key(*key) && key->starts_with(prefix))
        page.keys.push_back(std::move(*key));
    }
    page.next_token = std::move(answer->next_token);
    return page;
  }

  /// Either the responses or why no request could be sent.
  class Responses {
   public:
    Responses(std::vector<detail::s3::HttpResponse> responses) : responses_(std::move(responses)) {}
    Responses(std::error_code error) : error_(error) {}
    explicit operator bool() const noexcept { return !error_; }
    std::error_code error() const noexcept { return error_; }
    std::vector<detail::s3::HttpResponse>& operator*() noexcept { return responses_; }
    std::vector<detail::s3::HttpResponse>* operator->() noexcept { return &responses_; }
    const std::vector<detail::s3::HttpResponse>& operator*() const noexcept { return responses_; }
    const std::vector<detail::s3::HttpResponse>* operator->() const noexcept { return &responses_; }

   private:
    std::vector<detail::s3::HttpResponse> responses_;
    std::error_code error_{};
  };

  struct State {
    explicit State(S3Options opts)
        : options(std::move(opts)),
          pool(options.pool, [](std::error_code&) {  // a multi handle connects lazily
            return std::optional<detail::s3::Transport>(std::in_place);
          }) {
      static const CURLcode curl_ready = curl_global_init(CURL_GLOBAL_DEFAULT);
      if (curl_ready != CURLE_OK) throw Error("strata::S3Repository: curl_global_init failed");
      configure();
    }

    void configure() {
      const auto fail = [](const std::string& what) {
        throw ConfigError("strata::S3Repository: " + what);
      };
      const std::string_view endpoint = options.endpoint;
      const std::size_t scheme_end = endpoint.find("://");
      if (scheme_end == std::string_view::npos ||
          (endpoint.substr(0, scheme_end) != "http" && endpoint.substr(0, scheme_end) != "https"))
        fail("endpoint must be http://host[:port] or https://host[:port], not '" +
             options.endpoint + "'");
      scheme = std::string(endpoint.substr(0, scheme_end));
      authority = std::string(endpoint.substr(scheme_end + 3));
      while (!authority.empty() && authority.back() == '/') authority.pop_back();
      if (authority.empty() || authority.find('/') != std::string::npos)
        fail("endpoint must name a host and nothing after it, not '" + options.endpoint + "'");

      const std::string& bucket = options.bucket;
      const bool bucket_ok =
          bucket.size() >= 3 && bucket.size() <= 63 &&
          std::all_of(bucket.begin(), bucket.end(), [](char c) {
            return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
          });
      if (!bucket_ok) fail("bucket must be 3 to 63 of [a-z0-9.-], not '" + bucket + "'");

      const std::string& prefix = options.key_prefix;
      const bool prefix_ok = std::all_of(prefix.begin(), prefix.end(),
                                         [](char c) { return c >= 0x21 && c <= 0x7E; }) &&
                             detail::s3::escape_key(prefix) == prefix;
      if (!prefix_ok)
        fail("key_prefix must be printable ASCII without '%', empty or dot path segments, not '" +
             prefix + "'");
      if (options.delete_batch == 0 || options.delete_batch > 1000)
        fail("delete_batch must be 1 to 1000 (S3's limit per DeleteObjects)");

      if (options.region.empty())
        options.region =
            detail::s3::env_or("AWS_REGION", detail::s3::env_or("AWS_DEFAULT_REGION", "us-east-1"));
      if (!options.credentials) {
        S3Credentials found{detail::s3::env_or("AWS_ACCESS_KEY_ID"),
                            detail::s3::env_or("AWS_SECRET_ACCESS_KEY"),
                            detail::s3::env_or("AWS_SESSION_TOKEN")};
        if (found.access_key.empty() || found.secret_key.empty())
          fail(
              "no credentials: set S3Options::credentials, or AWS_ACCESS_KEY_ID and "
              "AWS_SECRET_ACCESS_KEY");
        options.credentials = std::move(found);
      }

      if (options.addressing == S3Addressing::virtual_hosted &&
          detail::s3::is_ip_literal(authority))
        fail("virtual-hosted addressing puts the bucket in the host name ('" + bucket + "." +
             authority +
             "'), which an IP-address endpoint cannot have: use path-style addressing "
             "(S3Options::addressing = S3Addressing::path_style; for the strata command, "
             "STRATA_S3_PATH_STYLE=1)");
      if (options.addressing == S3Addressing::path_style) {
        host = authority;
        bucket_path = "/" + bucket;
        object_path_prefix = bucket_path + "/";
      } else {
        host = bucket + "." + authority;
        bucket_path = "/";
        object_path_prefix = "/";
      }
      transfer.concurrency = options.concurrency;
      transfer.connect_timeout = options.connect_timeout;
      transfer.request_timeout = options.request_timeout;
      transfer.retry = options.retry;
    }

    /// prefix + escaped key, or nullopt for a key S3 cannot hold.
    /// The object name of `key` in `name`; invalid_key, or name_too_long for
    /// a valid key that prefixed and escaped is over S3's 1024 bytes.
    std::error_code object_name(std::string_view key, std::string& name) const {
      if (!is_valid_key(key)) return errc::invalid_key;
      name = options.key_prefix + detail::s3::escape_key(key);
      if (name.size() > detail::s3::max_object_name_bytes) return errc::name_too_long;
      return {};
    }

    detail::s3::HttpRequest object_request(detail::s3::Operation operation,
                                           detail::s3::Method method, std::string_view name) const {
      detail::s3::HttpRequest request;
      request.operation = operation;
      request.method = method;
      request.canonical_uri = object_path_prefix + detail::s3::uri_encode(name, true);
      request.url = scheme + "://" + host + request.canonical_uri;
      request.payload_sha256 = detail::s3::empty_sha256;
      return request;
    }

    /// A request on the bucket itself; `query` as sent, `canonical_query` as signed.
    detail::s3::HttpRequest bucket_request(detail::s3::Operation operation,
                                           detail::s3::Method method, std::string_view query,
                                           std::string_view canonical_query) const {
      detail::s3::HttpRequest request;
      request.operation = operation;
      request.method = method;
      request.canonical_uri = bucket_path;
      request.canonical_query = std::string(canonical_query);
      request.url = scheme + "://" + host + bucket_path + "?" + std::string(query);
      request.payload_sha256 = detail::s3::empty_sha256;
      return request;
    }

    /// The headers of one attempt: those the request carries, plus Host,
    /// the date, the payload hash and the Authorization that signs them all.
    detail::s3::Headers sign(const detail::s3::HttpRequest& request) const {
      const std::string amz_date = detail::s3::amz_date_now();
      const S3Credentials& credentials = *options.credentials;
      sigv4::Request signed_request{detail::s3::method_name(request.method), request.canonical_uri,
                                    request.canonical_query, request.headers,
                                    request.payload_sha256};
      auto& headers = signed_request.headers;
      headers.emplace_back("Host", host);
      headers.emplace_back("x-amz-date", amz_date);
      headers.emplace_back("x-amz-content-sha256", request.payload_sha256);
      if (!credentials.session_token.empty())
        headers.emplace_back("x-amz-security-token", credentials.session_token);
      const sigv4::Scope scope{std::string_view(amz_date).substr(0, 8), options.region, "s3"};
      std::string authorization = sigv4::authorization_with_key(
          credentials.access_key, signing_key(scope), scope, amz_date, signed_request);
      headers.emplace_back("Authorization", std::move(authorization));
      return std::move(headers);
    }

    /// A GET must bring a whole envelope: s3rver, for one, writes objects in
    /// place, and a GET racing a PUT of the same key can read half of it, or
    /// the old bytes with the new length. Real S3's PUTs are atomic, so there
    /// a retry is only ever a guard. Verified against the key the object
    /// holds (the envelope binds it), so a mix of two writes is retried.
    /// Only what can be a torn read is retried: a body that starts with the
    /// envelope's magic (or is a prefix of it, down to empty). Bytes that do
    /// not can never decode, so someone else's object fails at once as
    /// corrupt_record, with no retries.
    static bool whole_envelope(const detail::s3::HttpRequest& request,
                               const detail::s3::HttpResponse& response) {
      if (request.operation != detail::s3::Operation::get_object) return true;
      constexpr std::string_view magic = "STRA";
      const std::string_view body = response.body;
      const bool claims_envelope =
          body.size() < magic.size() ? magic.starts_with(body) : body.starts_with(magic);
      return !claims_envelope || static_cast<bool>(decode_envelope(request.record_key, body));
    }

    /// The day's signing key, derived once a day rather than per request
    /// (four HMACs, a quarter of the client's signing work).
    std::string signing_key(const sigv4::Scope& scope) const {
      std::lock_guard lock(key_mutex);
      if (key_date != scope.date) {
        key = sigv4::signing_key(options.credentials->secret_key, scope);
        key_date = std::string(scope.date);
      }
      return key;
    }

    Responses run(std::span<const detail::s3::HttpRequest> requests) {
      if (requests.empty()) return std::vector<detail::s3::HttpResponse>{};
      auto lease = pool.acquire();
      if (!lease) return lease.error();
      return lease->run(
          requests, transfer, [this](const detail::s3::HttpRequest& r) { return sign(r); },
          &whole_envelope, counters);
    }

    /// GET or HEAD of every key S3 can name; invalid ones fail in `result`.
    /// `positions[k]` is the input position of the k-th response.
    Responses fetch(std::span<const std::string_view> keys, detail::s3::Method method,
                    LoadResult& result, std::vector<std::size_t>& positions) {
      std::vector<detail::s3::HttpRequest> requests;
      requests.reserve(keys.size());
      positions.reserve(keys.size());
      const auto operation = method == detail::s3::Method::head ? detail::s3::Operation::head_object
                                                                : detail::s3::Operation::get_object;
      for (std::size_t i = 0; i < keys.size(); ++i) {
        std::string name;
        if (const std::error_code error = object_name(keys[i], name)) {
          result.set_failed(i, error);
          continue;
        }
        requests.push_back(object_request(operation, method, name));
        requests.back().record_key = keys[i];
        positions.push_back(i);
      }
      Responses responses = run(requests);
      if (!responses)
        for (std::size_t i : positions) result.set_failed(i, responses.error());
      return responses;
    }

    S3Options options;
    std::string scheme, authority, host, bucket_path, object_path_prefix;
    detail::s3::TransferOptions transfer{};
    detail::s3::RequestCounters counters{};
    mutable std::mutex key_mutex;
    mutable std::string key_date, key;  // guarded by key_mutex
    ConnectionPool<detail::s3::Transport> pool;
  };

  std::unique_ptr<State> state_;
};

STRATA_END_NAMESPACE
