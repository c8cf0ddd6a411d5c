#pragma once
/// \file
/// The failover drill from the seed system, against any store whose HOT and
/// WARM tiers are given: N records in WARM, HOT lost (its keys erased, the
/// cache cleared, as after a Redis outage and a restart), then HOT rebuilt
/// from WARM twice — one key per call (a load from WARM and a store into HOT
/// per key, what the seed did: 354 keys in 2.07 s) and in batches with
/// rehydrate (8 ms in the seed). Both rebuilds go through the store (which
/// invalidates the cache for every key copied and does not fill it), and the
/// drill checks that HOT and the cache hold byte-identical contents after
/// either path, and that the cache holds nothing HOT does not.
///
/// Used by `strata drill` and bench/failover_drill. Linux only for the peak
/// RSS figure (it resets and reads /proc/self's high-water mark).

#include "strata/core/clock.hpp"
#include "strata/core/config.hpp"
#include "strata/core/envelope.hpp"
#include "strata/core/error.hpp"
#include "strata/core/record.hpp"
#include "strata/core/tier.hpp"
#include "strata/ops/rehydrate.hpp"

#include <algorithm>    // std::min
#include <chrono>       // std::chrono::steady_clock
#include <cstddef>      // std::size_t
#include <cstdint>      // std::uint64_t
#include <fstream>      // std::ifstream, std::ofstream
#include <functional>   // std::function
#include <optional>     // std::optional
#include <span>         // std::span
#include <string>       // std::string
#include <string_view>  // std::string_view
#include <thread>       // std::this_thread::sleep_for
#include <vector>       // std::vector

#include <fmt/format.h>

STRATA_BEGIN_NAMESPACE

/// The size and shape of a failover drill.
struct DrillOptions {
  /// Records written to WARM and lost from HOT (the seed's 354 by default)
  std::size_t keys = 354;
  std::size_t value_bytes = 100;  ///< bytes of each record's value
  std::size_t page_size = 1000;   ///< rehydrate's page size
  /// Keys rebuilt one by one: 0 means all; fewer times the one-key path on
  /// that many and extrapolates (the report says so).
  std::size_t sequential_sample = 0;
  /// Prefix of the drill's keys, which it writes and erases: pick one nothing else uses.
  std::string key_prefix = "drill:";
  /// A pause before each timed rebuild, for the servers' background work.
  std::chrono::milliseconds settle{0};
  /// Told what the drill is doing ("writing WARM", ...), for a progress line.
  std::function<void(std::string_view)> on_step{};
};

/// The drill's measurements: both rebuild paths timed, compared and checked.
struct DrillReport {
  std::size_t keys = 0;             ///< records in the drill
  std::size_t sequential_keys = 0;  ///< keys timed on the one-key path
  double sequential_ms = 0;         ///< for all keys (extrapolated when sampled)
  double batch_ms = 0;  ///< the batch rebuild (rehydrate from WARM into HOT), in milliseconds
  /// The same records written straight into HOT in the same pages: what the
  /// HOT server alone costs, the floor under batch_ms.
  double hot_write_ms = 0;
  /// WARM's pages read alone in the same page size, nothing written: the
  /// other floor. A rebuild that overlapped its reads and writes perfectly
  /// would take the larger of the two floors; one that overlapped nothing,
  /// their sum (where batch_ms sits says which).
  double warm_read_ms = 0;
  std::size_t copied = 0;      ///< records the batch rebuild copied
  bool identical = false;      ///< HOT and the cache match after both paths
  std::size_t rss_growth = 0;  ///< bytes: peak RSS during the batch rebuild minus RSS before
  /// True when the one-key path was timed on a sample and extrapolated.
  bool sampled() const noexcept { return sequential_keys < keys; }
  /// How many times faster the batch rebuild was than the one-key path.
  double speedup() const noexcept { return batch_ms > 0 ? sequential_ms / batch_ms : 0; }
  /// Records per second of the batch rebuild.
  double keys_per_second() const noexcept {
    return batch_ms > 0 ? static_cast<double>(copied) / (batch_ms / 1000.0) : 0;
  }
};

namespace detail {

inline double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

/// A line of /proc/self/status ("VmRSS:", "VmHWM:") in bytes; 0 if unreadable.
inline std::size_t proc_status_bytes(std::string_view field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.starts_with(field)) return std::stoull(line.substr(field.size())) * 1024;
  return 0;
}

