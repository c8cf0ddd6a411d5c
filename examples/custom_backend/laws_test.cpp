// SortedVectorRepository under strata's conformance kit: the repository and
// scan laws on the model alone, and every store law with it as the WARM tier
// (HOT and COLD in memory, under FaultInjecting, with a manual clock).
#include "sorted_vector_repository.hpp"

#include <strata/testing/laws.hpp>

namespace example {

struct SortedVectorSetup {
  using Repository = SortedVectorRepository;
  static Repository make(strata::Clock clock) { return Repository(clock); }
};

struct SortedVectorAsWarm : strata::testing::MemoryBackends {
  static constexpr const char* name = "sorted-vector";
  using Warm = SortedVectorRepository;
  static Warm make_warm(strata::Clock clock) { return Warm(clock); }
};

}  // namespace example

STRATA_REPOSITORY_LAWS(SortedVector, example::SortedVectorSetup);
STRATA_SCAN_LAWS(SortedVector, example::SortedVectorSetup);
STRATA_STORE_LAWS(SortedVector, example::SortedVectorAsWarm);
