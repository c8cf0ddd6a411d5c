// The law suite (support/laws.hpp) over a stack whose COLD tier is the real
// s3rver started by scripts/servers.sh. Without that server every test fails.
#include "s3_server.hpp"
#include "support/laws.hpp"

namespace strata::testing {

struct S3ColdBackends : MemoryBackends {  // HOT and WARM stay in memory
  static constexpr const char* name = "s3";
  using Cold = S3Repository;
  static Cold make_cold(Clock clock) { return Cold(s3_test_options(clock)); }
};

using S3Stacks = ::testing::Types<S3ColdBackends>;
INSTANTIATE_TYPED_TEST_SUITE_P(S3, Laws, S3Stacks);

}  // namespace strata::testing