/// Resets the peak-RSS mark so that VmHWM measures from now (Linux >= 4.0).
inline void reset_peak_rss() {
  std::ofstream clear_refs("/proc/self/clear_refs");
  clear_refs << "5";
}

/// A digest of what HOT and the cache hold for `keys`, independent of order
/// and bounded in memory: the count and sums of XXH3 per (key, bytes).
struct Digest {
  std::uint64_t found = 0, hot_sum = 0, cached = 0, cache_sum = 0;
  /// Cached values that differ from what HOT holds (the cache must only hold
  /// stored values, byte for byte).
  std::uint64_t cache_mismatches = 0;
};

/// Calls f(span<const string_view>) on `keys` in chunks of `chunk` keys.
template <class F>
void for_each_chunk(std::span<const std::string> keys, F f, std::size_t chunk = 10'000) {
  std::vector<std::string_view> views;
  for (std::size_t first = 0; first < keys.size(); first += chunk) {
    const auto part = keys.subspan(first, std::min(chunk, keys.size() - first));
    views.assign(part.begin(), part.end());
    f(std::span<const std::string_view>(views));
  }
}

template <class Store>
Digest digest(Store& store, std::span<const std::string> keys) {
  Digest d;
  const TimePoint now = store.options().clock.now();
  for_each_chunk(keys, [&](std::span<const std::string_view> views) {
    const LoadResult loaded = store.template tier<Tier::hot>().load_many(views);
    for (std::size_t i = 0; i < views.size(); ++i) {
      if (loaded[i].found()) {
        ++d.found;
        d.hot_sum += value_checksum(views[i]) ^ value_checksum(loaded[i].value);
      }
      if (const auto cached = store.cache().find(views[i], now)) {
        ++d.cached;
        d.cache_sum += value_checksum(views[i]) ^ value_checksum(cached->value);
        const DecodedEnvelope stored =
            loaded[i].found() ? decode_envelope(views[i], loaded[i].value)
                              : DecodedEnvelope{{}, make_error_code(errc::corrupt_record)};
        d.cache_mismatches += !stored || stored.envelope.value != cached->value;
      }
    }
  });
  return d;
}

template <class Store>
void lose_hot(Store& store, std::span<const std::string> keys) {
  for_each_chunk(keys, [&](std::span<const std::string_view> views) {
    store.template tier<Tier::hot>().erase_many(views);
  });
  store.cache().clear();  // the process restarted with HOT: its cache is gone too
}

/// Stores `value` with `meta` under every key (each key's own envelope: the
/// envelope binds its key), `page` records per store_many; throws when a page
/// is not stored whole.
template <class Repo>
void store_pages(Repo& repo, std::span<const std::string> keys, const EnvelopeMeta& meta,
                 std::string_view value, std::size_t page, std::string_view tier) {
  std::vector<Record> records;
  std::string arena;
  const std::size_t size = encoded_envelope_size(value.size());
  for_each_chunk(
      keys,
      [&](std::span<const std::string_view> views) {
        records.clear();
        arena.resize(size * views.size());
        for (std::size_t i = 0; i < views.size(); ++i) {
          encode_envelope_into(arena.data() + i * size, views[i], meta, value);
          records.push_back(
              {views[i], std::string_view(arena).substr(i * size, size), std::nullopt});
        }
        if (!repo.store_many(std::span<const Record>(records)).all_stored())
          throw Error(fmt::format("drill: writing {} failed", tier));
      },
      page);
}

}  // namespace detail

