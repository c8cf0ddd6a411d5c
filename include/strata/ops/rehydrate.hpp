#pragma once
/// \file
/// rehydrate: rebuild one tier from another, streamed page by page so memory
/// stays bounded by the page size whatever the number of keys.
///
///     // After a HOT outage, inside a live store (the cache stays coherent):
///     auto report = strata::rehydrate<strata::Tier::warm, strata::Tier::hot>(store, {});
///     // Or between two repositories:
///     auto report = strata::rehydrate(warm_repo, hot_repo, {});
///
/// Records are copied verbatim (times, expiry and checksum preserved). Each
/// envelope is verified before it is written: a damaged one is reported as a
/// failure with its error, an expired one is skipped.

#include "strata/core/batch_result.hpp"
#include "strata/core/clock.hpp"
#include "strata/core/concepts.hpp"
#include "strata/core/config.hpp"
#include "strata/core/envelope.hpp"
#include "strata/core/record.hpp"
#include "strata/core/tier.hpp"

#include <chrono>        // std::chrono::steady_clock
#include <cstddef>       // std::size_t
#include <functional>    // std::function
#include <span>          // std::span
#include <string>        // std::string
#include <system_error>  // std::error_code
#include <vector>        // std::vector

STRATA_BEGIN_NAMESPACE

/// Where a rehydrate stands, passed to the progress callback after each page.
struct RehydrateProgress {
  std::size_t pages = 0;
  std::size_t scanned = 0;          ///< records read from the source
  std::size_t copied = 0;           ///< records the destination reported stored
  std::size_t skipped_expired = 0;  ///< records already expired, not copied
  std::size_t failed = 0;           ///< damaged records and records the destination refused
  Millis elapsed{0};
};

struct RehydrateFailure {
  std::string key;
  std::error_code error;
};

struct RehydrateReport : RehydrateProgress {
  std::vector<RehydrateFailure> failures;  ///< each failed key with its error
  std::error_code error{};  ///< set when the source could not be scanned; the copy stopped there
  std::string cursor{};     ///< the last key copied past: where a stopped run would resume
};

struct RehydrateOptions {
  std::size_t page_size = 1000;  ///< records per scan page and per write; zero means 1000
  std::string prefix{};          ///< only keys with this prefix; empty means all
  /// Called after every page; empty means no callback.
  std::function<void(const RehydrateProgress&)> on_progress{};
  Clock clock{};  ///< decides what is expired; the system clock by default
};

namespace detail {

/// The loop shared by both front ends: `write(span<const Record>)` stores a
/// page and returns its BatchResult.
template <ScannableRepository From, class WritePage>
RehydrateReport rehydrate_pages(From& from, WritePage write, const RehydrateOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  const std::size_t page_size = options.page_size == 0 ? 1000 : options.page_size;
  RehydrateReport report;
  std::vector<Record> page_records;
  for (;;) {
    const ScanPage page = from.scan(options.prefix, report.cursor, page_size);
    if (page.error) {
      report.error = page.error;
      break;
    }
    const TimePoint now = options.clock.now();
    page_records.clear();
    for (const ScannedRecord& record : page.records) {
      const DecodedEnvelope decoded = decode_envelope(record.envelope);
      if (!decoded) {
        report.failures.push_back({record.key, decoded.error});
        continue;
      }
      const auto expires = decoded.envelope.meta.expires_at;
      if (expires && is_expired(*expires, now)) {
        ++report.skipped_expired;
        continue;
      }
      page_records.push_back(Record{record.key, record.envelope, expires});
    }
    if (!page_records.empty()) {
      const BatchResult stored = write(std::span<const Record>(page_records));
      for (std::size_t i = 0; i < page_records.size(); ++i) {
        if (stored.stored(i))
          ++report.copied;
        else
          report.failures.push_back({std::string(page_records[i].key), stored.error(i)});
      }
    }
    report.scanned += page.records.size();
    report.failed = report.failures.size();
    ++report.pages;
    if (!page.next_cursor.empty()) report.cursor = page.next_cursor;
    report.elapsed = std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - started);
    if (options.on_progress) options.on_progress(report);
    if (page.done || page.next_cursor.empty()) break;  // an empty cursor cannot go on
  }
  report.elapsed = std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - started);
  return report;
}

}  // namespace detail

/// Copies every live record of `from` into `to`, one store_many per page.
template <ScannableRepository From, Repository To>
RehydrateReport rehydrate(From& from, To& to, const RehydrateOptions& options = {}) {
  return detail::rehydrate_pages(
      from, [&to](std::span<const Record> page) { return to.store_many(page); }, options);
}

/// Rebuilds tier To of a store from its tier From, through the store so that
/// its cache stays coherent and its counters count the writes.
template <Tier From, Tier To, class Store>
RehydrateReport rehydrate(Store& store, const RehydrateOptions& options = {}) {
  static_assert(From != To, "strata::rehydrate: the source and destination tiers are the same");
  return detail::rehydrate_pages(
      store.template tier<From>(),
      [&store](std::span<const Record> page) { return store.template store_records<To>(page); },
      options);
}

STRATA_END_NAMESPACE
