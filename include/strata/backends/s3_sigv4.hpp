#pragma once
/// \file
/// AWS Signature Version 4 for the S3 tier (issue 6): canonical request,
/// string to sign, signing key, Authorization header. OpenSSL (libcrypto)
/// provides SHA-256 and HMAC; everything else is here, because no Debian
/// package signs with SigV4 (libs3 signs with SigV2 only).
///
/// The test server does not check signatures, so AWS's published vectors in
/// tests/unit/s3_sigv4_test.cpp are the only guard of this file.

#include "strata/core/config.hpp"

#include <algorithm>    // std::sort
#include <cctype>       // std::tolower
#include <cstddef>      // std::size_t
#include <string>       // std::string
#include <string_view>  // std::string_view
#include <utility>      // std::pair
#include <vector>       // std::vector

#include <openssl/evp.h>
#include <openssl/hmac.h>

STRATA_BEGIN_NAMESPACE

namespace sigv4 {

/// Credentials; the secret is only ever fed to HMAC, never formatted.
struct Credentials {
  std::string access_key;  ///< the access key id
  std::string secret_key;  ///< fed to HMAC only
};

/// What is signed. Header names may be in any case and may repeat; values
/// are trimmed and inner whitespace collapsed, as the canonical form requires.
struct Request {
  std::string_view method;           ///< "GET", "PUT", ...
  std::string_view canonical_uri;    ///< the path, already URI-encoded ("/" for none)
  std::string_view canonical_query;  ///< already encoded, in any order: sorted here
  std::vector<std::pair<std::string, std::string>> headers;  ///< host and x-amz-date included
  std::string_view payload_sha256;                           ///< hex, or "UNSIGNED-PAYLOAD"
};

/// The credential scope a signature is bound to.
struct Scope {
  std::string_view date;     ///< YYYYMMDD, the day of amz_date
  std::string_view region;   ///< the bucket's region, e.g. us-east-1
  std::string_view service;  ///< "s3"
};

/// Lower-case hex of `n` bytes.
inline std::string hex(const unsigned char* bytes, std::size_t n) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(2 * n, '0');
  for (std::size_t i = 0; i < n; ++i) {
    out[2 * i] = digits[bytes[i] >> 4];
    out[2 * i + 1] = digits[bytes[i] & 15];
  }
  return out;
}

/// Lower-case hex SHA-256 of `data`: a payload hash.
inline std::string sha256_hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), digest, &n, EVP_sha256(), nullptr);
  return hex(digest, n);
}

/// Raw (binary) HMAC-SHA256 of `data` under `key`.
inline std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &n);
  return std::string(reinterpret_cast<const char*>(mac), n);
}

/// The canonical query: "a=1&b=2", its parameters sorted by name, then by
/// value, byte by byte on the encoded text. Sorting whole "name=value"
/// strings is not the same order: it puts "a-b=2" before "a=1" ('-' sorts
/// below '='), which AWS rejects as SignatureDoesNotMatch. A parameter with
/// no '=' is signed with an empty value ("acl" -> "acl=").
inline std::string sorted_query(std::string_view query) {
  std::vector<std::pair<std::string_view, std::string_view>> parameters;
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (part.empty()) continue;
    const std::size_t eq = part.find('=');
    parameters.emplace_back(part.substr(0, eq), eq == std::string_view::npos ? std::string_view{}
                                                                             : part.substr(eq + 1));
  }
  std::sort(parameters.begin(), parameters.end());
  std::string out;
  for (const auto& [name, value] : parameters) {
    if (!out.empty()) out.push_back('&');
    out.append(name).append("=").append(value);
  }
  return out;
}

