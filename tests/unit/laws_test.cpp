// The law suite (support/laws.hpp) over the stacks that need no server.
#include "support/laws.hpp"

namespace strata::testing {

using ServerlessStacks = ::testing::Types<MemoryBackends, EmbeddedBackends>;
INSTANTIATE_TYPED_TEST_SUITE_P(Serverless, Laws, ServerlessStacks);

}  // namespace strata::testing
