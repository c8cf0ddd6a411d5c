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

Request suite_get_with(std::vector<std::pair<std::string, std::string>> extra) {
  Request request = suite_get("");
  request.headers.insert(request.headers.begin() + 1, extra.begin(), extra.end());
  return request;
}

std::string suite_authorization(const Request& request) {
  return authorization(suite, suite_scope, suite_date, request);
}

std::string suite_authorization_for(std::string_view signed_headers, std::string_view signature) {
  return "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
         "SignedHeaders=" +
         std::string(signed_headers) + ", Signature=" + std::string(signature);
}

TEST(SigV4, GetVanillaQueryOrderEncoded) {
  // Sorted by name, then value: "Param" before "Param-3", though '-' sorts
  // below '=' in the whole "name=value" strings.
  const Request request = suite_get("Param-3=Value3&Param=Value2&%E1%88%B4=Value1");
  EXPECT_EQ(sorted_query(request.canonical_query), "%E1%88%B4=Value1&Param=Value2&Param-3=Value3");
  EXPECT_EQ(
      suite_authorization(request),
      suite_authorization_for("host;x-amz-date",
                              "371d3713e185cc334048618a97f809c9ffe339c62934c032af5a0e595648fcac"));
}

TEST(SigV4, GetVanillaQueryOrderValueAndKey) {
  EXPECT_EQ(signature(suite, suite_scope, suite_date, suite_get("Param1=value2&Param1=value1")),
            "5772eed61e12b33fae39ee5e7012498b51d56abc0abb7c60486157bd471c4694");
  EXPECT_EQ(signature(suite, suite_scope, suite_date, suite_get("Param1=value2&Param1=Value1")),
            "eedbc4e291e521cf13422ffca22be7d2eb8146eecf653089df300a15b2382bd1");
}

TEST(SigV4, QueryParametersWhoseNamesArePrefixesSortFirst) {
  // The pairs strata's own listings could send.
  EXPECT_EQ(sorted_query("prefix-x=1&prefix=2"), "prefix=2&prefix-x=1");
  EXPECT_EQ(sorted_query("max-keys=5&max=1"), "max=1&max-keys=5");
  EXPECT_EQ(sorted_query("b=2&&a"), "a=&b=2");
}

TEST(SigV4, GetHeaderKeyDuplicate) {
  const Request request = suite_get_with(
      {{"My-Header1", "value2"}, {"My-Header1", "value2"}, {"My-Header1", "value1"}});
  EXPECT_EQ(canonical_headers(request.headers).first,
            "host:example.amazonaws.com\nmy-header1:value2,value2,value1\n"
            "x-amz-date:20150830T123600Z\n");
  EXPECT_EQ(
      suite_authorization(request),
      suite_authorization_for("host;my-header1;x-amz-date",
                              "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea"));
}

TEST(SigV4, GetHeaderValueOrder) {
  const Request request = suite_get_with({{"My-Header1", "value4"},
                                          {"My-Header1", "value1"},
                                          {"My-Header1", "value3"},
                                          {"My-Header1", "value2"}});
  EXPECT_EQ(
      suite_authorization(request),
      suite_authorization_for("host;my-header1;x-amz-date",
                              "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01"));
}

TEST(SigV4, GetHeaderValueMultiline) {
  // A folded value: its line breaks and indentation are one space each. The
  // vector of AWS's 2015 suite (canonical "value1 value2 value3"); later
  // copies of the suite (aws-c-auth) changed this case to comma-joined values.
  const Request request = suite_get_with({{"My-Header1", "value1\n  value2\n     value3"}});
  EXPECT_EQ(canonical_header_value("value1\n  value2\n     value3"), "value1 value2 value3");
  EXPECT_EQ(
      suite_authorization(request),
      suite_authorization_for("host;my-header1;x-amz-date",
                              "cfd34249e4b1c8d6b91ef74165d41a32e5fab3306300901bb65a51a73575eefd"));
}

TEST(SigV4, GetHeaderValueTrim) {
  const Request request =
      suite_get_with({{"My-Header1", " value1"}, {"My-Header2", " \"a   b   c\""}});
  EXPECT_EQ(
      suite_authorization(request),
      suite_authorization_for("host;my-header1;my-header2;x-amz-date",
                              "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"));
  EXPECT_EQ(canonical_header_value("\t a\t\tb \r\n c \t"), "a b c");
}

TEST(SigV4, HeaderValuesAreTrimmedAndQueryFlagsGetAnEqualsSign) {
  const auto [block, names] = canonical_headers({{"X-B", "  a   b  "}, {"x-a", "v"}});
  EXPECT_EQ(block, "x-a:v\nx-b:a b\n");
  EXPECT_EQ(names, "x-a;x-b");
  EXPECT_EQ(sorted_query("delete&a=1"), "a=1&delete=");
}

}  // namespace
