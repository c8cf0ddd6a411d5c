#pragma once
/// \file
/// The keys, values and Items a store benchmark writes: `n` keys
/// "<prefix><i>" with values of `value_bytes` bytes, as owned strings and as
/// the views the batch API takes.

#include <strata/core/store_types.hpp>

#include <fmt/core.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace strata::bench {

struct BatchData {
  BatchData(std::size_t n, std::string_view key_prefix, std::size_t value_bytes) {
    for (std::size_t i = 0; i < n; ++i) {
      keys.push_back(fmt::format("{}{:08}", key_prefix, i));
      values.push_back(std::string(value_bytes, static_cast<char>('a' + i % 26)));
    }
    for (std::size_t i = 0; i < n; ++i) {
      items.push_back({keys[i], values[i]});
      views.push_back(keys[i]);
    }
  }
  std::vector<std::string> keys, values;
  std::vector<Item> items;
  std::vector<std::string_view> views;
};

}  // namespace strata::bench
