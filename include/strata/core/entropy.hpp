#pragma once
/// \file
/// Random numbers where strata needs them, none of them secret: a seed that
/// differs per process (temporary file names, an invalidation bus's sender
/// id) and a fast per-thread sequence (retry jitter). They come from the
/// kernel and SplitMix64 rather than `<random>`, whose engines and
/// distributions cost every translation unit that includes a backend about a
/// third of a second of parsing (issue 21) for numbers no caller relies on
/// beyond "unlikely to collide".

#include "strata/core/config.hpp"

#include <chrono>   // std::chrono::steady_clock
#include <cstdint>  // std::uint64_t

#include <unistd.h>  // ::getentropy (glibc >= 2.25), ::getpid

STRATA_BEGIN_NAMESPACE
namespace detail {

/// 64 bits from the kernel's entropy pool; should that fail (it does not on
/// Linux >= 3.17), the steady clock, the process id and a stack address
/// mixed together, which still differ between processes.
inline std::uint64_t entropy64() noexcept {
  std::uint64_t seed = 0;
  if (::getentropy(&seed, sizeof seed) == 0) return seed;
  const auto ticks =
      static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  return ticks ^ (static_cast<std::uint64_t>(::getpid()) << 32) ^
         static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(&seed));
}

/// SplitMix64 (Steele, Lea and Flood, 2014): one add and three
/// multiply-xorshift steps per number; every seed gives a full-period
/// sequence whose outputs pass BigCrush. Not for secrets.
class SplitMix64 {
 public:
  explicit constexpr SplitMix64(std::uint64_t seed) noexcept : state_(seed) {}

  constexpr std::uint64_t next() noexcept {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }

  /// A number in [0, bound]; the modulo's bias is below bound / 2^64.
  constexpr std::uint64_t up_to(std::uint64_t bound) noexcept {
    return bound == UINT64_MAX ? next() : next() % (bound + 1);
  }

 private:
  std::uint64_t state_;
};

/// This thread's SplitMix64, seeded from entropy64() on first use.
inline SplitMix64& thread_random() noexcept {
  thread_local SplitMix64 random{entropy64()};
  return random;
}

}  // namespace detail
STRATA_END_NAMESPACE
