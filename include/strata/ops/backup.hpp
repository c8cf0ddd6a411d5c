#pragma once
/// \file
/// backup, restore and list_snapshots: snapshots of a repository (or of one
/// tier of a store) written in pages to a backup repository — COLD is the
/// natural one — with a manifest that lists every page's checksum
/// (ops/snapshot_format.hpp).
///
///     auto made = strata::backup(store.tier<strata::Tier::warm>(), cold, {});
///     auto back = strata::restore(cold, made.manifest.id, fresh_warm, {});
///
/// A snapshot becomes visible only when its manifest is written, after every
/// page; a backup that stops or fails removes the pages it wrote, so nothing
/// half-written is ever listed or restored.

#include "strata/core/batch_result.hpp"
#include "strata/core/clock.hpp"
#include "strata/core/concepts.hpp"
#include "strata/core/config.hpp"
#include "strata/core/envelope.hpp"
#include "strata/core/error.hpp"
#include "strata/core/record.hpp"
#include "strata/core/tier.hpp"
#include "strata/ops/page_stream.hpp"
#include "strata/ops/rehydrate.hpp"
#include "strata/ops/snapshot_format.hpp"

#include <algorithm>     // std::sort
#include <chrono>        // std::chrono::steady_clock
#include <cstddef>       // std::size_t
#include <functional>    // std::function
#include <span>          // std::span
#include <string>        // std::string
#include <string_view>   // std::string_view
#include <system_error>  // std::error_code
#include <vector>        // std::vector

STRATA_BEGIN_NAMESPACE

/// Where a backup or restore stands, passed to the progress callback per page.
struct SnapshotProgress {
  std::size_t pages = 0;            ///< pages written (to the snapshot, or restored)
  std::size_t records = 0;          ///< records written (to the snapshot, or restored)
  std::size_t skipped_expired = 0;  ///< expired records left out
  std::size_t bytes = 0;            ///< packed page bytes
  Millis elapsed{0};                ///< since the run started
};

/// What backup reads, where it writes the snapshot and how it reports.
struct BackupOptions {
  PageScan scan{};  ///< what to read (prefix, page size, rate limit, stop request)
  std::string root{default_backup_root};  ///< key prefix of every snapshot object
  std::string source{};                   ///< recorded in the manifest: what was backed up
  std::string id{};                       ///< the snapshot's id; empty: from the clock
  /// Called after each page written; may be empty.
  std::function<void(const SnapshotProgress&)> on_progress{};
  Clock clock{};  ///< stamps the snapshot and decides what is expired
};

/// What a backup did. The snapshot exists (its manifest was written) only when ok().
struct BackupReport : SnapshotProgress {
  SnapshotManifest manifest;            ///< complete only when ok()
  std::vector<RecordFailure> failures;  ///< damaged source records, left out
  std::error_code error{};              ///< the source or the backup repository failed
  bool stopped = false;                 ///< a stop was requested; nothing was kept
  /// True when the snapshot is complete.
  bool ok() const noexcept { return !error && !stopped; }
};

/// Which snapshot restore reads and how it checks what it wrote.
struct RestoreOptions {
  /// Key prefix of every snapshot object, as the backup wrote it.
  std::string root{default_backup_root};
  /// Read every restored record back and compare it byte for byte.
  bool verify = true;
  /// Called after each page restored; may be empty.
  std::function<void(const SnapshotProgress&)> on_progress{};
  std::function<bool()> stop_requested{};  ///< polled between pages
  /// The page to start at: a stopped or failed restore's next_page resumes it.
  std::size_t first_page = 0;
  Clock clock{};  ///< decides what is expired
};

/// What a restore did. next_page resumes a stopped or failed one.
struct RestoreReport : SnapshotProgress {
  SnapshotManifest manifest;            ///< the manifest of the snapshot restored
  std::vector<RecordFailure> failures;  ///< keys not restored, or restored but not identical
  std::error_code error{};    ///< the manifest or a page was unreadable, or the destination failed
  std::size_t next_page = 0;  ///< the first page not restored (to resume after a stop)
  bool stopped = false;       ///< a stop was requested; next_page resumes the restore
  /// True when every record of the snapshot was restored (and verified, with `verify`).
  bool ok() const noexcept { return !error && !stopped && failures.empty(); }
};

/// The snapshots under a root, from list_snapshots.
struct SnapshotListing {
  std::vector<SnapshotManifest> snapshots;  ///< oldest first
  std::vector<RecordFailure> unreadable;    ///< manifests that do not parse
  std::error_code error{};                  ///< the listing could not complete
};

