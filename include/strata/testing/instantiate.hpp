#pragma once
/// \file
/// STRATA_INSTANTIATE_LAWS: what each family's macro (STRATA_STORE_LAWS, ...)
/// expands to. The type list gets a name of its own first, since its commas
/// would split INSTANTIATE_TYPED_TEST_SUITE_P's arguments, and the suite is
/// instantiated in the namespace it lives in, so the macro is written at
/// global scope.

#include <gtest/gtest.h>

/// Instantiates the typed suite `suite` (in strata::testing) over the types
/// listed, under the test-name prefix `prefix`.
#define STRATA_INSTANTIATE_LAWS(suite, prefix, ...)                \
  namespace strata::testing {                                      \
  using suite##_##prefix = ::testing::Types<__VA_ARGS__>;          \
  INSTANTIATE_TYPED_TEST_SUITE_P(prefix, suite, suite##_##prefix); \
  }                                                                \
  static_assert(true, "a semicolon after the macro")
