// The store laws (strata/testing/store_laws.hpp) over the embedded stack; the
// in-memory stack runs them under each cache in kit_laws_test.cpp.
#include <strata/testing/store_laws.hpp>

#include "support/law_stacks.hpp"

STRATA_STORE_LAWS(Serverless, strata::testing::EmbeddedBackends);
