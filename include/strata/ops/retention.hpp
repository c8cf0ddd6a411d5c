#pragma once
/// \file
/// Retention of backup snapshots: which to keep (the newest N days, plus the
/// newest snapshot of each of the last M calendar months) and cleanup, which
/// deletes the rest — a dry run unless told otherwise.
///
///     auto plan = strata::cleanup(cold, {});                  // lists, deletes nothing
///     auto done = strata::cleanup(cold, {.apply = true});     // deletes
///
/// Deletion goes through the repository's erase_many, every doomed object of
/// every doomed snapshot in one call (the S3 tier sends it as DeleteObjects
/// of up to 1000 keys each). Pages go first and manifests last, so a cleanup
/// cut short leaves snapshots that are still listed and a re-run finishes.

#include "strata/core/clock.hpp"
#include "strata/core/concepts.hpp"
#include "strata/core/config.hpp"
#include "strata/core/record.hpp"
#include "strata/ops/backup.hpp"
#include "strata/ops/snapshot_format.hpp"

#include <chrono>        // std::chrono::floor, std::chrono::year_month_day, std::chrono::days
#include <cstddef>       // std::size_t
#include <functional>    // std::function
#include <map>           // std::map
#include <span>          // std::span
#include <string>        // std::string
#include <string_view>   // std::string_view
#include <system_error>  // std::error_code
#include <vector>        // std::vector

#include <fnmatch.h>  // fnmatch

STRATA_BEGIN_NAMESPACE

/// Which snapshots a cleanup keeps.
struct RetentionPolicy {
  int keep_days = 30;  ///< every snapshot younger than this many days is kept
  /// Plus the newest snapshot of each of this many months (UTC), the current month included.
  int keep_months = 12;
  /// Snapshot ids matching one of these shell patterns (fnmatch) are never deleted.
  std::vector<std::string> exclude{};
};

/// Why a snapshot is kept (recent, monthly, excluded) or removed (expired).
enum class RetentionReason { recent, monthly, excluded, expired };

/// The reason's name, as the `strata cleanup` report prints it.
constexpr std::string_view to_string(RetentionReason reason) noexcept {
  switch (reason) {
    case RetentionReason::recent:
      return "recent";
    case RetentionReason::monthly:
      return "monthly";
    case RetentionReason::excluded:
      return "excluded";
    case RetentionReason::expired:
      return "expired";
  }
  return "?";
}

/// A snapshot and the reason for its fate.
struct RetentionVerdict {
  SnapshotManifest snapshot;  ///< the snapshot's manifest
  RetentionReason reason;     ///< why it is kept or removed
};

/// Which snapshots a policy keeps and which it removes, from plan_retention.
struct RetentionPlan {
  std::vector<RetentionVerdict> keep;    ///< oldest first
  std::vector<RetentionVerdict> remove;  ///< oldest first; reason is always `expired`
};

/// Decides, for snapshots listed oldest first (as list_snapshots returns
/// them), which the policy keeps at `now`. Pure: no I/O.
inline RetentionPlan plan_retention(std::span<const SnapshotManifest> snapshots,
                                    const RetentionPolicy& policy, TimePoint now) {
  using namespace std::chrono;
  const auto month_of = [](TimePoint t) {
    const year_month_day day{floor<days>(sys_time<Millis>(t.time_since_epoch()))};
    return static_cast<int>(day.year()) * 12 + static_cast<int>(static_cast<unsigned>(day.month()));
  };
  const TimePoint recent_after = now - duration_cast<Millis>(days{policy.keep_days});
  const int oldest_month = month_of(now) - policy.keep_months + 1;
  // The newest snapshot of each kept month (snapshots are oldest first, so the last wins).
  std::map<int, std::size_t> newest_of_month;
  for (std::size_t i = 0; i < snapshots.size(); ++i) {
    const int month = month_of(snapshots[i].created);
    if (policy.keep_months > 0 && month >= oldest_month && snapshots[i].created <= now)
      newest_of_month[month] = i;
  }
  RetentionPlan plan;
  for (std::size_t i = 0; i < snapshots.size(); ++i) {
    const SnapshotManifest& s = snapshots[i];
    bool excluded = false;
    for (const std::string& pattern : policy.exclude)
      excluded = excluded || ::fnmatch(pattern.c_str(), s.id.c_str(), 0) == 0;
    const auto month = newest_of_month.find(month_of(s.created));
    if (s.created > recent_after)
      plan.keep.push_back({s, RetentionReason::recent});
    else if (month != newest_of_month.end() && month->second == i)
      plan.keep.push_back({s, RetentionReason::monthly});
    else if (excluded)
      plan.keep.push_back({s, RetentionReason::excluded});
    else
      plan.remove.push_back({s, RetentionReason::expired});
  }
  return plan;
}

