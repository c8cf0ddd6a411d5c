#pragma once
/// \file
/// detail::FrequencySketch: how often keys were seen lately, approximately
/// and in little memory (TinyLFU's sketch, Einziger et al., 2017): a
/// count-min sketch of four rows of 4-bit counters (kept a byte each), a
/// key's estimate the least of its four counters. Increments are
/// conservative (only the counters at that least value grow), so an
/// estimate is never below the key's true count since the last halving and
/// rarely far above it. After `10 x width` increments all counters are
/// halved, and the tally of increments with them (so the next halving comes
/// after half as many, as in Caffeine's sketch): popularity that is not
/// renewed fades, and a counter's cap of 15 is reached only by keys still
/// seen often.

#include "strata/core/config.hpp"

#include <algorithm>  // std::clamp, std::fill, std::min
#include <bit>        // std::bit_ceil
#include <cstddef>    // std::size_t
#include <cstdint>    // std::uint8_t, std::uint64_t
#include <vector>     // std::vector

STRATA_BEGIN_NAMESPACE

namespace detail {

class FrequencySketch {
 public:
  /// A sketch sized for about `expected_keys` keys held at once: each row
  /// has that many counters (a power of two, 64 to 2^24).
  explicit FrequencySketch(std::size_t expected_keys)
      : width_(std::bit_ceil(std::clamp<std::size_t>(expected_keys, 64, std::size_t{1} << 24))),
        counters_(rows * width_, 0),
        period_(10 * width_) {}

  /// Counts one more sighting of the key whose hash is `hash`.
  void increment(std::uint64_t hash) {
    std::size_t at[rows];
    positions(hash, at);
    const std::uint8_t least = least_of(at);
    if (least == max_count) return;
    for (const std::size_t i : at)
      if (counters_[i] == least) ++counters_[i];
    if (++added_ == period_) halve();
  }

  /// About how often the key was seen lately (0 to 15).
  unsigned estimate(std::uint64_t hash) const {
    std::size_t at[rows];
    positions(hash, at);
    return least_of(at);
  }

  /// Forgets every sighting.
  void clear() {
    std::fill(counters_.begin(), counters_.end(), std::uint8_t{0});
    added_ = 0;
  }

 private:
  static constexpr std::size_t rows = 4;
  static constexpr std::uint8_t max_count = 15;

  // One counter per row, chosen by double hashing of a remixed hash: the
  // caller's hash picked the shard by its low bits, which every key of a
  // shard shares.
  void positions(std::uint64_t hash, std::size_t (&at)[rows]) const noexcept {
    std::uint64_t z = hash + 0x9e3779b97f4a7c15u;  // splitmix64's finaliser
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    z ^= z >> 31;
    const std::uint64_t step = (z >> 32) | 1;
    for (std::size_t row = 0; row < rows; ++row)
      at[row] = row * width_ + static_cast<std::size_t>((z + row * step) & (width_ - 1));
  }
  std::uint8_t least_of(const std::size_t (&at)[rows]) const noexcept {
    std::uint8_t least = max_count;
    for (const std::size_t i : at) least = std::min(least, counters_[i]);
    return least;
  }
  void halve() {
    for (std::uint8_t& c : counters_) c = static_cast<std::uint8_t>(c >> 1);
    added_ /= 2;
  }

  std::size_t width_;
  std::vector<std::uint8_t> counters_;  // row after row
  std::size_t period_;                  // increments between two halvings
  std::size_t added_ = 0;               // increments since the last halving, halved with it
};

}  // namespace detail

STRATA_END_NAMESPACE
