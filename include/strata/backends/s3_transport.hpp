#pragma once
/// \file
/// The S3 tier's HTTP engine over libcurl's multi interface: runs a batch of
/// requests with at most `concurrency` in flight on reused keep-alive
/// connections, and retries the ones that failed for a transient reason
/// (connection errors, timeouts, 5xx, 429/SlowDown) with exponential backoff
/// and full jitter, bounded both in attempts and in time.
///
/// It knows HTTP, not S3: the caller signs each attempt (a signature carries
/// its time, so a retry is signed anew) and reads the responses.

#include "strata/core/clock.hpp"
#include "strata/core/config.hpp"
#include "strata/core/entropy.hpp"

#include <algorithm>    // std::min, std::max
#include <array>        // std::array
#include <atomic>       // std::atomic
#include <chrono>       // std::chrono
#include <cstddef>      // std::size_t
#include <cstdint>      // std::uint64_t
#include <functional>   // std::greater
#include <new>          // std::bad_alloc
#include <queue>        // std::priority_queue
#include <span>         // std::span
#include <string>       // std::string
#include <string_view>  // std::string_view
#include <thread>       // std::this_thread::sleep_until
#include <utility>      // std::pair, std::exchange
#include <vector>       // std::vector

#include <curl/curl.h>

STRATA_BEGIN_NAMESPACE

/// How the S3 tier retries a request that failed for a transient reason.
struct S3RetryPolicy {
  int max_attempts = 4;    ///< attempts per request, the first included; 1: never retry
  Millis base_delay{25};   ///< the n-th retry waits a random time in [0, base * 2^(n-1)]
  Millis max_delay{1000};  ///< cap of that bound
  Millis budget{5000};     ///< no retry starts later than this after the request's first attempt
};

namespace detail::s3 {

using Steady = std::chrono::steady_clock;

/// What a request does, for the per-kind request counters.
enum class Operation : unsigned char {
  put_object,
  get_object,
  head_object,
  delete_objects,
  list_objects
};
inline constexpr std::size_t operation_count = 5;

enum class Method : unsigned char { get, head, put, post };

inline std::string_view method_name(Method m) noexcept {
  switch (m) {
    case Method::get:
      return "GET";
    case Method::head:
      return "HEAD";
    case Method::put:
      return "PUT";
    case Method::post:
      return "POST";
  }
  return "GET";
}

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  Operation operation{};
  Method method{};
  std::string url;              ///< complete, already encoded
  std::string canonical_uri;    ///< the encoded path, as signed
  std::string canonical_query;  ///< the encoded query, as signed
  Headers headers{};            ///< request-specific headers (signed), e.g. Content-MD5
  std::string_view body{};      ///< owned by the caller for the duration of the run
  std::string payload_sha256{};
  /// For a GetObject: the strata key the object holds (owned by the caller),
  /// so that what comes back can be verified as that key's envelope.
  std::string_view record_key{};
};

struct HttpResponse {
  long status = 0;            ///< 0 when no HTTP response arrived
  CURLcode error = CURLE_OK;  ///< the last attempt's transport error
  bool maybe_reached =
      false;  ///< some attempt may have reached the server (a write may be applied)
  int attempts = 0;
  std::string body;
  Headers amz_headers;  ///< response headers named x-amz-*, names lower-cased

  bool ok() const noexcept { return error == CURLE_OK && status >= 200 && status < 300; }
  std::string_view header(std::string_view name) const noexcept {
    for (const auto& [key, value] : amz_headers)
      if (key == name) return value;
    return {};
  }
};

/// Requests issued (attempts, retries included), per Operation.
struct RequestCounters {
  std::array<std::atomic<std::uint64_t>, operation_count> sent{};
  std::atomic<std::uint64_t> retries{0};
};

struct TransferOptions {
  std::size_t concurrency = 16;
  Millis connect_timeout{2000};
  Millis request_timeout{10000};
  S3RetryPolicy retry{};
};

/// Whether a transport error is a failure to connect. The request then did
/// not reach the server, unless curl had sent it on an earlier connection
/// (see Transport::run).
inline bool never_sent(CURLcode error) noexcept {
  return error == CURLE_COULDNT_CONNECT || error == CURLE_COULDNT_RESOLVE_HOST ||
         error == CURLE_COULDNT_RESOLVE_PROXY;
}

