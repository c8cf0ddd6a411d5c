#pragma once
/// \file
/// The one place strata's version is spelled; CMakeLists.txt reads it from here.

#define STRATA_VERSION_MAJOR 0  ///< incremented by changes that break users (SameMajorVersion)
#define STRATA_VERSION_MINOR 1  ///< incremented by additions
#define STRATA_VERSION_PATCH 0  ///< incremented by fixes

/// MAJOR * 10000 + MINOR * 100 + PATCH, comparable in `#if`.
#define STRATA_VERSION \
  (STRATA_VERSION_MAJOR * 10000 + STRATA_VERSION_MINOR * 100 + STRATA_VERSION_PATCH)
