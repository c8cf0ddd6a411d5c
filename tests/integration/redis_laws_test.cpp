// The law suite (support/laws.hpp) over a stack whose HOT tier is the real
// Redis started by scripts/servers.sh. Without that server every test fails.
#include "redis_server.hpp"
#include "support/laws.hpp"

namespace strata::testing {

struct RedisHotBackends {
  static constexpr const char* name = "redis";
  using Hot = RedisRepository;
  using Warm = MemoryRepository;
  using Cold = MemoryRepository;
  static Hot make_hot(Clock clock) { return Hot(redis_test_options(clock)); }
  static Warm make_warm(Clock clock) { return Warm(MemoryOptions{.shards = 4, .clock = clock}); }
  static Cold make_cold(Clock clock) { return Cold(MemoryOptions{.shards = 4, .clock = clock}); }
};

using RedisStacks = ::testing::Types<RedisHotBackends>;
INSTANTIATE_TYPED_TEST_SUITE_P(Redis, Laws, RedisStacks);

}  // namespace strata::testing
