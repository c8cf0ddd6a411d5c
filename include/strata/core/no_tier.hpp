#pragma once
/// \file
/// NoTier: the placeholder for a tier a store is composed without.

#include "strata/core/config.hpp"

STRATA_BEGIN_NAMESPACE

/// Stands in for an absent tier, e.g. `TieredStore<..., MemoryRepository,
/// NoTier, NoTier>`. It has no members: TieredStore compiles every use of it
/// out, and a compile-time router that could route to it is rejected.
struct NoTier {};

STRATA_END_NAMESPACE
