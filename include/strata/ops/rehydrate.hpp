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
/// Records are copied verbatim (times, expiry, codec tag and checksum
/// preserved). Each envelope is verified before it is written: a damaged one
/// is reported as a failure with its error, an expired one (at the time its
/// page is read) is skipped. The next page is read and verified while the
/// current one is written (ops/page_stream.hpp).
/// If the destination fails a page (down, timing out), the run stops there
/// and names that page's key range; running again from the report's cursor
/// completes the copy, losing and duplicating nothing.

#include "strata/core/batch_result.hpp"
#include "strata/core/clock.hpp"
#include "strata/core/concepts.hpp"
#include "strata/core/config.hpp"
#include "strata/core/envelope.hpp"
#include "strata/core/record.hpp"
#include "strata/core/tier.hpp"
#include "strata/ops/page_stream.hpp"

#include <chrono>        // std::chrono::steady_clock
#include <cstddef>       // std::size_t
#include <functional>    // std::function
#include <optional>      // std::optional
#include <span>          // std::span
#include <string>        // std::string
#include <system_error>  // std::error_code
#include <vector>        // std::vector

STRATA_BEGIN_NAMESPACE

/// Where a rehydrate stands, passed to the progress callback after each page.
struct RehydrateProgress {
  std::size_t pages = 0;            ///< pages handled whole
  std::size_t scanned = 0;          ///< records read from the source
  std::size_t copied = 0;           ///< records of completed pages the destination stored
  std::size_t skipped_expired = 0;  ///< records already expired, not copied
  std::size_t failed = 0;           ///< records refused for themselves (damaged, invalid)
  Millis elapsed{0};                ///< since the run started
  /// Where to resume (RehydrateOptions::scan.cursor): every page before it
  /// was copied, none after it was.
  std::string cursor{};
};

/// A key an operation could not handle for a reason of its own (damaged,
/// invalid, not restored identically), with that reason.
struct RecordFailure {
  std::string key;        ///< the key
  std::error_code error;  ///< why it was not handled
};

/// The page a destination could not take (it went down, timed out, ...): the
/// run stopped there, and its cursor resumes at this page.
struct FailedRange {
  std::string first_key;    ///< the page's first key
  std::string last_key;     ///< the page's last key
  std::size_t keys = 0;     ///< records in the page
  std::error_code error{};  ///< the destination's error
};

/// What a rehydrate did. Runs add up: `copied` counts whole pages only, and `cursor` (in
/// RehydrateProgress) resumes after them.
struct RehydrateReport : RehydrateProgress {
  std::vector<RecordFailure> failures;      ///< each key refused for itself, with its error
  std::optional<FailedRange> failed_range;  ///< set when the destination failed a page
  /// Set when the run ended early: the source could not be scanned, or the
  /// destination failed (then equal to failed_range->error).
  std::error_code error{};
  bool stopped = false;   ///< a stop was requested; `cursor` resumes
  bool complete = false;  ///< the whole source was read and every page handled

  /// True when the whole source was copied and no record failed.
  bool ok() const noexcept { return complete && !error && failures.empty(); }
};

/// What rehydrate copies, and how it reports and tells time.
struct RehydrateOptions {
  PageScan scan{};  ///< page size, prefix, resume cursor, rate limit, stop request
  /// Called after every page; empty means no callback.
  std::function<void(const RehydrateProgress&)> on_progress{};
  Clock clock{};  ///< decides what is expired; the system clock by default
};

namespace detail {

/// Copies how a page loop ended into a report (RehydrateReport, DemoteReport).
template <class Report>
void finish_report(Report& report, const PageStreamEnd& end,
                   std::chrono::steady_clock::time_point started) {
  if (!report.error) report.error = end.error;  // a destination error came first
  report.cursor = end.cursor;
  report.stopped = end.stopped;
  report.complete = end.complete;
  report.elapsed = elapsed_since(started);
}

/// A scanned page's verdict, reached as soon as it is read: the records to
/// write (views of the page's strings), the expired ones skipped, the
/// damaged ones refused.
struct VerifiedPage {
  std::vector<Record> records;
  std::size_t expired = 0;
  std::vector<RecordFailure> refused;

  /// Decodes every envelope of `page` (its checksums checked) at `now`.
  void verify(const ScanPage& page, TimePoint now) {
    records.clear();
    refused.clear();
    expired = 0;
    for (const ScannedRecord& record : page.records) {
      const DecodedEnvelope decoded = decode_envelope(record.key, record.envelope);
      if (!decoded) {
        refused.push_back({record.key, decoded.error});
        continue;
      }
      const auto expires = decoded.envelope.meta.expires_at;
      if (expires && is_expired(*expires, now)) {
        ++expired;
        continue;
      }
      records.push_back(Record{record.key, record.envelope, expires});
    }
  }
};

/// The loop shared by both front ends: `write(span<const Record>)` stores a
/// page and returns its BatchResult. The records it is given decoded without
/// error, and each carries the expiry its envelope holds. A page is verified
/// in the thread that read it, while the page before it is written: on two
/// cores the checksums of the next page cost the write nothing.
template <ScannableRepository From, class WritePage>
RehydrateReport rehydrate_pages(From& from, WritePage write, const RehydrateOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  RehydrateReport report;
  report.cursor = options.scan.cursor;
  VerifiedPage verified[2];  // one per page slot of the stream
  const PageStreamEnd end = stream_prepared_pages(
      from, options.scan,
      [&](const ScanPage& page, std::size_t slot) {
        verified[slot].verify(page, options.clock.now());
      },
      [&](const ScanPage& page, std::size_t slot) {
        VerifiedPage& v = verified[slot];
        std::size_t copied = 0;
        if (!v.records.empty()) {
          const BatchResult stored = write(std::span<const Record>(v.records));
          for (std::size_t i = 0; i < v.records.size(); ++i) {
            const std::error_code error =
                i < stored.size() ? stored.error(i) : make_error_code(errc::outcome_unknown);
            if (!error) {
              ++copied;
            } else if (is_record_error(error)) {
              v.refused.push_back({std::string(v.records[i].key), error});
            } else {
              // The destination is failing, not this record: stop before this
              // page so that a re-run copies all of it.
              report.failed_range =
                  FailedRange{std::string(v.records.front().key), std::string(v.records.back().key),
                              v.records.size(), error};
              report.error = error;
              return false;
            }
          }
        }
        ++report.pages;
        report.scanned += page.records.size();
        report.copied += copied;
        report.skipped_expired += v.expired;
        for (auto& failure : v.refused) report.failures.push_back(std::move(failure));
        report.failed = report.failures.size();
        report.elapsed = elapsed_since(started);
        if (!page.next_cursor.empty()) report.cursor = page.next_cursor;
        if (options.on_progress) options.on_progress(report);
        return true;
      });
  finish_report(report, end, started);
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
      // Each page's envelopes were just decoded above: the store need not again.
      [&store](std::span<const Record> page) {
        return store.template store_records<To>(page, envelopes_verified);
      },
      options);
}

STRATA_END_NAMESPACE
