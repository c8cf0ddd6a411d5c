#pragma once
/// \file
/// The core of strata in one include: the store, the concepts, the caches,
/// the routers, the embedded in-memory tier and the typed facade. Backends that need a client
/// library have a header each (`strata/backends/<name>.hpp`).

#include "strata/backends/memory.hpp"
#include "strata/cache/lru_cache.hpp"
#include "strata/cache/no_cache.hpp"
#include "strata/cache/s3fifo_cache.hpp"
#include "strata/cache/tinylfu_cache.hpp"
#include "strata/core/batch_result.hpp"
#include "strata/core/clock.hpp"
#include "strata/core/concepts.hpp"
#include "strata/core/envelope.hpp"
#include "strata/core/error.hpp"
#include "strata/core/format.hpp"
#include "strata/core/key.hpp"
#include "strata/core/load_result.hpp"
#include "strata/core/metrics.hpp"
#include "strata/core/no_tier.hpp"
#include "strata/core/record.hpp"
#include "strata/core/redact.hpp"
#include "strata/core/single_flight.hpp"
#include "strata/core/stats.hpp"
#include "strata/core/store_types.hpp"
#include "strata/core/tier.hpp"
#include "strata/routing/fixed_router.hpp"
#include "strata/routing/prefix_router.hpp"
#include "strata/routing/runtime_prefix_router.hpp"
#include "strata/tiered_store.hpp"
#include "strata/typed_store.hpp"
#include "strata/version.hpp"
