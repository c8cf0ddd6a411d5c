#pragma once
/// \file
/// demote: age-based lifecycle. Records of tier From not updated for
/// `older_than` move down to tier To (WARM -> COLD, like the seed's "90 days
/// local, then archive"), page by page.
///
///     strata::demote<strata::Tier::warm, strata::Tier::cold>(store, {.older_than = 90 * 24h});
///
/// Order makes it safe against crashes: a record is written to To (verbatim)
/// before it is erased from From, so a crash in between leaves it in both
/// tiers (a duplicate, which a re-run removes) and never in neither. Before
/// erasing, each record is read from From again and left there if it changed
/// since the scan; a write landing in the instant between that check and the
/// erase is the one race this cannot close without a conditional delete,
/// which not every backend has (documented in docs/operations.md).
///
/// Reads of a demoted key find it only with ReadFallback::on_miss (or a
/// router that sends it to To).

#include "strata/core/batch_result.hpp"
#include "strata/core/clock.hpp"
#include "strata/core/config.hpp"
#include "strata/core/envelope.hpp"
#include "strata/core/record.hpp"
#include "strata/core/tier.hpp"
#include "strata/ops/page_stream.hpp"
#include "strata/ops/rehydrate.hpp"

#include <chrono>        // std::chrono::steady_clock
#include <cstddef>       // std::size_t
#include <functional>    // std::function
#include <optional>      // std::optional
#include <span>          // std::span
#include <string>        // std::string
#include <string_view>   // std::string_view
#include <system_error>  // std::error_code
#include <vector>        // std::vector

STRATA_BEGIN_NAMESPACE

/// Which records demote moves down and how it reports.
struct DemoteOptions {
  Millis older_than{0};  ///< records whose last update is at least this old move down
  PageScan scan{};       ///< prefix, page size, resume cursor, rate limit, stop request
  /// Called after each page; may be empty.
  std::function<void(const RehydrateProgress&)> on_progress{};
  Clock clock{};  ///< decides each record's age and what is expired
};

/// What a demote did. `copied` counts records moved down and erased from the upper tier.
struct DemoteReport : RehydrateProgress {
  std::size_t kept = 0;     ///< records young enough to stay
  std::size_t changed = 0;  ///< records updated during the demote: copied down, left up
  /// Records that could not be read, copied or erased, each with its error.
  std::vector<RecordFailure> failures;
  std::optional<FailedRange> failed_range;  ///< the page a tier failed; the cursor resumes it
  std::error_code error{};  ///< the tier that failed and stopped the run, if one did
  std::string cursor{};  ///< resumes the run at the first page not handled whole (PageScan::cursor)
  bool stopped = false;  ///< a stop was requested; `cursor` resumes the run
  bool complete = false;  ///< every page of the scan was handled
  /// True when every record was handled and none failed.
  bool ok() const noexcept { return complete && !error && failures.empty(); }
};

/// Moves the records of tier `From` not updated for `options.older_than` down to tier `To`, page by
/// page: written to `To` first, then re-read from `From` and erased there only if unchanged (see
/// the file's description). The store's tiers `From` and `To` must be scannable.
template <Tier From, Tier To, class Store>
DemoteReport demote(Store& store, const DemoteOptions& options) {
  static_assert(index_of(From) < index_of(To), "strata::demote moves records to a lower tier");
  const auto started = std::chrono::steady_clock::now();
  auto& upper = store.template tier<From>();
  DemoteReport report;
  std::vector<Record> old;
  std::vector<std::string_view> moved;
  std::vector<std::string_view> unchanged;
  const auto fail_page = [&](std::error_code error) {
    report.failed_range =
        FailedRange{std::string(old.front().key), std::string(old.back().key), old.size(), error};
    report.error = error;
    return false;
  };
  const PageStreamEnd end = detail::stream_pages(upper, options.scan, [&](const ScanPage& page) {
    const TimePoint now = options.clock.now();
    old.clear();
    std::size_t kept = 0, expired = 0;
    std::vector<RecordFailure> refused;
    for (const ScannedRecord& record : page.records) {
      const DecodedEnvelope decoded = decode_envelope(record.key, record.envelope);
      const auto& meta = decoded.envelope.meta;
      if (!decoded)
        refused.push_back({record.key, decoded.error});
      else if (meta.expires_at && is_expired(*meta.expires_at, now))
        ++expired;
      else if (now - meta.updated < options.older_than)
        ++kept;
      else
        old.push_back(Record{record.key, record.envelope, meta.expires_at});
    }
    std::size_t demoted = 0, changed = 0;
    if (!old.empty()) {
      // 1. Down first (each envelope was decoded above: the store need not again).
      const BatchResult stored =
          store.template store_records<To>(std::span<const Record>(old), envelopes_verified);
      moved.clear();
      for (std::size_t i = 0; i < old.size(); ++i) {
        const std::error_code error =
            i < stored.size() ? stored.error(i) : make_error_code(errc::outcome_unknown);
        if (!error)
          moved.push_back(old[i].key);
        else if (detail::is_record_error(error))
          refused.push_back({std::string(old[i].key), error});
        else
          return fail_page(error);
      }
      // 2. Keep in From whatever changed since the scan.
      const LoadResult now_upper = upper.load_many(std::span<const std::string_view>(moved));
      unchanged.clear();
      for (std::size_t i = 0, j = 0; i < old.size() && j < moved.size(); ++i) {
        if (old[i].key != moved[j]) continue;
        if (j < now_upper.size() && now_upper[j].failed()) return fail_page(now_upper[j].error);
        if (j < now_upper.size() && now_upper[j].found() && now_upper[j].value == old[i].envelope)
          unchanged.push_back(moved[j]);
        else
          ++changed;
        ++j;
      }
      // 3. Then erase from From.
      const EraseResult erased =
          store.template erase_records<From>(std::span<const std::string_view>(unchanged));
      if (erased.error) return fail_page(erased.error);
      demoted = unchanged.size();
    }
    ++report.pages;
    report.scanned += page.records.size();
    report.copied += demoted;
    report.kept += kept;
    report.changed += changed;
    report.skipped_expired += expired;
    for (auto& failure : refused) report.failures.push_back(std::move(failure));
    report.failed = report.failures.size();
    report.elapsed = detail::elapsed_since(started);
    if (options.on_progress) options.on_progress(report);
    return true;
  });
  detail::finish_report(report, end, started);
  return report;
}

STRATA_END_NAMESPACE
