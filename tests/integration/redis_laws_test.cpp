// The law suite (support/laws.hpp) over a stack whose HOT tier is the real
// Redis started by scripts/servers.sh. Without that server every test fails.
#include "redis_server.hpp"

#include <strata/backends/redis_bus.hpp>
#include "support/laws.hpp"

namespace strata::testing {

struct RedisHotBackends : MemoryBackends {  // WARM and COLD stay in memory
  static constexpr const char* name = "redis";
  using Hot = RedisRepository;
  static Hot make_hot(Clock clock) { return Hot(redis_test_options(clock)); }
};

/// The same stack with a RedisBus, alone in its process: every law still
/// holds with the store announcing, subscribed, and its cache entries capped
/// by the bus's staleness bound. Every tier is announced here, none tracked:
/// Redis cannot tell whose write a tracked key was, so a process's own HOT
/// writes come back as invalidations and drop the entries those writes
/// cached, which the laws that inspect the cache would see (the guide says
/// so); a bus skips its own announcements.
struct RedisBusBackends : RedisHotBackends {
  static constexpr const char* name = "redis+bus";
  using Bus = RedisBus;
  static Bus make_bus(const Hot& hot) {
    RedisBusOptions options;
    options.server = hot.options();
    options.server_tracked = {false, false, false};
    options.attach_wait = Millis(5000);
    return Bus(options);
  }
};

using RedisStacks = ::testing::Types<RedisHotBackends, RedisBusBackends>;
INSTANTIATE_TYPED_TEST_SUITE_P(Redis, Laws, RedisStacks);

}  // namespace strata::testing
