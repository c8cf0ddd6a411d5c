#pragma once
/// \file
/// CachedValue: what a CachePolicy hands back on a hit — the user's value and
/// the codec tag it was stored with, so a cache hit answers exactly what a
/// tier read would (a typed reader checks the tag either way).

#include "strata/core/config.hpp"

#include <cstdint>  // std::uint8_t
#include <string>   // std::string

STRATA_BEGIN_NAMESPACE

struct CachedValue {
  std::string value;
  std::uint8_t codec_tag = 0;  ///< 0 for raw bytes, else the tag of the codec that wrote it

  friend bool operator==(const CachedValue&, const CachedValue&) = default;
};

STRATA_END_NAMESPACE
