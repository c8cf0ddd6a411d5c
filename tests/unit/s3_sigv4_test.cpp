// SigV4 against AWS's published vectors: the S3 test server does not check
// signatures, so these are the only guard of the signer.
#include <strata/backends/s3_sigv4.hpp>

#include <gtest/gtest.h>

namespace {

using namespace strata::sigv4;

constexpr const char* empty_sha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

// AWS Signature Version 4 test suite: credentials, scope and time shared by its vectors.
const Credentials suite{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"};
const Scope suite_scope{"20150830", "us-east-1", "service"};
constexpr const char* suite_date = "20150830T123600Z";

Request suite_get(std::string_view query) {
  return Request{"GET",
                 "/",
                 query,
                 {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", suite_date}},
                 empty_sha256};
}

TEST(SigV4, GetVanilla) {
  const Request request = suite_get("");
  EXPECT_EQ(
      canonical_request(request),
      "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" +
          std::string(empty_sha256));
  EXPECT_EQ(authorization(suite, suite_scope, suite_date, request),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            "SignedHeaders=host;x-amz-date, "
            "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

TEST(SigV4, GetVanillaQueryOrderKeyCase) {
  // The query is signed sorted, whatever order it was given in.
  EXPECT_EQ(signature(suite, suite_scope, suite_date, suite_get("Param2=value2&Param1=value1")),
            "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
}

TEST(SigV4, S3GetObjectExampleFromTheS3Documentation) {
  // "Example: GET Object" in the S3 API reference (sig-v4-header-based-auth).
  const Credentials credentials{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"};
  const Scope scope{"20130524", "us-east-1", "s3"};
  const Request request{"GET",
                        "/test.txt",
                        "",
                        {{"Host", "examplebucket.s3.amazonaws.com"},
                         {"Range", "bytes=0-9"},
                         {"x-amz-content-sha256", empty_sha256},
                         {"x-amz-date", "20130524T000000Z"}},
                        empty_sha256};
  EXPECT_EQ(string_to_sign("20130524T000000Z", scope, canonical_request(request)),
            "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
            "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
  EXPECT_EQ(signature(credentials, scope, "20130524T000000Z", request),
            "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(SigV4, HeaderValuesAreTrimmedAndQueryFlagsGetAnEqualsSign) {
  const auto [block, names] = canonical_headers({{"X-B", "  a   b  "}, {"x-a", "v"}});
  EXPECT_EQ(block, "x-a:v\nx-b:a b\n");
  EXPECT_EQ(names, "x-a;x-b");
  EXPECT_EQ(sorted_query("delete&a=1"), "a=1&delete=");
}

}  // namespace
