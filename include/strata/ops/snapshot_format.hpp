#pragma once
/// \file
/// The bytes of a backup snapshot: pages of records and the manifest that
/// lists them. Both are stored as ordinary strata records (each in its own
/// envelope) in a backup repository, under a root prefix:
///
///     <root>snapshots/<id>          the manifest (text, below)
///     <root>pages/<id>/<000000>     page 0: packed records
///
/// A page packs each record as `u32 key length, key, u64 envelope length,
/// envelope` (little-endian), the envelopes verbatim. The manifest is
/// line-oriented text, so an operator can read it with any tool:
///
///     strata-snapshot 1
///     id 20261122T004420123Z
///     created 1763772260123            (ms since the Unix epoch)
///     source warm
///     prefix -                         ("-" for none)
///     records 2500
///     pages 3
///     page 0 1000 53000 9f86d081884c7d65   (index, records, bytes, XXH3-64 hex)
///     ...
///     end
///
/// Parsing is strict: anything else is errc::corrupt_record.

#include "strata/core/clock.hpp"
#include "strata/core/config.hpp"
#include "strata/core/envelope.hpp"
#include "strata/core/error.hpp"
#include "strata/core/record.hpp"

#include <array>         // std::array
#include <charconv>      // std::from_chars
#include <cstddef>       // std::size_t
#include <cstdint>       // std::uint64_t
#include <ctime>         // std::time_t, std::tm
#include <iterator>      // std::back_inserter
#include <optional>      // std::optional
#include <string>        // std::string
#include <string_view>   // std::string_view
#include <system_error>  // std::error_code
#include <vector>        // std::vector

#include <fmt/format.h>

#include <time.h>  // gmtime_r

STRATA_BEGIN_NAMESPACE

/// One page of a snapshot as the manifest lists it.
struct SnapshotPage {
  std::size_t records = 0;     ///< records packed in the page
  std::size_t bytes = 0;       ///< the packed page's size in bytes
  std::uint64_t checksum = 0;  ///< XXH3-64 of the packed page
  /// Equal when every field is.
  bool operator==(const SnapshotPage&) const = default;
};

/// What a snapshot holds.
struct SnapshotManifest {
  /// The snapshot's id: its UTC creation time to the millisecond, unless BackupOptions::id named
  /// it.
  std::string id;
  TimePoint created{};              ///< when the backup started
  std::string source;               ///< what was backed up (a tier name, a URL without secrets)
  std::string prefix;               ///< the key prefix backed up; empty for all keys
  std::size_t records = 0;          ///< records in the snapshot, all pages together
  std::vector<SnapshotPage> pages;  ///< the pages, in order
  /// Equal when every field is.
  bool operator==(const SnapshotManifest&) const = default;
};

/// The key prefix backups write under unless told otherwise.
inline constexpr std::string_view default_backup_root = "strata-backup/";

/// The key of a snapshot's manifest: `<root>snapshots/<id>`.
inline std::string manifest_key(std::string_view root, std::string_view id) {
  return fmt::format("{}snapshots/{}", root, id);
}
/// The prefix every manifest under `root` starts with.
inline std::string manifests_prefix(std::string_view root) {
  return fmt::format("{}snapshots/", root);
}
/// The key of a snapshot's page `index`: `<root>pages/<id>/<index, six digits>`.
inline std::string page_key(std::string_view root, std::string_view id, std::size_t index) {
  return fmt::format("{}pages/{}/{:06}", root, id, index);
}

namespace detail {
/// `t` broken down in UTC, and its milliseconds.
struct UtcTime {
  int year, month, day, hour, minute, second, millisecond;
};
inline UtcTime utc_time(TimePoint t) noexcept {
  const auto ms = t.time_since_epoch().count();
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm utc{};
  ::gmtime_r(&seconds, &utc);
  return {
      utc.tm_year + 1900,         utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
      static_cast<int>(ms % 1000)};
}
}  // namespace detail

/// A sortable, readable id from a time: "20261122T004420123Z" (UTC, ms).
inline std::string snapshot_id_at(TimePoint t) {
  const detail::UtcTime u = detail::utc_time(t);
  return fmt::format("{:04}{:02}{:02}T{:02}{:02}{:02}{:03}Z", u.year, u.month, u.day, u.hour,
                     u.minute, u.second, u.millisecond);
}

/// ISO 8601 in UTC, to the millisecond: "2026-11-22T00:44:20.123Z". The one
/// format of every time the operations print or log.
inline std::string iso8601_utc(TimePoint t) {
  const detail::UtcTime u = detail::utc_time(t);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", u.year, u.month, u.day, u.hour,
                     u.minute, u.second, u.millisecond);
}

// ---- pages -----------------------------------------------------------------------

/// Appends one record to a page.
inline void pack_record(std::string& page, std::string_view key, std::string_view envelope) {
  char size[8];
  detail::put_u64(size, key.size());
  page.append(size, 4);
  page.append(key);
  detail::put_u64(size, envelope.size());
  page.append(size, 8);
  page.append(envelope);
}