inline bool is_transient(CURLcode error, long status) noexcept {
  switch (error) {
    case CURLE_OK:
      return status >= 500 || status == 429;  // 503 is S3's SlowDown
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
      return true;
    default:
      return false;
  }
}

/// One curl multi handle and the easy handles it reuses: their keep-alive
/// connections survive from one run to the next. Not thread-safe: one run at
/// a time (the repository pools Transports).
class Transport {
 public:
  Transport() : multi_(curl_multi_init()) {
    if (multi_ == nullptr) throw std::bad_alloc();
  }
  Transport(Transport&& other) noexcept
      : multi_(std::exchange(other.multi_, nullptr)), idle_(std::move(other.idle_)) {}
  Transport& operator=(Transport&& other) noexcept {
    if (this != &other) {
      close();
      multi_ = std::exchange(other.multi_, nullptr);
      idle_ = std::move(other.idle_);
    }
    return *this;
  }
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;
  ~Transport() { close(); }

  /// Runs every request and returns one response per request, in order.
  /// `sign(request)` returns the headers of one attempt (Host, date,
  /// Authorization, ...), called again for each retry. `whole(request,
  /// response)` judges a successful response's body: one it rejects is
  /// retried like a 5xx (a server without atomic writes can serve an object
  /// mid-write), and returned as it is once the attempts run out.
  template <class Sign, class Whole>
  std::vector<HttpResponse> run(std::span<const HttpRequest> requests,
                                const TransferOptions& options, Sign&& sign, Whole&& whole,
                                RequestCounters& counters) {
    std::vector<HttpResponse> responses(requests.size());
    std::vector<Steady::time_point> first_attempt(requests.size());
    const std::size_t concurrency = std::max<std::size_t>(options.concurrency, 1);
    std::vector<Active> active;
    active.reserve(std::min(concurrency, requests.size()));
    using Retry = std::pair<Steady::time_point, std::size_t>;
    std::priority_queue<Retry, std::vector<Retry>, std::greater<>> retries;
    std::size_t next = 0;

    const auto start = [&](std::size_t index) {
      const HttpRequest& request = requests[index];
      HttpResponse& response = responses[index];
      if (response.attempts++ == 0) first_attempt[index] = Steady::now();
      response.body.clear();
      response.amz_headers.clear();
      Active slot{index, take_easy(), nullptr};
      for (const auto& [name, value] : sign(request)) append_header(slot.headers, name, value);
      append_line(slot.headers, "Expect:");  // removes curl's own: no 100-continue round trip
      configure(slot.easy, request, response, slot.headers, options);
      counters.sent[static_cast<std::size_t>(request.operation)].fetch_add(
          1, std::memory_order_relaxed);
      curl_multi_add_handle(multi_, slot.easy);
      active.push_back(slot);
    };

    const auto finish = [&](CURL* easy, CURLcode code) {
      const auto it = std::find_if(active.begin(), active.end(),
                                   [&](const Active& a) { return a.easy == easy; });
      const std::size_t index = it->index;
      curl_multi_remove_handle(multi_, easy);
      curl_slist_free_all(it->headers);
      idle_.push_back(easy);
      *it = active.back();
      active.pop_back();

      HttpResponse& response = responses[index];
      response.error = code;
      response.status = 0;
      if (code == CURLE_OK) curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &response.status);
      // curl retries a request whose reused connection died on a fresh one;
      // when that connect is refused, the first try may still have reached
      // the server: only a transfer that sent no request bytes is "never sent".
      long request_bytes = 0;
      curl_easy_getinfo(easy, CURLINFO_REQUEST_SIZE, &request_bytes);
      const bool unsent = never_sent(code) && request_bytes == 0;
      if (!unsent && !(code == CURLE_OK && response.status == 503)) response.maybe_reached = true;
      const bool transient = is_transient(code, response.status) ||
                             (response.ok() && !whole(requests[index], response));
      if (!transient || response.attempts >= options.retry.max_attempts) return;
      const auto now = Steady::now();
      const auto at = now + backoff(response.attempts, options.retry);
      if (at - first_attempt[index] > options.retry.budget) return;
      counters.retries.fetch_add(1, std::memory_order_relaxed);
      retries.emplace(at, index);
    };