/// Runs the drill on `store` (HOT and WARM present; every key routes to HOT).
/// Leaves the drill's keys in neither tier. Throws strata::Error when a tier
/// fails, since a drill that cannot write has nothing to measure.
template <class Store>
DrillReport run_drill(Store& store, const DrillOptions& options) {
  const auto step = [&](std::string_view what) {
    if (options.on_step) options.on_step(what);
  };
  auto& warm = store.template tier<Tier::warm>();
  DrillReport report;
  report.keys = options.keys;
  std::vector<std::string> keys;
  keys.reserve(options.keys);
  for (std::size_t i = 0; i < options.keys; ++i)
    keys.push_back(fmt::format("{}{:08}", options.key_prefix, i));

  const TimePoint now = store.options().clock.now();
  const EnvelopeMeta meta{now, now, std::nullopt, 0};
  const std::string value(options.value_bytes, 'p');
  step("writing WARM");
  detail::store_pages(warm, keys, meta, value, 10'000, "WARM");

  // One key per call, on all keys or on a sample.
  step("rebuilding HOT one key at a time");
  report.sequential_keys = options.sequential_sample == 0
                               ? keys.size()
                               : std::min(keys.size(), options.sequential_sample);
  const auto sample = std::span<const std::string>(keys).first(report.sequential_keys);
  detail::lose_hot(store, keys);
  std::this_thread::sleep_for(options.settle);
  auto start = std::chrono::steady_clock::now();
  for (const std::string& key : sample) {
    const std::string_view view = key;
    const LoadResult loaded = warm.load_many(std::span<const std::string_view>(&view, 1));
    const Record record{key, loaded[0].value, std::nullopt};
    if (!loaded[0].found() ||
        !store.template store_records<Tier::hot>(std::span<const Record>(&record, 1)).all_stored())
      throw Error(fmt::format("drill: copying {} one by one failed", key));
  }
  report.sequential_ms = detail::ms_since(start) * static_cast<double>(keys.size()) /
                         static_cast<double>(std::max<std::size_t>(1, sample.size()));
  const detail::Digest one_by_one = detail::digest(store, sample);

  step("rebuilding HOT in batches");
  detail::lose_hot(store, keys);
  // Let the servers finish what the last steps left them (Redis frees erased
  // keys in a background thread, PostgreSQL's autovacuum wakes after a bulk
  // load): on two cores that work would be timed as the rebuild's.
  std::this_thread::sleep_for(options.settle);
  const std::size_t rss_before = detail::proc_status_bytes("VmRSS:");
  detail::reset_peak_rss();
  start = std::chrono::steady_clock::now();
  const RehydrateReport rehydrated = rehydrate<Tier::warm, Tier::hot>(
      store,
      RehydrateOptions{.scan = {.page_size = options.page_size, .prefix = options.key_prefix}});
  report.batch_ms = detail::ms_since(start);
  const std::size_t peak = detail::proc_status_bytes("VmHWM:");
  report.rss_growth = peak > rss_before ? peak - rss_before : 0;
  if (!rehydrated.ok())
    throw Error(fmt::format("drill: rehydrate failed: {} ({} failed records)",
                            rehydrated.error.message(), rehydrated.failed));
  report.copied = rehydrated.copied;

  step("comparing");
  // HOT byte-identical after both paths on the keys both rebuilt; the cache
  // identical too when both saw every key, and when the one-key path was
  // sampled (the LRU then holds different keys) still a subset of HOT.
  const detail::Digest batched = detail::digest(store, sample);
  const detail::Digest all = sample.size() == keys.size() ? batched : detail::digest(store, keys);
  const bool hot_same = one_by_one.found == batched.found && one_by_one.hot_sum == batched.hot_sum;
  const bool cache_same =
      sample.size() < keys.size() ||
      (one_by_one.cached == batched.cached && one_by_one.cache_sum == batched.cache_sum);
  report.identical = hot_same && cache_same && all.found == keys.size() &&
                     one_by_one.cache_mismatches == 0 && all.cache_mismatches == 0;

  // The floor: the same records written straight into HOT's repository in
  // pages of the same size, with nothing read from WARM and no store around.
  step("timing HOT writes alone");
  detail::lose_hot(store, keys);
  std::this_thread::sleep_for(options.settle);
  start = std::chrono::steady_clock::now();
  detail::store_pages(store.template tier<Tier::hot>(), keys, meta, value, options.page_size,
                      "HOT");
  report.hot_write_ms = detail::ms_since(start);

  step("timing WARM reads alone");
  std::this_thread::sleep_for(options.settle);
  start = std::chrono::steady_clock::now();
  // The page loop rehydrate runs, with nothing done per page.
  const PageStreamEnd walked = detail::stream_pages(
      warm, PageScan{.page_size = options.page_size, .prefix = options.key_prefix},
      [](const ScanPage&) { return true; });
  report.warm_read_ms = detail::ms_since(start);
  if (walked.error) throw Error("drill: reading WARM failed: " + walked.error.message());

  step("cleaning up");
  detail::lose_hot(store, keys);
  detail::for_each_chunk(keys,
                         [&](std::span<const std::string_view> views) { warm.erase_many(views); });
  return report;
}

STRATA_END_NAMESPACE
