#pragma once
/// \file
/// Tuning macros and the versioned namespace. Every macro can be overridden by
/// defining it before the first strata include.

#include "strata/version.hpp"

#include <cstddef>  // std::size_t

/// Longest key accepted, in bytes. 512 keeps every tier's key limit in reach:
/// S3 allows 1024 bytes including the deployment's key prefix, a PostgreSQL
/// btree entry about 2700 bytes, and the filesystem tier must still be able to
/// encode the key into a file name.
#ifndef STRATA_MAX_KEY_BYTES
#define STRATA_MAX_KEY_BYTES 512
#endif

/// Default largest value accepted by a store, in bytes (StoreOptions can lower
/// or raise it per store). 16 MiB is far below Redis' 512 MB bulk-string limit
/// and keeps a single record from monopolising a pipeline.
#ifndef STRATA_DEFAULT_MAX_VALUE_BYTES
#define STRATA_DEFAULT_MAX_VALUE_BYTES (std::size_t{16} << 20)
#endif

/// Opens strata's namespace and the versioned inline namespace inside it (`strata::v1`), so that
/// two major versions can link into one program.
#define STRATA_BEGIN_NAMESPACE \
  namespace strata {           \
  inline namespace v1 {
/// Closes what STRATA_BEGIN_NAMESPACE opened.
#define STRATA_END_NAMESPACE \
  }                          \
  }
