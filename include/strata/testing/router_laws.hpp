#pragma once
/// \file
/// The laws of the Router concept (core/concepts.hpp) over a setup:
///
///     struct MyRouterSetup {
///       using Router = MyRouter;
///       static Router make();
///       // Optional: the tiers the store it serves has (default: all three).
///       static constexpr std::array present{strata::Tier::hot, strata::Tier::warm};
///     };
///     STRATA_ROUTER_LAWS(Mine, MyRouterSetup);
///
/// A router is total (every valid key goes to a tier), deterministic (the
/// same key, the same tier, from any copy of the router), noexcept, and never
/// chooses a tier the store lacks; when it declares `routes_to`, that agrees
/// with where it sends keys.

#include <strata/core/concepts.hpp>
#include <strata/core/key.hpp>
#include <strata/core/tier.hpp>

#include <strata/testing/instantiate.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <random>
#include <string>
#include <vector>

namespace strata::testing {

/// Valid keys of every shape a router may meet: short and longest, each key
/// byte, common prefixes and their near misses, and random ones.
inline std::vector<std::string> router_law_keys() {
  std::vector<std::string> keys{"a",
                                "hot",
                                "hot:",
                                "hot:x",
                                "Hot:x",
                                "hot;x",
                                "cold:",
                                "warm:",
                                "w:",
                                ":",
                                "::",
                                "~",
                                std::string(max_key_bytes, 'k')};
  for (int c = 0x21; c < 0x7f; ++c)
    if (is_key_byte(static_cast<char>(c))) {
      keys.push_back(std::string(1, static_cast<char>(c)));
      keys.push_back("p" + std::string(1, static_cast<char>(c)) + "q");
    }
  std::mt19937 random(20261201);
  std::uniform_int_distribution<int> byte(0x21, 0x7e), length(1, 64);
  while (keys.size() < 10'000) {
    std::string key(static_cast<std::size_t>(length(random)), 'x');
    for (char& c : key) c = static_cast<char>(byte(random));
    if (is_valid_key(key)) keys.push_back(std::move(key));
  }
  return keys;
}

/// The router laws' fixture: checks the concept and noexcept at compile time.
template <class Setup>
class RouterLaws : public ::testing::Test {
 protected:
  using R = typename Setup::Router;  ///< the router under test
  static_assert(Router<R>, "the setup's Router does not model strata::Router");
  static_assert(noexcept(std::declval<const R&>()(std::string_view{})),
                "a router's operator() is noexcept");

  /// Whether the store the router serves has `tier` (the setup's `present`).
  static bool present(Tier tier) {
    if constexpr (requires { Setup::present; })
      return std::find(Setup::present.begin(), Setup::present.end(), tier) != Setup::present.end();
    else
      return true;
  }
};

TYPED_TEST_SUITE_P(RouterLaws);

TYPED_TEST_P(RouterLaws, EveryKeyGoesToATierTheStoreHas) {
  const auto router = TypeParam::make();
  for (const std::string& key : router_law_keys()) {
    const Tier tier = router(key);
    ASSERT_TRUE(tier == Tier::hot || tier == Tier::warm || tier == Tier::cold)
        << key << " -> " << static_cast<int>(tier);
    EXPECT_TRUE(this->present(tier))
        << key << " goes to " << to_string(tier) << ", a tier the store lacks";
    if constexpr (requires { TypeParam::Router::routes_to(tier); }) {
      EXPECT_TRUE(TypeParam::Router::routes_to(tier))
          << key << " goes to " << to_string(tier) << ", which routes_to denies";
    }
  }
}

TYPED_TEST_P(RouterLaws, TheSameKeyAlwaysGoesToTheSameTier) {
  const auto router = TypeParam::make();
  // The law is about a copy: it must route as the original does.
  const auto copy = router;  // NOLINT(performance-unnecessary-copy-initialization)
  const auto another = TypeParam::make();
  const std::vector<std::string> keys = router_law_keys();
  std::vector<Tier> first;
  first.reserve(keys.size());
  for (const std::string& key : keys) first.push_back(router(key));
  for (std::size_t i = 0; i < keys.size(); ++i) {
    EXPECT_EQ(router(keys[i]), first[i]) << keys[i];
    EXPECT_EQ(copy(keys[i]), first[i]) << keys[i] << " (a copy)";
    EXPECT_EQ(another(keys[i]), first[i]) << keys[i] << " (another one made alike)";
  }
}

REGISTER_TYPED_TEST_SUITE_P(RouterLaws, EveryKeyGoesToATierTheStoreHas,
                            TheSameKeyAlwaysGoesToTheSameTier);
// Including this header without instantiating the family is no error.
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(RouterLaws);

}  // namespace strata::testing

/// Instantiates the router laws over each setup listed.
#define STRATA_ROUTER_LAWS(prefix, ...) STRATA_INSTANTIATE_LAWS(RouterLaws, prefix, __VA_ARGS__)