/// A header value as signed: leading and trailing whitespace dropped, and
/// every inner run of whitespace (spaces, tabs, the line breaks of a folded
/// value) one space.
inline std::string canonical_header_value(std::string_view value) {
  const auto is_space = [](char ch) { return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n'; };
  std::string out;
  out.reserve(value.size());
  bool pending_space = false;
  for (char ch : value) {
    if (is_space(ch)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(ch);
  }
  return out;
}

/// The canonical headers block and the signed-headers list. Names are
/// lower-cased and sorted; a name given more than once is one line, its
/// values joined by ',' in the order given, and is listed once in the
/// signed headers.
inline std::pair<std::string, std::string> canonical_headers(
    const std::vector<std::pair<std::string, std::string>>& headers) {
  std::vector<std::pair<std::string, std::string>> canonical;
  canonical.reserve(headers.size());
  for (const auto& [name, value] : headers) {
    std::string lower;
    lower.reserve(name.size());
    for (char ch : name)
      lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(ch))));
    canonical.emplace_back(std::move(lower), canonical_header_value(value));
  }
  // Stable, by name only: repeated names keep their values' order.
  std::stable_sort(canonical.begin(), canonical.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string block, signed_names;
  for (std::size_t i = 0; i < canonical.size(); ++i) {
    const std::string& name = canonical[i].first;
    const bool repeats_previous = i > 0 && canonical[i - 1].first == name;
    if (repeats_previous) {
      block.back() = ',';  // the previous line's '\n'
    } else {
      block.append(name).append(":");
      if (!signed_names.empty()) signed_names.push_back(';');
      signed_names.append(name);
    }
    block.append(canonical[i].second).append("\n");
  }
  return {block, signed_names};
}

/// The canonical request SigV4 hashes: method, path, sorted query, canonical headers, signed header
/// names and payload hash, one per line.
inline std::string canonical_request(const Request& request) {
  const auto [headers, signed_names] = canonical_headers(request.headers);
  std::string out;
  out.append(request.method).append("\n");
  out.append(request.canonical_uri.empty() ? std::string_view("/") : request.canonical_uri);
  out.append("\n").append(sorted_query(request.canonical_query)).append("\n");
  out.append(headers).append("\n").append(signed_names).append("\n");
  out.append(request.payload_sha256);
  return out;
}

/// `date/region/service/aws4_request`.
inline std::string credential_scope(const Scope& scope) {
  return std::string(scope.date) + "/" + std::string(scope.region) + "/" +
         std::string(scope.service) + "/aws4_request";
}

/// The string SigV4 signs: the algorithm, the request time, the scope and the canonical request's
/// hash.
inline std::string string_to_sign(std::string_view amz_date, const Scope& scope,
                                  std::string_view canonical) {
  return "AWS4-HMAC-SHA256\n" + std::string(amz_date) + "\n" + credential_scope(scope) + "\n" +
         sha256_hex(canonical);
}

/// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request").
inline std::string signing_key(std::string_view secret, const Scope& scope) {
  std::string key = hmac_sha256("AWS4" + std::string(secret), scope.date);
  key = hmac_sha256(key, scope.region);
  key = hmac_sha256(key, scope.service);
  return hmac_sha256(key, "aws4_request");
}

/// The signature under a signing key already derived for `scope` (it
/// changes once a day, so a client derives it once, not per request).
inline std::string signature_with_key(std::string_view key, const Scope& scope,
                                      std::string_view amz_date, const Request& request) {
  const std::string mac =
      hmac_sha256(key, string_to_sign(amz_date, scope, canonical_request(request)));
  return hex(reinterpret_cast<const unsigned char*>(mac.data()), mac.size());
}

/// The request's signature: hex HMAC-SHA256 of the string to sign with the key derived from the
/// secret.
inline std::string signature(const Credentials& credentials, const Scope& scope,
                             std::string_view amz_date, const Request& request) {
  return signature_with_key(signing_key(credentials.secret_key, scope), scope, amz_date, request);
}

/// The Authorization header's value, under a signing key derived for `scope`.
inline std::string authorization_with_key(std::string_view access_key, std::string_view key,
                                          const Scope& scope, std::string_view amz_date,
                                          const Request& request) {
  return "AWS4-HMAC-SHA256 Credential=" + std::string(access_key) + "/" + credential_scope(scope) +
         ", SignedHeaders=" + canonical_headers(request.headers).second +
         ", Signature=" + signature_with_key(key, scope, amz_date, request);
}

/// The Authorization header's value.
inline std::string authorization(const Credentials& credentials, const Scope& scope,
                                 std::string_view amz_date, const Request& request) {
  return authorization_with_key(credentials.access_key, signing_key(credentials.secret_key, scope),
                                scope, amz_date, request);
}

}  // namespace sigv4

STRATA_END_NAMESPACE
