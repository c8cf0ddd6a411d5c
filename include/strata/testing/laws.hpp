#pragma once
/// \file
/// strata::testing, the conformance kit: every law family at once. Include it
/// (or one family's header) in one file of a GoogleTest binary and instantiate
/// the families your models belong to:
///
///     STRATA_REPOSITORY_LAWS(prefix, setups...)  // repository_laws.hpp
///     STRATA_SCAN_LAWS(prefix, setups...)        // repository_laws.hpp
///     STRATA_CACHE_LAWS(prefix, cache)           // cache_laws.hpp
///     STRATA_ROUTER_LAWS(prefix, setups...)      // router_laws.hpp
///     STRATA_STORE_LAWS(prefix, backends...)     // store_laws.hpp
///
/// FaultInjecting<R> (fault_injecting.hpp) breaks a repository on purpose;
/// ManualClock (strata/core/clock.hpp) moves time.

#include <strata/testing/cache_laws.hpp>
#include <strata/testing/fault_injecting.hpp>
#include <strata/testing/repository_laws.hpp>
#include <strata/testing/router_laws.hpp>
#include <strata/testing/store_laws.hpp>
