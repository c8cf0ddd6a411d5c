#pragma once
/// \file
/// CachedValue: what a CachePolicy hands back on a hit — the user's value and
/// the codec tag it was stored with, so a cache hit answers exactly what a
/// tier read would (a typed reader checks the tag either way).

#include "strata/core/config.hpp"

#include <cstdint>  // std::uint8_t
#include <string>   // std::string

STRATA_BEGIN_NAMESPACE

/// What a CachePolicy returns for a hit: the value and the codec tag it was stored with, so that a
/// typed read from the cache checks the codec as a read from a tier would.
struct CachedValue {
  std::string value;           ///< the value bytes, without the envelope
  std::uint8_t codec_tag = 0;  ///< 0 for raw bytes, else the tag of the codec that wrote it

  /// Equal when value and tag are.
  friend bool operator==(const CachedValue&, const CachedValue&) = default;
};

STRATA_END_NAMESPACE
