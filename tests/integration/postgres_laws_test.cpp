// The conformance kit (strata/testing/) over the real PostgreSQL that
// scripts/servers.sh started: the repository and scan laws over
// PostgresRepository, the store laws over a stack with it as WARM. Without
// that server every test fails.
#include "postgres_server.hpp"

#include <strata/testing/repository_laws.hpp>
#include <strata/testing/store_laws.hpp>

namespace strata::testing {

struct PostgresWarmBackends : MemoryBackends {  // HOT and COLD stay in memory
  static constexpr const char* name = "postgres";
  using Warm = PostgresRepository;
  static Warm make_warm(Clock clock) { return Warm(postgres_test_options(clock)); }
};

}  // namespace strata::testing

STRATA_REPOSITORY_LAWS(
    Postgres,
    strata::testing::TierSetup<strata::testing::PostgresWarmBackends, strata::Tier::warm>);
STRATA_SCAN_LAWS(
    Postgres,
    strata::testing::TierSetup<strata::testing::PostgresWarmBackends, strata::Tier::warm>);
STRATA_STORE_LAWS(Postgres, strata::testing::PostgresWarmBackends);