namespace detail {

template <Repository R>
std::error_code store_one(R& repo, std::string_view key, std::string_view value, TimePoint now) {
  const std::string envelope = encode_envelope(key, EnvelopeMeta{now, now, std::nullopt, 0}, value);
  const Record record{key, envelope, std::nullopt};
  const BatchResult stored = repo.store_many(std::span<const Record>(&record, 1));
  return stored.size() == 1 ? stored.error(0) : make_error_code(errc::outcome_unknown);
}

/// The value stored at `key`, verified; or the error. Absent is `if_absent`:
/// not_found for a manifest (no such snapshot), corrupt_record for a page
/// (the manifest says it should be there).
template <Repository R>
std::error_code load_one(R& repo, std::string_view key, std::string& value,
                         errc if_absent = errc::corrupt_record) {
  const LoadResult loaded = repo.load_many(std::span<const std::string_view>(&key, 1));
  if (loaded.size() != 1) return errc::outcome_unknown;
  if (loaded[0].failed()) return loaded[0].error;
  if (loaded[0].absent()) return if_absent;
  const DecodedEnvelope decoded = decode_envelope(key, loaded[0].value);
  if (!decoded) return decoded.error;
  value.assign(decoded.envelope.value);
  return {};
}

template <Repository R>
void erase_pages(R& repo, std::string_view root, std::string_view id, std::size_t pages) {
  std::vector<std::string> keys;
  for (std::size_t i = 0; i < pages; ++i) keys.push_back(page_key(root, id, i));
  const std::vector<std::string_view> views(keys.begin(), keys.end());
  if (!views.empty()) repo.erase_many(std::span<const std::string_view>(views));
}

/// Restores every page of a snapshot: `write(span<const Record>)` stores a
/// page's records and `read_back(span<const string_view>)` loads them again.
template <Repository Backups, class Write, class ReadBack>
RestoreReport restore_pages(Backups& backups, std::string_view id, const RestoreOptions& options,
                            Write write, ReadBack read_back) {
  const auto started = std::chrono::steady_clock::now();
  RestoreReport report;
  std::string text;
  if ((report.error = load_one(backups, manifest_key(options.root, id), text, errc::not_found)))
    return report;
  const auto manifest = parse_manifest(text);
  if (!manifest || manifest->id != id) {
    report.error = errc::corrupt_record;
    return report;
  }
  report.manifest = *manifest;
  std::string page;
  std::vector<Record> live;
  std::vector<std::string_view> keys;
  report.next_page = options.first_page;
  for (std::size_t p = options.first_page; p < manifest->pages.size(); ++p) {
    if (options.stop_requested && options.stop_requested()) {
      report.stopped = true;
      break;
    }
    const SnapshotPage& expected = manifest->pages[p];
    if ((report.error = load_one(backups, page_key(options.root, id, p), page))) break;
    const auto records = unpack_page(page);
    if (page.size() != expected.bytes || value_checksum(page) != expected.checksum || !records ||
        records->size() != expected.records) {
      report.error = errc::checksum_mismatch;  // the page is not the one the manifest lists
      break;
    }
    const TimePoint now = options.clock.now();
    live.clear();
    for (const Record& record : *records) {
      const DecodedEnvelope decoded = decode_envelope(record.key, record.envelope);
      if (!decoded) {
        report.failures.push_back({std::string(record.key), decoded.error});
      } else if (decoded.envelope.meta.expires_at &&
                 is_expired(*decoded.envelope.meta.expires_at, now)) {
        ++report.skipped_expired;
      } else {
        live.push_back(Record{record.key, record.envelope, decoded.envelope.meta.expires_at});
      }
    }
    const BatchResult stored = write(std::span<const Record>(live));
    keys.clear();
    for (std::size_t i = 0; i < live.size(); ++i) {
      const std::error_code error =
          i < stored.size() ? stored.error(i) : make_error_code(errc::outcome_unknown);
      if (error && !is_record_error(error)) {
        report.error = error;  // the destination is failing: resume from this page
        break;
      }
      if (error)
        report.failures.push_back({std::string(live[i].key), error});
      else
        keys.push_back(live[i].key);
    }
    if (report.error) break;
    if (options.verify && !keys.empty()) {
      const LoadResult back = read_back(std::span<const std::string_view>(keys));
      for (std::size_t i = 0, j = 0; i < live.size(); ++i) {
        if (j == keys.size() || live[i].key != keys[j]) continue;  // failed above
        const bool same = j < back.size() && back[j].found() && back[j].value == live[i].envelope;
        if (!same) report.failures.push_back({std::string(keys[j]), errc::checksum_mismatch});
        ++j;
      }
    }
    report.records += keys.size();
    report.bytes += page.size();
    ++report.pages;
    report.next_page = p + 1;
    report.elapsed = elapsed_since(started);
    if (options.on_progress) options.on_progress(report);
  }
  report.elapsed = elapsed_since(started);
  return report;
}

}  // namespace detail

