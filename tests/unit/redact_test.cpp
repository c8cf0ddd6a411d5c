// redacted(): every form in which a backend URL or connection string can carry
// a secret, whatever its scheme, parsed or not.
#include <strata/core/redact.hpp>

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace strata {
namespace {

TEST(Redact, EveryFormOfSecretIsHidden) {
  const std::vector<std::pair<std::string, std::string>> cases{
      {"redis://:s3cret@127.0.0.1:6379/0", "redis://:***@127.0.0.1:6379/0"},
      {"redis://user:s3cret@127.0.0.1:6379/", "redis://user:***@127.0.0.1:6379/"},
      {"redis://:s3cret@127.0.0.1:1/", "redis://:***@127.0.0.1:1/"},  // the review's example
      {"rediss://:s3cret@host", "rediss://:***@host"},                // a scheme nobody parses
      {"redis-cluster://:s3cret@10.0.0.1:7000,10.0.0.2:7000",
       "redis-cluster://:***@10.0.0.1:7000,10.0.0.2:7000"},
      {"redis-sentinel://:s3cret@h1:26379,h2:26379/mymaster",
       "redis-sentinel://:***@h1:26379,h2:26379/mymaster"},
      {"redis://:p@ss/w:rd@host:1", "redis://:***@host:1"},  // '@', '/' and ':' inside
      {"postgres://app:s3cret@db:5432/x?sslmode=require",
       "postgres://app:***@db:5432/x?sslmode=require"},
      {"postgresql://app@db/x?password=s3cret", "postgresql://app@db/x?password=***"},
      {"postgres://db/x?sslmode=disable&password=s3cret&application_name=a",
       "postgres://db/x?sslmode=disable&password=***&application_name=a"},
      {"host=db user=app password=s3cret dbname=x", "host=db user=app password=*** dbname=x"},
      {"host=db password = 's3 cr\\'et' dbname=x", "host=db password = *** dbname=x"},
      {"host=db sslpassword=s3cret", "host=db sslpassword=***"},
      {"PASSWORD=s3cret", "PASSWORD=***"},
      {"s3://bucket/prefix?secret_access_key=s3cret&token=t0ken",
       "s3://bucket/prefix?secret_access_key=***&token=***"},
      {"ftp://u:s3cret@h", "ftp://u:***@h"},
      {"u:s3cret@host", "u:***@host"},  // no scheme at all
  };
  for (const auto& [in, expected] : cases) {
    const std::string out = redacted(in);
    EXPECT_EQ(out, expected) << in;
    EXPECT_EQ(out.find("s3cret"), std::string::npos) << in;
    EXPECT_EQ(out.find("s3 cr"), std::string::npos) << in;
  }
}

TEST(Redact, TextWithoutSecretsIsUnchanged) {
  for (const char* text : {"memory:", "sqlite:/var/lib/strata/warm.sqlite3",
                           "file:strata-data/cold", "redis://127.0.0.1:6379/2", "redis://user@host",
                           "postgres://app@db/x", "s3://bucket/prefix/ at http://127.0.0.1:16400",
                           "warm", "host=db user=app passfile=/etc/pgpass dbname=x", ""})
    EXPECT_EQ(redacted(text), text);
}

}  // namespace
}  // namespace strata
