#pragma once
/// \file
/// FilesystemRepository: the embedded COLD tier, with object-store semantics
/// (like S3: one object per key, per-item results, atomic_batches = false).
///
/// Layout under the root directory:
///
///     objects/<hh>/<encoded key>   one file per key: exactly the envelope bytes
///     tmp/<unique>.tmp              writes in progress
///
/// `hh` is two hex digits of the key's XXH3 hash (256 fan-out directories).
/// The key is encoded into a safe file name: [A-Za-z0-9_-] stay as they are,
/// every other byte becomes %XX, so no name is ".", "..", contains '/', or
/// differs from another only by case folding of escapes. An encoded name longer
/// than 240 bytes continues in sub-directories whose names end in '+' (which
/// the encoding never produces), keeping every component under NAME_MAX.
///
/// A write goes to tmp/, is made durable, renamed over the object (atomic on
/// POSIX), and the rename is made durable (see store_many for how a batch pays
/// for durability once): a crash leaves either the old record or the new one,
/// never a torn one. Leftover temp files are never read and
/// are removed at open once older than FilesystemOptions::temp_file_max_age.
///
/// Thread safety: every member may be called concurrently, from any number of
/// processes too; concurrent writes of one key leave one of them whole.
/// A scan lists the fan-out directories on every page: it suits archives of up
/// to about a million keys, not a hot path.

#include "strata/core/batch_result.hpp"
#include "strata/core/clock.hpp"
#include "strata/core/config.hpp"
#include "strata/core/entropy.hpp"
#include "strata/core/envelope.hpp"
#include "strata/core/error.hpp"
#include "strata/core/key.hpp"
#include "strata/core/load_result.hpp"
#include "strata/core/percent_encoding.hpp"
#include "strata/core/record.hpp"

#include <algorithm>     // std::sort
#include <atomic>        // std::atomic
#include <cerrno>        // errno, ENOENT
#include <chrono>        // std::chrono::minutes
#include <cstddef>       // std::size_t
#include <cstdint>       // std::uint64_t, SIZE_MAX
#include <filesystem>    // std::filesystem
#include <iterator>      // std::next
#include <optional>      // std::optional
#include <set>           // std::set
#include <span>          // std::span
#include <string>        // std::string
#include <string_view>   // std::string_view
#include <system_error>  // std::error_code
#include <vector>        // std::vector

#include <fcntl.h>   // open, O_*
#include <unistd.h>  // read, write, fsync, syncfs, close, unlink, getpid

STRATA_BEGIN_NAMESPACE

/// Where the filesystem tier keeps its objects and how durably it writes them.
struct FilesystemOptions {
  std::filesystem::path root;  ///< created if missing
  Clock clock{};               ///< decides expiry; the system clock by default
  /// fsync each object and its directory before reporting it stored. false
  /// trades durability across power loss for speed (tests, scratch data).
  bool fsync = true;
  /// Temp files older than this are removed at open; zero removes all (only
  /// safe when no other process writes to this root).
  Millis temp_file_max_age{std::chrono::minutes(10)};
  /// false: open only a root strata already laid out, and change nothing at
  /// open (no temp-file cleanup): read-only tools, where a mistyped path is a
  /// ConfigError, not a new empty directory.
  bool create_if_missing = true;
};

namespace detail {

/// File descriptor that closes itself.
class Fd {
 public:
  explicit Fd(int fd) noexcept : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const noexcept { return fd_; }
  explicit operator bool() const noexcept { return fd_ >= 0; }

 private:
  int fd_;
};

/// errno of a failed file operation as strata's error: the tier cannot serve.
inline std::error_code io_error() noexcept { return make_error_code(errc::backend_unavailable); }

inline bool fsync_directory(const std::filesystem::path& dir) noexcept {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  return fd && ::fsync(fd.get()) == 0;
}

}  // namespace detail

/// The embedded COLD tier: one file per key under a root directory, written by rename (see the
/// file's description for the layout). Models ScannableRepository.
class FilesystemRepository {
 public:
  /// False: each record is stored or fails alone, so a failed batch may be half written.
  static constexpr bool atomic_batches = false;
  /// An encoded key name longer than this continues in sub-directories, keeping each component
  /// under NAME_MAX.
  static constexpr std::size_t max_component_bytes = 240;