/// Which backups a cleanup looks at, the policy it applies and whether it deletes.
struct CleanupOptions {
  RetentionPolicy policy{};               ///< which snapshots to keep
  bool apply = false;                     ///< false: a dry run, which lists and deletes nothing
  std::string root{default_backup_root};  ///< key prefix of the snapshots, as the backup wrote them
  /// Called once per snapshot actually deleted, after its objects are gone,
  /// with a line for an audit log ("deleted <id> created <ISO 8601 UTC> objects <n>").
  std::function<void(const std::string&)> audit{};
  Clock clock{};  ///< "now" for the policy
};

/// What a cleanup did, or in a dry run would do.
struct CleanupReport {
  RetentionPlan plan;       ///< the snapshots kept and removed, with reasons
  std::size_t objects = 0;  ///< objects deleted (or, in a dry run, that would be)
  bool applied = false;     ///< true when the removals were carried out (CleanupOptions::apply)
  std::vector<RecordFailure> unreadable;  ///< manifests that did not parse: never deleted
  std::error_code error{};  ///< listing or deleting failed; what was deleted before stays deleted
  /// True when the listing and every deletion succeeded.
  bool ok() const noexcept { return !error; }
};

/// Applies `options.policy` to the snapshots in `backups`: plans with plan_retention and, with
/// `options.apply`, deletes every removed snapshot's pages, then their manifests. Snapshots whose
/// manifest does not parse are reported and never deleted.
template <ScannableRepository Backups>
CleanupReport cleanup(Backups& backups, const CleanupOptions& options = {}) {
  CleanupReport report;
  SnapshotListing listing = list_snapshots(backups, options.root);
  report.unreadable = std::move(listing.unreadable);
  if ((report.error = listing.error)) return report;
  report.plan = plan_retention(listing.snapshots, options.policy, options.clock.now());

  std::vector<std::string> pages, manifests;
  for (const RetentionVerdict& doomed : report.plan.remove) {
    for (std::size_t p = 0; p < doomed.snapshot.pages.size(); ++p)
      pages.push_back(page_key(options.root, doomed.snapshot.id, p));
    manifests.push_back(manifest_key(options.root, doomed.snapshot.id));
  }
  report.objects = pages.size() + manifests.size();
  if (!options.apply || report.plan.remove.empty()) return report;

  for (const std::vector<std::string>* keys : {&pages, &manifests}) {
    const std::vector<std::string_view> views(keys->begin(), keys->end());
    if (views.empty()) continue;
    const auto erased = backups.erase_many(std::span<const std::string_view>(views));
    if constexpr (requires { erased.error; }) {
      if ((report.error = erased.error)) return report;
    }
  }
  report.applied = true;
  if (options.audit)
    for (const RetentionVerdict& doomed : report.plan.remove)
      options.audit(fmt::format("deleted {} created {} objects {}", doomed.snapshot.id,
                                iso8601_utc(doomed.snapshot.created),
                                doomed.snapshot.pages.size() + 1));
  return report;
}

STRATA_END_NAMESPACE
