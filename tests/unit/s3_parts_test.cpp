// The S3 tier's parts that need no server: key <-> object name, the XML it
// sends and parses (whatever the namespace, and never trusting a malformed
// answer), Content-MD5, and the checks its options get at construction.
#include <strata/backends/s3.hpp>

#include <gtest/gtest.h>

#include <cstdlib>
#include <set>
#include <string>
#include <vector>

namespace strata {
namespace {

using detail::s3::escape_key;
using detail::s3::unescape_key;

TEST(S3Names, OrdinaryKeysNameObjectsOfTheSameName) {
  for (const char* key : {"pos:AAPL", "orders/2026/11/ord-1", "x/", "a.b", "...", ".hidden"})
    EXPECT_EQ(escape_key(key), key);
}

TEST(S3Names, KeysServersWouldRewriteAreEscapedReversibly) {
  EXPECT_EQ(escape_key("a/../b"), "a/%2E%2E/b");
  EXPECT_EQ(escape_key("./x"), "%2E/x");
  EXPECT_EQ(escape_key("a//b"), "a/%2Fb");
  EXPECT_EQ(escape_key("/x"), "%2Fx");
  EXPECT_EQ(escape_key("100%"), "100%25");
  EXPECT_EQ(escape_key(".."), "%2E%2E");
  const std::vector<std::string> keys{"a/../b", "b",    "./x", "x",   "a//b", "a/b",  "/x",
                                      "%2Fx",   "100%", "..",  "%2E", ".",    "a/./", "a/%2E/"};
  std::set<std::string> names;
  for (const std::string& key : keys) {
    const std::string name = escape_key(key);
    names.insert(name);
    EXPECT_EQ(unescape_key(name), key) << name;
  }
  EXPECT_EQ(names.size(), keys.size());  // no two keys share an object
}

TEST(S3Names, NamesStrataCouldNotHaveWrittenAreRejected) {
  EXPECT_FALSE(unescape_key("a/../b"));  // would be written a/%2E%2E/b
  EXPECT_FALSE(unescape_key("a%2Fb"));   // would be written a/b
  EXPECT_FALSE(unescape_key("bad%zz"));
  EXPECT_FALSE(unescape_key("cut%2"));
}

TEST(S3Names, ListPrefixIsAPrefixOfEveryMatchingName) {
  const std::vector<std::string> keys{"a/.",  "a/./x", "a/.x", "a/..", "a/../y", "a/..z",
                                      "a//q", "a/b",   "/r",   "//s",  ".t",     "./u"};
  for (const std::string& key : keys)
    for (std::size_t n = 0; n <= key.size(); ++n)
      EXPECT_TRUE(escape_key(key).starts_with(detail::s3::escaped_list_prefix(key.substr(0, n))))
          << key << " prefix " << key.substr(0, n);
}

TEST(S3Names, UriEncodingFollowsSigV4) {
  EXPECT_EQ(detail::s3::uri_encode("a b/c~d_e-f.g*h+i%", true), "a%20b/c~d_e-f.g%2Ah%2Bi%25");
  EXPECT_EQ(detail::s3::uri_encode("a/b=c", false), "a%2Fb%3Dc");
}

TEST(S3Xml, DeleteBodyEscapesNames) {
  const std::vector<std::string> names{"a<b>&'\"", "plain"};
  EXPECT_EQ(detail::s3::delete_request_body(names),
            R"(<?xml version="1.0" encoding="UTF-8"?><Delete><Object><Key>a&lt;b&gt;&amp;&apos;)"
            R"(&quot;</Key></Object><Object><Key>plain</Key></Object></Delete>)");
}

TEST(S3Xml, DeleteResultParsesWhateverTheNamespace) {
  for (const char* open :
       {R"(<DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">)",
        R"(<DeleteResult xmlns="http://doc.s3.amazonaws.com/2006-03-01/">)", R"(<DeleteResult>)"}) {
    const std::string xml = std::string(open) +
                            "<Deleted><Key>a&amp;b</Key></Deleted><Error><Key>c</Key><Code>"
                            "AccessDenied</Code><Message>no</Message></Error></DeleteResult>";
    const auto answers = detail::s3::parse_delete_result(xml);
    ASSERT_TRUE(answers) << open;
    ASSERT_EQ(answers->size(), 2u);
    EXPECT_EQ((*answers)[0].name, "a&b");
    EXPECT_TRUE((*answers)[0].error_code.empty());
    EXPECT_EQ((*answers)[1].name, "c");
    EXPECT_EQ((*answers)[1].error_code, "AccessDenied");
  }
  const auto prefixed = detail::s3::parse_delete_result(
      R"(<s3:DeleteResult xmlns:s3="urn:x"><s3:Deleted><s3:Key>k</s3:Key></s3:Deleted></s3:DeleteResult>)");
  ASSERT_TRUE(prefixed);
  EXPECT_EQ(prefixed->at(0).name, "k");
}

TEST(S3Xml, MalformedAnswersAreRejectedNotGuessed) {
  EXPECT_FALSE(detail::s3::parse_delete_result(""));
  EXPECT_FALSE(detail::s3::parse_delete_result("<DeleteResult><Deleted><Key>a</Key>"));
  EXPECT_FALSE(detail::s3::parse_delete_result("<DeleteResult><Deleted/></DeleteResult>"));
  EXPECT_FALSE(detail::s3::parse_delete_result("<ListBucketResult/>"));
  EXPECT_FALSE(detail::s3::parse_delete_result(std::string("\0\xff\x01<", 4)));
  EXPECT_FALSE(
      detail::s3::parse_list_result("<ListBucketResult><Contents></Contents></ListBucketResult>"));
  EXPECT_FALSE(  // truncated but no token: going on would loop or stop early
      detail::s3::parse_list_result(
          "<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>"));
  EXPECT_EQ(detail::s3::error_code_of("not xml"), "");
}

TEST(S3Xml, ListResultGivesNamesAndTheNextToken) {
  const auto page = detail::s3::parse_list_result(
      R"(<?xml version="1.0"?><ListBucketResult xmlns="http://doc.s3.amazonaws.com/2006-03-01/">)"
      "<Name>b</Name><Contents><Key>k1</Key><Size>3</Size></Contents><Contents><Key>k&lt;2</Key>"
      "</Contents><IsTruncated>true</IsTruncated><NextContinuationToken>tok=</"
      "NextContinuationToken>"
      "</ListBucketResult>");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->names, (std::vector<std::string>{"k1", "k<2"}));
  EXPECT_TRUE(page->truncated);
  EXPECT_EQ(page->next_token, "tok=");
  EXPECT_EQ(detail::s3::error_code_of("<Error><Code>SlowDown</Code></Error>"), "SlowDown");
}

TEST(S3Parts, ContentMd5IsBase64OfTheDigest) {
  EXPECT_EQ(detail::s3::content_md5(""), "1B2M2Y8AsgTpgAmY7PhCfg==");
  EXPECT_EQ(detail::s3::content_md5("The quick brown fox jumps over the lazy dog"),
            "nhB9nTcrtoJr2B01QqQZ1g==");
}

TEST(S3Parts, FailuresMapToNamedErrors) {
  using detail::s3::failure;
  detail::s3::HttpResponse r;
  r.status = 403;
  EXPECT_EQ(failure(r, true), errc::access_denied);
  r.status = 503;  // SlowDown: refused, not applied
  EXPECT_EQ(failure(r, true), errc::backend_unavailable);
  r.status = 500;  // the server may have applied it
  EXPECT_EQ(failure(r, true), errc::outcome_unknown);
  EXPECT_EQ(failure(r, false), errc::backend_unavailable);
  r.status = 0;
  r.error = CURLE_COULDNT_CONNECT;
  EXPECT_EQ(failure(r, true), errc::backend_unavailable);
  r.error = CURLE_OPERATION_TIMEDOUT;
  r.maybe_reached = true;
  EXPECT_EQ(failure(r, true), errc::outcome_unknown);
  EXPECT_EQ(failure(r, false), errc::timeout);
}

S3Options valid_options() {
  S3Options options;
  options.endpoint = "http://127.0.0.1:1";
  options.addressing = S3Addressing::path_style;  // an IP-address endpoint needs it
  options.bucket = "strata";
  options.credentials = S3Credentials{"AKID", "secret-that-is-never-printed", ""};
  return options;
}

std::string config_error(const S3Options& options) {
  try {
    S3Repository repository(options);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return {};
}

TEST(S3Options, BadOptionsAreConfigErrorsThatNeverShowTheSecret) {
  EXPECT_EQ(config_error(valid_options()), "");
  S3Options o = valid_options();
  o.endpoint = "127.0.0.1:9000";
  EXPECT_NE(config_error(o).find("endpoint"), std::string::npos);
  o = valid_options();
  o.endpoint = "http://host/path";
  EXPECT_NE(config_error(o).find("endpoint"), std::string::npos);
  o = valid_options();
  o.bucket = "Bad_Bucket";
  EXPECT_NE(config_error(o).find("bucket"), std::string::npos);
  for (const char* prefix : {"a//", "/a", "a/../", "x%", "sp ace/"}) {
    o = valid_options();
    o.key_prefix = prefix;
    EXPECT_NE(config_error(o).find("key_prefix"), std::string::npos) << prefix;
  }
  // Virtual-hosted addressing needs a host name to put the bucket in.
  for (const char* endpoint : {"http://127.0.0.1:9000", "http://10.0.0.1", "http://[::1]:9000"}) {
    o = valid_options();
    o.endpoint = endpoint;
    o.addressing = S3Addressing::virtual_hosted;
    EXPECT_NE(config_error(o).find("use path-style addressing"), std::string::npos) << endpoint;
  }
  o = valid_options();
  o.endpoint = "http://s3.localhost:9000";
  o.addressing = S3Addressing::virtual_hosted;
  EXPECT_EQ(config_error(o), "");
  o = valid_options();
  o.delete_batch = 1001;
  EXPECT_NE(config_error(o).find("delete_batch"), std::string::npos);
  o = valid_options();
  o.bucket = "x";
  EXPECT_EQ(config_error(o).find("secret-that-is-never-printed"), std::string::npos);
}

TEST(S3Options, CredentialsComeFromTheEnvironmentWhenNotGiven) {
  S3Options o = valid_options();
  o.credentials.reset();
  ::unsetenv("AWS_ACCESS_KEY_ID");
  ::unsetenv("AWS_SECRET_ACCESS_KEY");
  EXPECT_NE(config_error(o).find("AWS_ACCESS_KEY_ID"), std::string::npos);
  ::setenv("AWS_ACCESS_KEY_ID", "AKID", 1);
  ::setenv("AWS_SECRET_ACCESS_KEY", "from-env", 1);
  EXPECT_EQ(config_error(o), "");
  ::unsetenv("AWS_ACCESS_KEY_ID");
  ::unsetenv("AWS_SECRET_ACCESS_KEY");
}

TEST(S3Unreachable, EveryKeyFailsWithANamedErrorAndNothingIsCounted) {
  S3Options o = valid_options();  // port 1: nothing listens
  o.retry.max_attempts = 2;
  o.retry.base_delay = Millis(1);
  S3Repository repository(o);
  const std::string envelope = encode_envelope("a", {}, "v");
  const std::vector<Record> records{{"a", envelope, std::nullopt},
                                    {"bad key", envelope, std::nullopt}};
  const BatchResult stored = repository.store_many(records);
  EXPECT_EQ(stored.error(0), errc::backend_unavailable);  // refused: certainly not applied
  EXPECT_EQ(stored.error(1), errc::invalid_key);
  const std::vector<std::string_view> keys{"a", "b"};
  const LoadResult loaded = repository.load_many(keys);
  EXPECT_EQ(loaded[0].error, errc::backend_unavailable);
  EXPECT_EQ(loaded[1].error, errc::backend_unavailable);
  const EraseResult erased = repository.erase_many(keys);
  EXPECT_EQ(erased.erased, 0u);
  EXPECT_EQ(erased.error, errc::backend_unavailable);
  EXPECT_EQ(repository.request_counts().put_object, 2u);  // one record, two attempts
  // One retry each: the put, two gets, two heads, the delete.
  EXPECT_EQ(repository.request_counts().retries, 6u);
}

}  // namespace
}  // namespace strata
