#include <strata/core/concepts.hpp>
#include <strata/routing/fixed_router.hpp>
#include <strata/routing/prefix_router.hpp>
#include <strata/routing/runtime_prefix_router.hpp>

#include <gtest/gtest.h>

namespace strata {
namespace {

using Routes = PrefixRouter<Route<"a:", Tier::hot>, Route<"a:b:", Tier::cold>, Fallback<Tier::warm>,
                            Route<"a:b:c:", Tier::hot>>;

static_assert(Router<Routes>);
static_assert(Router<FixedRouter<Tier::cold>>);
static_assert(Router<RuntimePrefixRouter>);
// The table is resolved at compile time.
static_assert(Routes{}("a:b:x") == Tier::cold);
static_assert(Routes::routes_to(Tier::warm) && !FixedRouter<Tier::hot>::routes_to(Tier::cold));

TEST(Routing, RouterLongestPrefixWins) {
  const Routes routes;
  EXPECT_EQ(routes("a:b:c:d"), Tier::hot);  // "a:b:c:" beats "a:b:" and "a:"
  EXPECT_EQ(routes("a:b:z"), Tier::cold);   // "a:b:" beats "a:"
  EXPECT_EQ(routes("a:x"), Tier::hot);
  EXPECT_EQ(routes("a:b"), Tier::hot);   // "a:b:" does not match "a:b"
  EXPECT_EQ(routes("zzz"), Tier::warm);  // no route: the fallback
  EXPECT_EQ(routes("a"), Tier::warm);

  const RuntimePrefixRouter runtime(
      {{"a:", Tier::hot}, {"a:b:", Tier::cold}, {"a:b:c:", Tier::hot}}, Tier::warm);
  for (const char* key : {"a:b:c:d", "a:b:z", "a:x", "a:b", "zzz", "a"})
    EXPECT_EQ(runtime(key), routes(key)) << key;
}

TEST(Routing, FixedRouterSendsEveryKeyToItsTier) {
  EXPECT_EQ(FixedRouter<Tier::cold>{}("anything"), Tier::cold);
}

TEST(Routing, RuntimeRouterRejectsDuplicatePrefixes) {
  EXPECT_THROW(RuntimePrefixRouter({{"x:", Tier::hot}, {"x:", Tier::cold}}, Tier::warm),
               ConfigError);
  EXPECT_EQ(RuntimePrefixRouter(Tier::cold)("k"), Tier::cold);
}

}  // namespace
}  // namespace strata