  /// Creates the root's layout if missing and removes stale temp files.
  /// Throws strata::Error when the root cannot be created (ConfigError when
  /// it is missing and create_if_missing is false).
  explicit FilesystemRepository(FilesystemOptions options) : options_(std::move(options)) {
    if (!options_.create_if_missing) {
      if (!std::filesystem::is_directory(objects_dir()))
        throw ConfigError("strata::FilesystemRepository: '" + options_.root.string() +
                          "' is not a strata directory (not_found: check the path)");
      return;
    }
    std::error_code ec;
    std::filesystem::create_directories(objects_dir(), ec);
    if (!ec) std::filesystem::create_directories(temp_dir(), ec);
    if (ec)
      throw Error("strata::FilesystemRepository: cannot create '" + options_.root.string() +
                  "': " + ec.message());
    clean_temp_files();
  }

  /// Per item: write each object to a temp file, make it durable, rename it
  /// into place, make the renames durable. Durability is bought per batch:
  /// from `syncfs_batch` items on, one syncfs() before the renames and one
  /// after replace an fsync per object and per directory (on ext4 every fsync
  /// is a journal commit, so a 1000-object batch pays 2 instead of ~1300);
  /// smaller batches fsync each object and each touched directory once.
  /// An object renamed into place whose final sync fails is reported
  /// outcome_unknown: it is there, but may not survive a power loss.
  BatchResult store_many(std::span<const Record> records) {
    const std::size_t n = records.size();
    BatchResult result(n);
    const bool per_filesystem = options_.fsync && n >= syncfs_batch;
    const bool per_file = options_.fsync && !per_filesystem;
    std::vector<std::filesystem::path> temps(n);
    for (std::size_t i = 0; i < n; ++i)
      if (const std::error_code error = write_temp(records[i].envelope, per_file, temps[i]))
        result.mark_failed(i, error);
    if (per_filesystem && !sync_filesystem()) {
      for (std::size_t i = 0; i < n; ++i)
        if (!temps[i].empty()) result.mark_failed(i, discard(temps[i]));
      return result;
    }
    std::set<std::filesystem::path> dirty;
    for (std::size_t i = 0; i < n; ++i) {
      if (temps[i].empty()) continue;
      if (const std::error_code error = publish(temps[i], object_path(records[i].key), dirty))
        result.mark_failed(i, error);
      else
        result.mark_stored(i);
    }
    if (!options_.fsync) return result;
    std::set<std::filesystem::path> unsynced;
    if (per_filesystem) {
      if (!sync_filesystem()) unsynced = std::move(dirty);
    } else {
      for (const auto& dir : dirty)
        if (!detail::fsync_directory(dir)) unsynced.insert(dir);
    }
    if (!unsynced.empty())
      for (std::size_t i = 0; i < n; ++i)
        if (result.stored(i) && unsynced.contains(object_path(records[i].key).parent_path()))
          result.mark_failed(i, errc::outcome_unknown);
    return result;
  }

  /// From this many objects on, a durable store_many syncs the filesystem
  /// twice instead of each object and directory.
  static constexpr std::size_t syncfs_batch = 8;

  /// Reads each key's object; a missing file is absent, an unreadable one fails that key alone.
  LoadResult load_many(std::span<const std::string_view> keys) const {
    LoadResult result(keys.size());
    const TimePoint now = options_.clock.now();
    for (std::size_t i = 0; i < keys.size(); ++i) {
      std::string bytes;
      const std::error_code error = read_file(object_path(keys[i]), bytes, SIZE_MAX);
      if (error && error != std::errc::no_such_file_or_directory)
        result.set_failed(i, detail::io_error());
      else if (error || envelope_expired(keys[i], bytes, now))
        result.set_absent(i);
      else
        result.set_found(i, std::move(bytes));
    }
    return result;
  }