/// The records of a page, viewing `page`; nullopt when the bytes do not
/// parse (a truncated or foreign page).
inline std::optional<std::vector<Record>> unpack_page(std::string_view page) {
  std::vector<Record> out;
  std::size_t at = 0;
  const auto take = [&](std::size_t n) -> std::optional<std::string_view> {
    if (page.size() - at < n) return std::nullopt;
    const std::string_view bytes = page.substr(at, n);
    at += n;
    return bytes;
  };
  while (at < page.size()) {
    const auto key_size = take(4);
    if (!key_size) return std::nullopt;
    char wide[8] = {};
    for (std::size_t i = 0; i < 4; ++i) wide[i] = (*key_size)[i];
    const auto key = take(detail::get_u64(wide));
    const auto envelope_size = key ? take(8) : std::nullopt;
    const auto envelope =
        envelope_size ? take(detail::get_u64(envelope_size->data())) : std::nullopt;
    if (!envelope) return std::nullopt;
    out.push_back(Record{*key, *envelope, std::nullopt});
  }
  return out;
}

// ---- manifest --------------------------------------------------------------------

/// The manifest as text: one `name value` line per field, then one line per page; what
/// parse_manifest reads.
inline std::string format_manifest(const SnapshotManifest& m) {
  std::string out = fmt::format(
      "strata-snapshot 1\nid {}\ncreated {}\nsource {}\nprefix {}\nrecords {}\npages {}\n", m.id,
      m.created.time_since_epoch().count(), m.source.empty() ? "-" : m.source,
      m.prefix.empty() ? "-" : m.prefix, m.records, m.pages.size());
  for (std::size_t i = 0; i < m.pages.size(); ++i)
    fmt::format_to(std::back_inserter(out), "page {} {} {} {:016x}\n", i, m.pages[i].records,
                   m.pages[i].bytes, m.pages[i].checksum);
  out.append("end\n");
  return out;
}

namespace detail {

/// Reads "<name> <value>\n" lines, and the fields of page lines.
class ManifestReader {
 public:
  explicit ManifestReader(std::string_view text) : rest_(text) {}

  /// The next line's value after `name `, or nullopt.
  std::optional<std::string_view> field(std::string_view name) {
    const auto line = next_line();
    if (!line || !line->starts_with(name) || line->size() <= name.size() ||
        (*line)[name.size()] != ' ')
      return std::nullopt;
    return line->substr(name.size() + 1);
  }
  /// Whether the next line is exactly `text`.
  bool line(std::string_view text) { return next_line() == text; }
  bool at_end() const noexcept { return rest_.empty(); }

  template <class Int>
  static std::optional<Int> number(std::string_view text, int base = 10) {
    Int value{};
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
    if (ec != std::errc{} || end != text.data() + text.size() || text.empty()) return std::nullopt;
    return value;
  }

 private:
  std::optional<std::string_view> next_line() {
    const auto newline = rest_.find('\n');
    if (newline == std::string_view::npos) return std::nullopt;
    const std::string_view line = rest_.substr(0, newline);
    rest_.remove_prefix(newline + 1);
    return line;
  }
  std::string_view rest_;
};

/// Splits "a b c d" into exactly N fields.
template <std::size_t N>
std::optional<std::array<std::string_view, N>> split_fields(std::string_view text) {
  std::array<std::string_view, N> out;
  for (std::size_t i = 0; i < N; ++i) {
    const auto space = text.find(' ');
    if ((space == std::string_view::npos) != (i + 1 == N)) return std::nullopt;
    out[i] = text.substr(0, space);
    if (out[i].empty()) return std::nullopt;
    if (space != std::string_view::npos) text.remove_prefix(space + 1);
  }
  return out;
}

}  // namespace detail

/// The manifest in `text`, or nullopt when it is not one this version writes.
inline std::optional<SnapshotManifest> parse_manifest(std::string_view text) {
  using detail::ManifestReader;
  ManifestReader in(text);
  SnapshotManifest m;
  const auto version = in.field("strata-snapshot");
  const auto id = in.field("id");
  const auto created = in.field("created");
  const auto source = in.field("source");
  const auto prefix = in.field("prefix");
  const auto records = in.field("records");
  const auto pages = in.field("pages");
  if (!version || *version != "1" || !id || id->empty() || !created || !source || !prefix ||
      !records || !pages)
    return std::nullopt;
  const auto created_ms = ManifestReader::number<std::int64_t>(*created);
  const auto record_count = ManifestReader::number<std::size_t>(*records);
  const auto page_count = ManifestReader::number<std::size_t>(*pages);
  if (!created_ms || !record_count || !page_count) return std::nullopt;
  m.id = std::string(*id);
  m.created = TimePoint{Millis{*created_ms}};
  m.source = *source == "-" ? std::string() : std::string(*source);
  m.prefix = *prefix == "-" ? std::string() : std::string(*prefix);
  m.records = *record_count;
  std::size_t listed_records = 0;
  for (std::size_t i = 0; i < *page_count; ++i) {
    const auto line = in.field("page");
    const auto fields = line ? detail::split_fields<4>(*line) : std::nullopt;
    if (!fields) return std::nullopt;
    const auto index = ManifestReader::number<std::size_t>((*fields)[0]);
    const auto page_records = ManifestReader::number<std::size_t>((*fields)[1]);
    const auto bytes = ManifestReader::number<std::size_t>((*fields)[2]);
    const auto checksum = ManifestReader::number<std::uint64_t>((*fields)[3], 16);
    if (!index || *index != i || !page_records || !bytes || !checksum) return std::nullopt;
    m.pages.push_back({*page_records, *bytes, *checksum});
    listed_records += *page_records;
  }
  if (!in.line("end") || !in.at_end() || listed_records != m.records) return std::nullopt;
  return m;
}

STRATA_END_NAMESPACE
