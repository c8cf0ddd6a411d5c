#pragma once
/// \file
/// The keys, values and Items a store benchmark writes: `n` keys
/// "<prefix><i>" with values of `value_bytes` bytes, as owned strings and as
/// the views the batch API takes.

#include <strata/core/clock.hpp>
#include <strata/core/envelope.hpp>
#include <strata/core/store_types.hpp>

#include <fmt/core.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace strata::bench {

/// `n` keys "<prefix><i>" (zero-padded) with values of `value_bytes` bytes.
struct BatchData {
  /// Makes the keys, values, Items and key views.
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
  std::vector<std::string> keys;        ///< the keys, owned
  std::vector<std::string> values;      ///< the values, owned
  std::vector<Item> items;              ///< views of both, for batch_set
  std::vector<std::string_view> views;  ///< views of the keys, for batch_get and batch_delete
};

/// BatchData and what strata puts on the wire for each value (its envelope)
/// and under which name (`namespace_prefix` + key): the bytes a raw-client
/// baseline must send to do the same work.
struct WireBatchData : BatchData {
  /// Makes the data, each value's envelope (stamped now) and each wire name.
  WireBatchData(std::size_t n, std::string_view key_prefix, std::size_t value_bytes,
                std::string_view namespace_prefix)
      : BatchData(n, key_prefix, value_bytes) {
    const TimePoint now = Clock{}.now();
    for (std::size_t i = 0; i < n; ++i) {
      envelopes.push_back(encode_envelope(keys[i], {now, now, std::nullopt, 0}, values[i]));
      wire_keys.push_back(std::string(namespace_prefix) + keys[i]);
    }
  }
  std::vector<std::string> envelopes;  ///< per key: the envelope strata writes
  std::vector<std::string> wire_keys;  ///< per key: its name on the wire
};

}  // namespace strata::bench
