// The law suite (support/laws.hpp) over a stack whose HOT tier is the real
// Redis started by scripts/servers.sh. Without that server every test fails.
#include "redis_server.hpp"
#include "support/laws.hpp"

namespace strata::testing {

struct RedisHotBackends : MemoryBackends {  // WARM and COLD stay in memory
  static constexpr const char* name = "redis";
  using Hot = RedisRepository;
  static Hot make_hot(Clock clock) { return Hot(redis_test_options(clock)); }
};

using RedisStacks = ::testing::Types<RedisHotBackends>;
INSTANTIATE_TYPED_TEST_SUITE_P(Redis, Laws, RedisStacks);

}  // namespace strata::testing
