#pragma once
/// \file
/// OnWrite: what a CachePolicy does with a write its tier confirmed.

#include "strata/core/config.hpp"

STRATA_BEGIN_NAMESPACE

/// What a write does to the cache once the tier confirmed it.
enum class OnWrite {
  populate,    ///< put the stored value (read-your-writes from memory)
  invalidate,  ///< only drop the old entry; the next read fills it
};

STRATA_END_NAMESPACE
