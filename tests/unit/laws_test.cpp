// The law suite (support/laws.hpp) over the stacks that need no server.
#include "support/laws.hpp"

namespace strata::testing {

/// The memory stack with the scan-resistant cache: every law holds over it too.
struct MemoryBackendsOverS3Fifo : MemoryBackends {
  using Cache = S3FifoCache<>;
};

using ServerlessStacks =
    ::testing::Types<MemoryBackends, EmbeddedBackends, MemoryBackendsOverS3Fifo>;
INSTANTIATE_TYPED_TEST_SUITE_P(Serverless, Laws, ServerlessStacks);

}  // namespace strata::testing