    while (next < requests.size() || !retries.empty() || !active.empty()) {
      const auto now = Steady::now();
      while (active.size() < concurrency) {
        if (!retries.empty() && retries.top().first <= now) {
          const std::size_t index = retries.top().second;
          retries.pop();
          start(index);
        } else if (next < requests.size()) {
          start(next++);
        } else {
          break;
        }
      }
      if (active.empty()) {  // only retries left, none due yet
        std::this_thread::sleep_until(retries.top().first);
        continue;
      }
      int running = 0;
      curl_multi_perform(multi_, &running);
      int queued = 0;
      while (CURLMsg* message = curl_multi_info_read(multi_, &queued))
        if (message->msg == CURLMSG_DONE) finish(message->easy_handle, message->data.result);
      if (!active.empty() && running > 0) {
        int wait_ms = 100;
        if (!retries.empty())
          wait_ms = static_cast<int>(std::clamp<std::int64_t>(
              std::chrono::duration_cast<Millis>(retries.top().first - Steady::now()).count(), 0,
              100));
        curl_multi_poll(multi_, nullptr, 0, wait_ms, nullptr);
      }
    }
    return responses;
  }

 private:
  struct Active {
    std::size_t index;
    CURL* easy;
    curl_slist* headers;
  };

  void close() noexcept {
    for (CURL* easy : idle_) curl_easy_cleanup(easy);
    idle_.clear();
    if (multi_ != nullptr) curl_multi_cleanup(std::exchange(multi_, nullptr));
  }

  CURL* take_easy() {
    if (idle_.empty()) {
      CURL* easy = curl_easy_init();
      if (easy == nullptr) throw std::bad_alloc();
      return easy;
    }
    CURL* easy = idle_.back();
    idle_.pop_back();
    curl_easy_reset(easy);  // keeps the connection cache, forgets the last request's options
    return easy;
  }

  static void append_header(curl_slist*& list, std::string_view name, std::string_view value) {
    std::string line(name);
    // "Name;" sends an empty header; "Name:" would remove it.
    line.append(value.empty() ? ";" : ": ").append(value);
    append_line(list, line.c_str());
  }

  static void append_line(curl_slist*& list, const char* line) {
    curl_slist* appended = curl_slist_append(list, line);
    if (appended == nullptr) throw std::bad_alloc();
    list = appended;
  }

  static void configure(CURL* easy, const HttpRequest& request, HttpResponse& response,
                        curl_slist* headers, const TransferOptions& options) {
    curl_easy_setopt(easy, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(easy, CURLOPT_PATH_AS_IS, 1L);  // the signed path is the sent path
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(options.connect_timeout.count()));
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(options.request_timeout.count()));
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &on_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &response);
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &on_header);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, &response);
    switch (request.method) {
      case Method::get:
        curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
        break;
      case Method::head:
        curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
        break;
      case Method::put:
      case Method::post:
        // The body goes as it is from the caller's buffer, not copied.
        curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                         static_cast<curl_off_t>(request.body.size()));
        curl_easy_setopt(easy, CURLOPT_POSTFIELDS, request.body.data());
        curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method_name(request.method).data());
        break;
    }
  }

  static std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
    static_cast<HttpResponse*>(user)->body.append(data, size * count);
    return size * count;
  }

  static std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
    const std::string_view line(data, size * count);
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon < 6) return line.size();
    std::string name(line.substr(0, colon));
    for (char& c : name) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    if (!name.starts_with("x-amz-")) return line.size();
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
      value.remove_suffix(1);
    static_cast<HttpResponse*>(user)->amz_headers.emplace_back(std::move(name), value);
    return line.size();
  }

  /// Full jitter: a random wait in [0, min(max, base * 2^(n-1))].
  static Millis backoff(int attempt, const S3RetryPolicy& policy) {
    const int doublings = std::min(attempt - 1, 20);
    const std::int64_t bound =
        std::min<std::int64_t>(policy.max_delay.count(), policy.base_delay.count() << doublings);
    return Millis(static_cast<std::int64_t>(
        thread_random().up_to(static_cast<std::uint64_t>(std::max<std::int64_t>(bound, 0)))));
  }

  CURLM* multi_;
  std::vector<CURL*> idle_;
};

}  // namespace detail::s3

STRATA_END_NAMESPACE
