// The law suite (support/laws.hpp) over a stack whose WARM tier is the real
// PostgreSQL started by scripts/servers.sh. Without that server every test fails.
#include "postgres_server.hpp"
#include "support/laws.hpp"

namespace strata::testing {

struct PostgresWarmBackends : MemoryBackends {  // HOT and COLD stay in memory
  static constexpr const char* name = "postgres";
  using Warm = PostgresRepository;
  static Warm make_warm(Clock clock) { return Warm(postgres_test_options(clock)); }
};

using PostgresStacks = ::testing::Types<PostgresWarmBackends>;
INSTANTIATE_TYPED_TEST_SUITE_P(Postgres, Laws, PostgresStacks);

}  // namespace strata::testing