  /// Removes each key's object and counts the unexpired ones that existed.
  EraseResult erase_many(std::span<const std::string_view> keys) {
    EraseResult result;
    const TimePoint now = options_.clock.now();
    for (std::string_view key : keys) {
      const std::filesystem::path path = object_path(key);
      std::string header;
      const std::error_code read = read_file(path, header, envelope_header_bytes);
      if (read == std::errc::no_such_file_or_directory) continue;
      if (::unlink(path.c_str()) != 0) {
        if (errno != ENOENT && !result.error) result.error = detail::io_error();
        continue;
      }
      result.erased += !read && !envelope_expired(key, header, now);
    }
    return result;
  }

  /// Live records whose key starts with `prefix`, in key order, after `cursor`.
  ScanPage scan(std::string_view prefix, std::string_view cursor, std::size_t limit) const {
    ScanPage page;
    std::vector<std::string> keys;
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(objects_dir(), ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      std::error_code type_ec;  // a file that vanished mid-listing is skipped, not fatal
      if (!it->is_regular_file(type_ec)) continue;
      std::optional<std::string> key = key_of(it->path());
      if (key && key->starts_with(prefix) && (cursor.empty() || *key > cursor))
        keys.push_back(std::move(*key));
    }
    if (ec) {
      page.error = detail::io_error();
      return page;
    }
    std::sort(keys.begin(), keys.end());
    const TimePoint now = options_.clock.now();
    std::size_t next = 0;
    for (; next < keys.size() && page.records.size() < limit; ++next) {
      std::string bytes;
      if (read_file(object_path(keys[next]), bytes, SIZE_MAX)) continue;  // erased meanwhile
      if (envelope_expired(keys[next], bytes, now)) continue;
      page.records.push_back({std::move(keys[next]), std::move(bytes)});
    }
    page.done = next == keys.size();
    if (!page.records.empty()) page.next_cursor = page.records.back().key;
    return page;
  }

  /// Deletes expired objects, returning how many.
  std::size_t purge_expired() {
    const TimePoint now = options_.clock.now();
    std::size_t purged = 0;
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(objects_dir(), ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      std::error_code type_ec;  // a file that vanished mid-listing is skipped, not fatal
      if (!it->is_regular_file(type_ec)) continue;
      const std::optional<std::string> key = key_of(it->path());
      std::string header;
      if (!key || read_file(it->path(), header, envelope_header_bytes)) continue;
      if (envelope_expired(*key, header, now)) purged += ::unlink(it->path().c_str()) == 0;
    }
    return purged;
  }

