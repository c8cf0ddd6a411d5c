// The conformance kit (strata/testing/) over the real s3rver that
// scripts/servers.sh started: the repository and scan laws over S3Repository,
// the store laws over a stack with it as COLD. Without that server every test fails.
#include "s3_server.hpp"

#include <strata/testing/repository_laws.hpp>
#include <strata/testing/store_laws.hpp>

namespace strata::testing {

struct S3ColdBackends : MemoryBackends {  // HOT and WARM stay in memory
  static constexpr const char* name = "s3";
  using Cold = S3Repository;
  static Cold make_cold(Clock clock) { return Cold(s3_test_options(clock)); }
};

/// S3Repository under the repository laws. Its longest key is shorter than
/// strata's 512 bytes: s3rver dies on an object name with a path segment
/// longer than about 230 bytes (SERVERS.md), and the laws' longest key of
/// '%' escapes to three bytes each; real S3 takes 1024.
struct S3RepositorySetup : TierSetup<S3ColdBackends, Tier::cold> {
  static constexpr std::size_t longest_key = 70;
};

}  // namespace strata::testing

STRATA_REPOSITORY_LAWS(S3, strata::testing::S3RepositorySetup);
STRATA_SCAN_LAWS(S3, strata::testing::S3RepositorySetup);
STRATA_STORE_LAWS(S3, strata::testing::S3ColdBackends);
