// The conformance kit (strata/testing/) over strata's own serverless models:
// the repository and scan laws over each embedded tier, the cache laws (and
// the store laws in front of each cache), the router laws over each router.
#include <strata/testing/laws.hpp>

#include "support/law_stacks.hpp"

namespace strata::testing {

using MemorySetup = TierSetup<MemoryBackends, Tier::hot>;
using SqliteSetup = TierSetup<EmbeddedBackends, Tier::warm>;
using FilesystemSetup = TierSetup<EmbeddedBackends, Tier::cold>;

struct FixedRouterSetup {
  using Router = FixedRouter<Tier::warm>;
  static Router make() { return {}; }
  static constexpr std::array present{Tier::warm};
};
struct PrefixRouterSetup {
  using Router = LawRouter;
  static Router make() { return {}; }
};
struct RuntimePrefixRouterSetup {
  using Router = RuntimePrefixRouter;
  static Router make() {
    return RuntimePrefixRouter({{"orders:", Tier::warm}, {"archive:", Tier::cold}}, Tier::hot);
  }
};

}  // namespace strata::testing

STRATA_REPOSITORY_LAWS(Embedded, strata::testing::MemorySetup, strata::testing::SqliteSetup,
                       strata::testing::FilesystemSetup);
STRATA_SCAN_LAWS(Embedded, strata::testing::MemorySetup, strata::testing::SqliteSetup,
                 strata::testing::FilesystemSetup);
STRATA_ROUTER_LAWS(Routers, strata::testing::FixedRouterSetup, strata::testing::PrefixRouterSetup,
                   strata::testing::RuntimePrefixRouterSetup);
STRATA_CACHE_LAWS(Lru, strata::LruCache<>);
STRATA_CACHE_LAWS(S3Fifo, strata::S3FifoCache<>);
STRATA_CACHE_LAWS(TinyLfu, strata::TinyLfuCache<>);