  /// Removes temp files older than options.temp_file_max_age, returning how many.
  std::size_t clean_temp_files() {
    std::size_t removed = 0;
    std::error_code ec;
    const auto cutoff = std::filesystem::file_time_type::clock::now() - options_.temp_file_max_age;
    for (auto it = std::filesystem::directory_iterator(temp_dir(), ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
      std::error_code stat_ec;
      const auto written = it->last_write_time(stat_ec);
      if (!stat_ec && written <= cutoff) removed += std::filesystem::remove(it->path(), stat_ec);
    }
    return removed;
  }

  // ---- key <-> file name ------------------------------------------------------

  /// The object file of a key (which must be valid).
  std::filesystem::path object_path(std::string_view key) const {
    static constexpr char hex[] = "0123456789abcdef";
    const auto h = static_cast<unsigned>(value_checksum(key) & 0xFF);
    std::filesystem::path path = objects_dir() / std::string{hex[h >> 4], hex[h & 15]};
    const std::string name = encode_key(key);
    std::size_t at = 0;
    while (name.size() - at > max_component_bytes) {
      std::size_t cut = at + max_component_bytes - 1;  // room for the '+' marker
      // Never split a %XX escape.
      if (name[cut - 1] == '%')
        cut -= 1;
      else if (name[cut - 2] == '%')
        cut -= 2;
      path /= name.substr(at, cut - at) + '+';
      at = cut;
    }
    return path / name.substr(at);
  }

  /// The file name a key is stored under: [A-Za-z0-9_-] as they are, every other byte as %XX.
  static std::string encode_key(std::string_view key) {
    std::string out;
    out.reserve(key.size());
    for (char c : key) {
      const auto byte = static_cast<unsigned char>(c);
      if ((byte >= 'A' && byte <= 'Z') || (byte >= 'a' && byte <= 'z') ||
          (byte >= '0' && byte <= '9') || byte == '_' || byte == '-') {
        out.push_back(c);
      } else {
        detail::append_percent_escape(out, byte);
      }
    }
    return out;
  }

  /// The key an object file holds, or nullopt for a name strata did not write.
  std::optional<std::string> key_of(const std::filesystem::path& file) const {
    const std::filesystem::path relative = file.lexically_relative(objects_dir());
    std::string encoded;
    bool first = true;
    for (auto part = relative.begin(); part != relative.end(); ++part) {
      if (first) {  // the fan-out directory
        first = false;
        continue;
      }
      std::string name = part->string();
      if (std::next(part) != relative.end()) {
        if (name.empty() || name.back() != '+') return std::nullopt;
        name.pop_back();
      }
      encoded += name;
    }
    std::optional<std::string> key = detail::percent_decode(encoded);
    if (!key || !is_valid_key(*key) || object_path(*key) != file) return std::nullopt;
    return key;
  }

  /// The directory the objects live under.
  const std::filesystem::path& root() const noexcept { return options_.root; }

 private:
  std::filesystem::path objects_dir() const { return options_.root / "objects"; }
  std::filesystem::path temp_dir() const { return options_.root / "tmp"; }

  /// Reads up to `limit` bytes of a file into `out`.
  static std::error_code read_file(const std::filesystem::path& path, std::string& out,
                                   std::size_t limit) {
    detail::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return {errno, std::generic_category()};
    out.clear();
    char buffer[64 * 1024];
    while (out.size() < limit) {
      const ::ssize_t n = ::read(fd.get(), buffer, std::min(sizeof buffer, limit - out.size()));
      if (n < 0) {
        if (errno == EINTR) continue;
        return {errno, std::generic_category()};
      }
      if (n == 0) break;
      out.append(buffer, static_cast<std::size_t>(n));
    }
    return {};
  }

  /// Writes `bytes` to a new temp file, fsynced if asked; `temp` names it on
  /// success and stays empty on failure.
  std::error_code write_temp(std::string_view bytes, bool fsync, std::filesystem::path& temp) {
    std::filesystem::path path = temp_dir() / unique_temp_name();
    detail::Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (!fd) return detail::io_error();
    for (std::size_t written = 0; written < bytes.size();) {
      const ::ssize_t n = ::write(fd.get(), bytes.data() + written, bytes.size() - written);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return discard(path);
      written += static_cast<std::size_t>(n);
    }
    if (fsync && ::fsync(fd.get()) != 0) return discard(path);
    temp = std::move(path);
    return {};
  }

  /// Renames a temp file over its object. The directories whose sync makes
  /// the rename durable go into `dirty`: the object's, and any just created up
  /// to objects/ (a new directory must be recorded in its parent).
  std::error_code publish(const std::filesystem::path& temp, const std::filesystem::path& target,
                          std::set<std::filesystem::path>& dirty) {
    std::error_code ec;
    const bool created = std::filesystem::create_directories(target.parent_path(), ec);
    if (ec) return discard(temp);
    if (::rename(temp.c_str(), target.c_str()) != 0) return discard(temp);
    for (std::filesystem::path dir = target.parent_path();; dir = dir.parent_path()) {
      dirty.insert(dir);
      if (!created || dir == objects_dir()) break;
    }
    return {};
  }

  bool sync_filesystem() const {
    detail::Fd fd(::open(options_.root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    return fd && ::syncfs(fd.get()) == 0;
  }

  static std::error_code discard(const std::filesystem::path& temp) {
    ::unlink(temp.c_str());
    return detail::io_error();
  }

  static std::string unique_temp_name() {
    static const std::uint64_t process_salt =
        detail::entropy64() ^ static_cast<std::uint64_t>(::getpid());
    static std::atomic<std::uint64_t> counter{0};
    return std::to_string(process_salt) + "-" + std::to_string(counter.fetch_add(1)) + ".tmp";
  }

  FilesystemOptions options_;
};

STRATA_END_NAMESPACE
