// The conformance kit (strata/testing/) over the real Redis that
// scripts/servers.sh started: the repository and scan laws over
// RedisRepository, the store laws over a stack with it as HOT. Without that
// server every test fails.
#include "redis_server.hpp"

#include <strata/backends/redis_bus.hpp>
#include <strata/testing/repository_laws.hpp>
#include <strata/testing/store_laws.hpp>

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

/// RedisRepository under the repository laws: Redis expires a record by its
/// own clock (the repository turns the expiry into PX), so the expiry law
/// runs in real time for it.
struct RedisRepositorySetup : TierSetup<RedisHotBackends, Tier::hot> {
  static constexpr bool server_expiry = true;
};

}  // namespace strata::testing

STRATA_REPOSITORY_LAWS(Redis, strata::testing::RedisRepositorySetup);
STRATA_SCAN_LAWS(Redis, strata::testing::RedisRepositorySetup);
STRATA_STORE_LAWS(Redis, strata::testing::RedisHotBackends, strata::testing::RedisBusBackends);
