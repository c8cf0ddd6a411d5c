#pragma once
/// \file
/// The page loop every bulk operation shares (rehydrate, backup, demote):
/// scan a repository page by page, reading the next page while the current
/// one is handled, with a resume cursor, a rate limit and a stop request.
///
/// Memory stays bounded by two pages whatever the number of keys. The cursor
/// only moves past a page once its handler accepted it, so a run stopped or
/// failed at any point resumes from its cursor without losing a page; a page
/// handled twice (after a failure) is written twice with the same bytes.

#include "strata/core/clock.hpp"
#include "strata/core/concepts.hpp"
#include "strata/core/config.hpp"
#include "strata/core/error.hpp"
#include "strata/core/record.hpp"
#include "strata/core/side_call.hpp"

#include <chrono>        // std::chrono::steady_clock, std::chrono::duration
#include <cstddef>       // std::size_t
#include <functional>    // std::function
#include <string>        // std::string
#include <string_view>   // std::string_view
#include <system_error>  // std::error_code
#include <thread>        // std::this_thread::sleep_until

STRATA_BEGIN_NAMESPACE

/// How a bulk operation walks its source.
struct PageScan {
  std::size_t page_size = 1000;  ///< records per scan page and per write; zero means 1000
  std::string prefix{};          ///< only keys with this prefix; empty means all
  /// Where to start: the `cursor` a stopped or failed run reported; empty
  /// starts at the beginning.
  std::string cursor{};
  double max_keys_per_second = 0;  ///< a rate limit on records read; zero means none
  /// Polled between pages: once it returns true the page in flight is
  /// finished, and the operation stops and reports where to resume.
  std::function<bool()> stop_requested{};
};

/// How a page loop ended.
struct PageStreamEnd {
  std::string cursor{};     ///< resume from here; every page before it was handled
  std::error_code error{};  ///< set when the source could not be scanned
  bool stopped = false;     ///< stop_requested said so
  bool complete = false;    ///< the source's last page was handled
};

namespace detail {

/// Elapsed time on the steady clock, in the unit reports use.
inline Millis elapsed_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - start);
}

/// The page loop itself, one copy for every repository and handler (they
/// come in as std::function: one indirect call per page of up to thousands of
/// records). `fetch(cursor, page_size, page)` reads a page over `page`;
/// `prepare(page, slot)`, when given, runs right after a fetch that did not
/// fail, in the thread that fetched: the work on a page that does not have to
/// wait for the previous page's handling (rehydrate verifies envelopes
/// there). `handle(page, slot)` returns false when the page was not fully
/// handled: the loop ends and the cursor stays before that page. Two pages
/// take turns, `slot` 0 and 1, one handled while the next is read (and
/// prepared) into the other, so that a repository that writes over a page's
/// strings (scan_into) allocates nothing per record once both have grown,
/// and a caller can keep what it prepared for a page beside its slot.
inline PageStreamEnd stream_pages_with(
    const PageScan& scan,
    const std::function<void(const std::string&, std::size_t, ScanPage&)>& fetch,
    const std::function<void(const ScanPage&, std::size_t)>& prepare,
    const std::function<bool(const ScanPage&, std::size_t)>& handle) {
  const std::size_t page_size = scan.page_size == 0 ? 1000 : scan.page_size;
  const auto stop = [&scan] { return scan.stop_requested && scan.stop_requested(); };
  const auto started = std::chrono::steady_clock::now();
  std::size_t read = 0;

  PageStreamEnd end;
  end.cursor = scan.cursor;
  if (stop()) {
    end.stopped = true;
    return end;
  }
  ScanPage pages[2];
  const auto fetch_into = [&](const std::string& cursor, std::size_t slot) {
    fetch(cursor, page_size, pages[slot]);
    if (prepare && !pages[slot].error) prepare(pages[slot], slot);
  };
  std::size_t current = 0;
  fetch_into(end.cursor, current);
  for (;;) {
    const ScanPage& page = pages[current];
    if (page.error) {
      end.error = page.error;
      return end;
    }
    const bool last = page.done || page.next_cursor.empty();  // an empty cursor cannot go on
    // Read the next page while this one is written. Without a thread to be
    // had, it is read after this one instead.
    SideCall<bool> next;  // declared after `pages`: joined before they go
    if (!last)
      next.start([&fetch_into, cursor = page.next_cursor, slot = 1 - current] {
        fetch_into(cursor, slot);
        return true;
      });
    if (!handle(page, current)) return end;  // `next` is waited for
    if (!page.next_cursor.empty()) end.cursor = page.next_cursor;
    if (last) {
      end.complete = true;
      return end;
    }
    read += page.records.size();
    if (scan.max_keys_per_second > 0) {
      const auto due = started + std::chrono::duration<double>(static_cast<double>(read) /
                                                               scan.max_keys_per_second);
      std::this_thread::sleep_until(
          std::chrono::time_point_cast<std::chrono::steady_clock::duration>(due));
    }
    if (stop()) {
      end.stopped = true;
      return end;
    }
    if (next.started())
      next.get();
    else
      fetch_into(end.cursor, 1 - current);
    current = 1 - current;
  }
}

/// The fetch of stream_pages_with for a repository: one scan page.
template <ScannableRepository From>
auto scan_function(From& from, const PageScan& scan) {
  return [&from, &scan](const std::string& cursor, std::size_t page_size, ScanPage& page) {
    scan_over(from, scan.prefix, cursor, page_size, page);
  };
}

/// Scans `from` and calls `handle(const ScanPage&) -> bool` per page; false
/// means the page was not fully handled: the loop ends and the cursor stays
/// before that page.
template <ScannableRepository From, class Handle>
PageStreamEnd stream_pages(From& from, const PageScan& scan, Handle handle) {
  return stream_pages_with(scan, scan_function(from, scan), {},
                           [&handle](const ScanPage& page, std::size_t) { return handle(page); });
}

/// stream_pages with a `prepare(const ScanPage&, slot)` run on each page as
/// soon as it is read, while the page before it is still being handled, and
/// `handle(const ScanPage&, slot) -> bool` (see stream_pages_with).
template <ScannableRepository From, class Prepare, class Handle>
PageStreamEnd stream_prepared_pages(From& from, const PageScan& scan, Prepare prepare,
                                    Handle handle) {
  return stream_pages_with(
      scan, scan_function(from, scan),
      [&prepare](const ScanPage& page, std::size_t slot) { prepare(page, slot); },
      [&handle](const ScanPage& page, std::size_t slot) { return handle(page, slot); });
}

/// Errors that belong to one record (its key, size or bytes), as opposed to
/// the destination being unable to take writes at all.
inline bool is_record_error(std::error_code error) noexcept {
  if (error.category() != error_category()) return false;
  switch (static_cast<errc>(error.value())) {
    case errc::invalid_key:
    case errc::value_too_large:
    case errc::checksum_mismatch:
    case errc::corrupt_record:
    case errc::invalid_ttl:
    case errc::invalid_codec_tag:
      return true;
    default:
      return false;
  }
}

}  // namespace detail

STRATA_END_NAMESPACE