/// Writes a snapshot of `source` (every live record, or those under
/// options.scan.prefix) into `backups`: one object per page, then the manifest.
template <ScannableRepository Source, Repository Backups>
BackupReport backup(Source& source, Backups& backups, const BackupOptions& options = {}) {
  const auto started = std::chrono::steady_clock::now();
  BackupReport report;
  SnapshotManifest& m = report.manifest;
  m.created = options.clock.now();
  m.id = options.id.empty() ? snapshot_id_at(m.created) : options.id;
  m.source = options.source;
  m.prefix = options.scan.prefix;
  if (!is_valid_key(manifest_key(options.root, m.id)) ||
      !is_valid_key(page_key(options.root, m.id, 0))) {
    report.error = errc::invalid_key;
    return report;
  }
  std::string existing;
  if (!detail::load_one(backups, manifest_key(options.root, m.id), existing)) {
    report.error = errc::invalid_key;  // an id names one snapshot: never overwrite one
    return report;
  }
  std::string page;
  PageScan scan = options.scan;
  scan.cursor.clear();  // a snapshot is always whole
  const PageStreamEnd end = detail::stream_pages(source, scan, [&](const ScanPage& scanned) {
    const TimePoint now = options.clock.now();
    page.clear();
    SnapshotPage listed;
    for (const ScannedRecord& record : scanned.records) {
      const DecodedEnvelope decoded = decode_envelope(record.key, record.envelope);
      if (!decoded) {
        report.failures.push_back({record.key, decoded.error});
      } else if (decoded.envelope.meta.expires_at &&
                 is_expired(*decoded.envelope.meta.expires_at, now)) {
        ++report.skipped_expired;
      } else {
        pack_record(page, record.key, record.envelope);
        ++listed.records;
      }
    }
    if (listed.records == 0) return true;  // nothing to keep from this page
    listed.bytes = page.size();
    listed.checksum = value_checksum(page);
    if ((report.error =
             detail::store_one(backups, page_key(options.root, m.id, m.pages.size()), page, now)))
      return false;
    m.pages.push_back(listed);
    m.records += listed.records;
    report.pages = m.pages.size();
    report.records = m.records;
    report.bytes += page.size();
    report.elapsed = detail::elapsed_since(started);
    if (options.on_progress) options.on_progress(report);
    return true;
  });
  if (!report.error) report.error = end.error;
  report.stopped = end.stopped;
  if (report.ok())
    report.error = detail::store_one(backups, manifest_key(options.root, m.id), format_manifest(m),
                                     options.clock.now());
  if (!report.ok()) detail::erase_pages(backups, options.root, m.id, m.pages.size() + 1);
  report.elapsed = detail::elapsed_since(started);
  return report;
}

/// Backs up tier T of a store.
template <Tier T, class Store, Repository Backups>
BackupReport backup(Store& store, Backups& backups, BackupOptions options = {}) {
  if (options.source.empty()) options.source = std::string(to_string(T));
  return backup(store.template tier<T>(), backups, options);
}

/// Writes every live record of snapshot `id` into `destination` verbatim,
/// verifying each page against the manifest first and, with options.verify,
/// each record by reading it back.
template <Repository Backups, Repository Destination>
RestoreReport restore(Backups& backups, std::string_view id, Destination& destination,
                      const RestoreOptions& options = {}) {
  return detail::restore_pages(
      backups, id, options,
      [&](std::span<const Record> page) { return destination.store_many(page); },
      [&](std::span<const std::string_view> keys) { return destination.load_many(keys); });
}

/// Restores snapshot `id` into tier T of a store, through the store (the
/// cache stays coherent).
template <Tier T, class Store, Repository Backups>
RestoreReport restore(Backups& backups, std::string_view id, Store& store,
                      const RestoreOptions& options = {}) {
  return detail::restore_pages(
      backups, id, options,
      [&](std::span<const Record> page) { return store.template store_records<T>(page); },
      [&](std::span<const std::string_view> keys) {
        return store.template tier<T>().load_many(keys);
      });
}

/// Every complete snapshot in `backups`, oldest first.
template <ScannableRepository Backups>
SnapshotListing list_snapshots(Backups& backups, std::string_view root = default_backup_root) {
  SnapshotListing listing;
  listing.error =
      detail::stream_pages(
          backups, PageScan{.prefix = manifests_prefix(root)},
          [&](const ScanPage& page) {
            for (const ScannedRecord& record : page.records) {
              const DecodedEnvelope decoded = decode_envelope(record.key, record.envelope);
              auto manifest = decoded ? parse_manifest(decoded.envelope.value) : std::nullopt;
              if (manifest && record.key == manifest_key(root, manifest->id))
                listing.snapshots.push_back(std::move(*manifest));
              else
                listing.unreadable.push_back(
                    {record.key, decoded ? make_error_code(errc::corrupt_record) : decoded.error});
            }
            return true;
          })
          .error;
  std::sort(listing.snapshots.begin(), listing.snapshots.end(),
            [](const SnapshotManifest& a, const SnapshotManifest& b) {
              return a.created != b.created ? a.created < b.created : a.id < b.id;
            });
  return listing;
}

STRATA_END_NAMESPACE
