// strata: the operator's command. Rehydrates a tier after an outage, takes and
// restores backups, applies the retention policy, shows what each tier holds,
// and runs the failover drill. docs/operations.md is its manual: commands,
// environment variables, exit codes, and the runbooks.
#include "backend_url.hpp"
#include "progress.hpp"

#include <strata/core/any_repository.hpp>
#include <strata/ops/backup.hpp>
#include <strata/ops/drill.hpp>
#include <strata/ops/page_stream.hpp>
#include <strata/ops/rehydrate.hpp>
#include <strata/ops/retention.hpp>
#include <strata/strata.hpp>

#include <fmt/core.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace strata::cli {
namespace {

/// Exit codes (docs/operations.md lists them; scripts depend on them).
enum Exit : int {
  ok = 0,
  failed = 1,         ///< a backend failed; the report says where to resume
  misconfigured = 2,  ///< bad flags, URLs or credentials, or a bucket, table or snapshot not found
  partial = 3,        ///< done, but some records failed (listed)
  interrupted = 130,  ///< SIGINT or SIGTERM: the page in flight finished, the cursor printed
};

std::atomic<int> stop_signal{0};
extern "C" void on_stop_signal(int signal) { stop_signal.store(signal); }

void install_signal_handlers() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;  // blocking I/O continues: the page in flight finishes
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}
bool stop_requested() { return stop_signal.load() != 0; }

/// The exit code of an operation a backend failed: refused credentials and a
/// bucket, table or snapshot that is not there are misconfiguration (2), not
/// an outage (1).
int failure_exit(std::error_code error) {
  return error == errc::access_denied || error == errc::not_found ? misconfigured : failed;
}

/// The resume line of the last page handled, for an exit that cannot wait for
/// the page in flight; empty when there is none.
std::mutex resume_mutex;
std::string resume_so_far;
void note_resume(std::string line) {
  std::lock_guard lock(resume_mutex);
  resume_so_far = std::move(line);
}

/// Set once the backend work is done and the report is being printed.
std::atomic<bool> reporting{false};

/// --metrics-file: where rehydrate, backup and restore keep their progress in
/// Prometheus' text format (empty: nowhere). Set once, before any command runs.
std::string metrics_file;

/// How long the page in flight may take to finish after SIGINT or SIGTERM.
constexpr std::chrono::milliseconds interrupt_grace{800};

/// SIGINT and SIGTERM stop the command after the page in flight; but a
/// backend that does not answer (a connect to a silent server, a hung S3
/// request) would hold it for its whole timeout. So once a stop is asked for
/// and the page has not finished within interrupt_grace, this exits with 130
/// at once, printing the resume line of the last page handled. A page cut off
/// may be partly written; copying it again is harmless.
void start_interrupt_watchdog() {
  std::thread([] {
    while (!stop_requested()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    std::this_thread::sleep_for(interrupt_grace);
    if (reporting.load()) return;  // finishing on its own
    std::lock_guard lock(resume_mutex);
    std::fflush(stdout);
    fmt::print("\nstatus: interrupted\n");
    if (!resume_so_far.empty()) fmt::print("{}\n", resume_so_far);
    fmt::print(stderr,
               "strata: interrupted: a backend had not answered {} ms after the signal; the page "
               "in flight may be partly written (running it again is safe)\n",
               interrupt_grace.count());
    std::fflush(stdout);
    std::fflush(stderr);
    std::_Exit(interrupted);
  }).detach();
}

/// Text quoted for a POSIX shell, for the lines the command prints to be run.
std::string shell_quoted(std::string_view text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

/// Where the tiers and the backups live: flags, then environment, then the
/// embedded directory.
struct Backends {
  std::string dir = env("STRATA_DIR").value_or("strata-data");
  std::string hot = env("STRATA_HOT").value_or("");
  std::string warm = env("STRATA_WARM").value_or("");
  std::string cold = env("STRATA_COLD").value_or("");
  std::string backups = env("STRATA_BACKUPS").value_or("");

  /// A tier name (hot, warm, cold, backups) or a URL, as a URL.
  std::string url_of(const std::string& name) const {
    if (name == "hot") {
      if (hot.empty())
        throw ConfigError(
            "no HOT tier configured: pass --hot URL or set STRATA_HOT (e.g. "
            "redis://127.0.0.1:6379)");
      return hot;
    }
    if (name == "warm") return warm.empty() ? "sqlite:" + dir + "/warm.sqlite3" : warm;
    if (name == "cold") return cold.empty() ? "file:" + dir + "/cold" : cold;
    if (name == "backups") return backups.empty() ? url_of("cold") : backups;
    return name;
  }
  /// Opens a tier by name or URL. Access::read_only creates nothing, not
  /// even the embedded directory: what is not there is a ConfigError.
  AnyRepository open(const std::string& name, Access access = Access::read_write) const {
    const bool embedded =
        name == "warm" || name == "cold" || (name == "backups" && backups.empty() && cold.empty());
    if (embedded && access == Access::read_write) std::filesystem::create_directories(dir);
    return open_repository(url_of(name), access);
  }

  /// The global flags that select these backends, for a resume line that must
  /// reach the same data. A URL taken from the environment is named by its
  /// variable ("$STRATA_WARM"), so the line runs verbatim in the same shell
  /// and prints no secret; one given as a flag is printed redacted.
  std::string flags() const {
    std::string out = " --dir " + shell_quoted(dir);
    const auto add = [&](const char* flag, const std::string& url, const char* variable) {
      if (url.empty()) return;
      if (env(variable) == url)
        out += fmt::format(" {} \"${}\"", flag, variable);
      else
        out += fmt::format(" {} {}", flag, shell_quoted(redacted(url)));
    };
    add("--hot", hot, "STRATA_HOT");
    add("--warm", warm, "STRATA_WARM");
    add("--cold", cold, "STRATA_COLD");
    add("--backups", backups, "STRATA_BACKUPS");
    return out;
  }
};

void print_failures(const std::vector<RecordFailure>& failures) {
  constexpr std::size_t shown = 20;
  for (std::size_t i = 0; i < failures.size() && i < shown; ++i)
    fmt::print("  {}: {}\n", failures[i].key, failures[i].error.message());
  if (failures.size() > shown) fmt::print("  ... and {} more\n", failures.size() - shown);
}

/// The exit code and status line of a paged operation.
int finish(bool stopped, std::error_code error, bool complete, std::size_t failures) {
  const char* status = stopped        ? "interrupted"
                       : error        ? "failed"
                       : !complete    ? "failed"
                       : failures > 0 ? "partial"
                                      : "complete";
  fmt::print("status: {}\n", status);
  if (stopped) return interrupted;
  if (error) return failure_exit(error);
  if (!complete) return failed;
  return failures > 0 ? partial : ok;
}

// ---- commands -------------------------------------------------------------------------

/// A range check that says what is wrong in plain words ("--page: must be
/// at least 1"), where CLI11's own range names its 300-digit bounds.
CLI::Validator at_least(double minimum) {
  return CLI::Validator(
      [minimum](std::string& text) -> std::string {
        double value = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (ec != std::errc{} || end != text.data() + text.size())
          return fmt::format("'{}' is not a number", text);
        return value < minimum ? fmt::format("must be at least {}", minimum) : std::string();
      },
      fmt::format(">= {}", minimum));
}

struct PagedFlags {
  std::string prefix;
  std::size_t page = 1000;
  double rate = 0;
  std::size_t expect = 0;

  void add_to(CLI::App& command) {
    command.add_option("--prefix", prefix, "only keys starting with this");
    command.add_option("--page", page, "records per page")->check(at_least(1));
    command.add_option("--rate", rate, "at most this many keys per second (0: no limit)")
        ->check(at_least(0));
    command.add_option("--expect", expect, "the number of keys, for the progress bar's ETA");
  }
  PageScan scan() const {
    return PageScan{.page_size = page,
                    .prefix = prefix,
                    .cursor = {},
                    .max_keys_per_second = rate,
                    .stop_requested = stop_requested};
  }
  std::optional<std::size_t> total() const {
    return expect > 0 ? std::optional<std::size_t>(expect) : std::nullopt;
  }
  /// The flags that select data or pace the run, for a resume line.
  std::string flags() const {
    std::string out;
    if (!prefix.empty()) out += " --prefix " + shell_quoted(prefix);
    out += fmt::format(" --page {}", page);
    if (rate > 0) out += fmt::format(" --rate {}", rate);
    return out;
  }
};

int rehydrate_command(const Backends& backends, const std::string& from_name,
                      const std::string& to_name, const PagedFlags& flags,
                      const std::string& resume) {
  AnyRepository from = backends.open(from_name, Access::read_only);
  AnyRepository to = backends.open(to_name);
  fmt::print("rehydrate: {} -> {}\n", from.description(), to.description());
  const auto resume_line = [&](const std::string& cursor) {
    return fmt::format("resume: strata{} rehydrate --from {} --to {}{} --resume {}",
                       backends.flags(), shell_quoted(redacted(from_name)),
                       shell_quoted(redacted(to_name)), flags.flags(), shell_quoted(cursor));
  };
  if (!resume.empty()) note_resume(resume_line(resume));
  Progress progress("rehydrate", flags.total(), metrics_file);
  RehydrateOptions options{.scan = flags.scan(), .on_progress = [&](const RehydrateProgress& p) {
                             progress.update(p.scanned);
                             note_resume(resume_line(p.cursor));
                           }};
  options.scan.cursor = resume;
  const RehydrateReport report = rehydrate(from, to, options);
  reporting = true;
  progress.finish();
  fmt::print("scanned: {}\ncopied: {}\nskipped_expired: {}\nfailed: {}\n", report.scanned,
             report.copied, report.skipped_expired, report.failed);
  print_failures(report.failures);
  if (report.failed_range)
    fmt::print("failed_range: {} .. {} ({} keys): {}\n", report.failed_range->first_key,
               report.failed_range->last_key, report.failed_range->keys,
               report.failed_range->error.message());
  else if (report.error)
    fmt::print("error: {}\n", report.error.message());
  fmt::print("elapsed_ms: {}\ncursor: {}\n", report.elapsed.count(), report.cursor);
  if (!report.complete) fmt::print("{}\n", resume_line(report.cursor));
  return finish(report.stopped, report.error, report.complete, report.failed);
}

BackupReport backup_into(const Backends& backends, const std::string& from_name,
                         const std::string& to_name, const PagedFlags& flags,
                         const std::string& id) {
  AnyRepository from = backends.open(from_name, Access::read_only);
  AnyRepository to = backends.open(to_name);
  fmt::print("backup: {} -> {}\n", from.description(), to.description());
  Progress progress("backup", flags.total(), metrics_file);
  BackupReport report = backup(
      from, to,
      BackupOptions{.scan = flags.scan(),
                    .source = redacted(from_name),
                    .id = id,
                    .on_progress = [&](const SnapshotProgress& p) { progress.update(p.records); }});
  reporting = true;
  progress.finish();
  fmt::print("snapshot: {}\nrecords: {}\npages: {}\nbytes: {}\nskipped_expired: {}\nfailed: {}\n",
             report.ok() ? report.manifest.id : "(none: nothing was kept)", report.records,
             report.pages, report.bytes, report.skipped_expired, report.failures.size());
  print_failures(report.failures);
  if (report.error) fmt::print("error: {}\n", report.error.message());
  fmt::print("elapsed_ms: {}\n", report.elapsed.count());
  return report;
}

/// Refuses, before anything is written, a snapshot id the repository does
/// not hold and a --first-page past the snapshot's last page. A manifest that
/// cannot be read is left for restore to report.
void check_restore_request(AnyRepository& from, const std::string& id, std::size_t first_page) {
  const std::string key = manifest_key(default_backup_root, id);
  const std::string_view view = key;
  const LoadResult loaded = from.load_many(std::span(&view, 1));
  if (loaded.size() != 1 || loaded[0].failed()) return;  // restore reports why
  if (loaded[0].absent())
    throw ConfigError(fmt::format("no such snapshot '{}' in {} (`strata snapshots` lists them)", id,
                                  from.description()));
  const DecodedEnvelope decoded = decode_envelope(key, loaded[0].value);
  const auto manifest = decoded ? parse_manifest(decoded.envelope.value) : std::nullopt;
  if (manifest && first_page > 0 && first_page >= manifest->pages.size())
    throw ConfigError(fmt::format(
        "--first-page {} is past the last page of snapshot '{}' (its pages are 0 to {})",
        first_page, id, manifest->pages.empty() ? 0 : manifest->pages.size() - 1));
}

int restore_command(const Backends& backends, const std::string& id, const std::string& from_name,
                    const std::string& to_name, bool verify, std::size_t first_page) {
  AnyRepository from = backends.open(from_name, Access::read_only);
  check_restore_request(from, id, first_page);
  AnyRepository to = backends.open(to_name);
  fmt::print("restore: {} from {} -> {}\n", id, from.description(), to.description());
  const auto resume_line = [&](std::size_t next_page) {
    return fmt::format("resume: strata{} restore {} --from {} --to {}{} --first-page {}",
                       backends.flags(), shell_quoted(id), shell_quoted(redacted(from_name)),
                       shell_quoted(redacted(to_name)), verify ? "" : " --no-verify", next_page);
  };
  std::optional<Progress> progress;
  RestoreOptions options{
      .verify = verify, .stop_requested = stop_requested, .first_page = first_page};
  options.on_progress = [&](const SnapshotProgress& p) {
    if (!progress) progress.emplace("restore", std::nullopt, metrics_file);
    progress->update(p.records);
    note_resume(resume_line(first_page + p.pages));
  };
  const RestoreReport report = restore(from, id, to, options);
  reporting = true;
  if (progress) progress->finish();
  fmt::print("restored: {} of {}\npages: {} of {}\nskipped_expired: {}\nverified: {}\nfailed: {}\n",
             report.records, report.manifest.records, report.pages, report.manifest.pages.size(),
             report.skipped_expired, verify ? "yes" : "no", report.failures.size());
  print_failures(report.failures);
  if (report.error) fmt::print("error: {}\n", report.error.message());
  if ((report.error || report.stopped) && !report.manifest.pages.empty())
    fmt::print("{}\n", resume_line(report.next_page));
  return finish(report.stopped, report.error, !report.error && !report.stopped,
                report.failures.size());
}

int snapshots_command(const Backends& backends, const std::string& from_name) {
  AnyRepository from = backends.open(from_name, Access::read_only);
  const SnapshotListing listing = list_snapshots(from);
  fmt::print("{:<22} {:<24} {:>10} {:>6}  {}\n", "id", "created", "records", "pages", "source");
  for (const SnapshotManifest& m : listing.snapshots)
    fmt::print("{:<22} {:<24} {:>10} {:>6}  {}\n", m.id, iso8601_utc(m.created), m.records,
               m.pages.size(), redacted(m.source));
  for (const auto& bad : listing.unreadable)
    fmt::print("unreadable manifest {}: {}\n", bad.key, bad.error.message());
  if (listing.error) {
    fmt::print("error: {}\n", listing.error.message());
    return failure_exit(listing.error);
  }
  return listing.unreadable.empty() ? ok : partial;
}

int cleanup_command(const Backends& backends, const std::string& from_name,
                    const CleanupOptions& base, bool backup_first, const std::string& backup_from,
                    const std::string& audit_path) {
  if (backup_first) {
    const BackupReport made = backup_into(backends, backup_from, from_name, PagedFlags{}, "");
    if (!made.ok()) {
      fmt::print("status: failed (the backup before cleanup did not complete; nothing deleted)\n");
      return made.stopped ? interrupted : failed;
    }
  }
  AnyRepository repo = backends.open(from_name);
  std::ofstream audit;
  CleanupOptions options = base;
  if (options.apply) {
    audit.open(audit_path, std::ios::app);
    if (!audit) throw ConfigError(fmt::format("cannot append to the audit log '{}'", audit_path));
    options.audit = [&](const std::string& line) {
      audit << iso8601_utc(Clock{}.now()) << ' ' << line << " from " << repo.description() << '\n';
      audit.flush();
    };
  }
  const CleanupReport report = cleanup(repo, options);
  fmt::print("cleanup of {}: keep {} days, newest of {} months{}\n", repo.description(),
             options.policy.keep_days, options.policy.keep_months,
             options.apply ? "" : " (dry run: nothing is deleted; pass --apply)");
  for (const auto& kept : report.plan.keep)
    fmt::print("keep   {} ({})\n", kept.snapshot.id, to_string(kept.reason));
  for (const auto& doomed : report.plan.remove)
    fmt::print("{} {}\n", options.apply ? "delete" : "would delete", doomed.snapshot.id);
  fmt::print("snapshots_deleted: {}\nobjects: {}\n", report.applied ? report.plan.remove.size() : 0,
             report.objects);
  if (report.applied) fmt::print("audit_log: {}\n", audit_path);
  for (const auto& bad : report.unreadable)
    fmt::print("unreadable manifest {} (left alone): {}\n", bad.key, bad.error.message());
  if (report.error) {
    fmt::print("error: {}\nstatus: failed\n", report.error.message());
    return failure_exit(report.error);
  }
  fmt::print("status: {}\n", report.unreadable.empty() ? "complete" : "partial");
  return report.unreadable.empty() ? ok : partial;
}

int stats_command(const Backends& backends, const std::vector<std::string>& tiers,
                  const std::string& prefix, bool prometheus_format) {
  int code = ok;
  // The table goes out row by row; the exposition, at the end, for the
  // tiers that could be read (a failed one is said on standard error).
  std::vector<strata::prometheus::Sample> record_samples, byte_samples;
  const auto row = [&](const std::string& tier, const std::string& records,
                       const std::string& bytes, const std::string& backend) {
    if (prometheus_format)
      fmt::print(stderr, "{}: {}\n", tier, backend);
    else
      fmt::print("{:<8} {:>12} {:>14}  {}\n", tier, records, bytes, backend);
  };
  if (!prometheus_format) row("tier", "records", "bytes", "backend");
  for (const std::string& tier : tiers) {
    std::optional<AnyRepository> opened;
    try {
      opened.emplace(backends.open(tier, Access::read_only));
    } catch (const ConfigError& e) {  // one tier that is not there; the others are still shown
      row(redacted(tier), "-", "-", redacted(e.what()));
      code = misconfigured;
      continue;
    }
    AnyRepository& repo = *opened;
    std::size_t records = 0, bytes = 0;
    const std::error_code error =
        strata::detail::stream_pages(repo,
                                     PageScan{.prefix = prefix, .stop_requested = stop_requested},
                                     [&](const ScanPage& page) {
                                       records += page.records.size();
                                       for (const auto& r : page.records)
                                         bytes += r.key.size() + r.envelope.size();
                                       return true;
                                     })
            .error;
    if (error) {
      row(redacted(tier), "-", "-", fmt::format("{} ({})", repo.description(), error.message()));
      code = std::max(code, failure_exit(error));
    } else if (prometheus_format) {
      const std::vector<::prometheus::ClientMetric::Label> labels{{"tier", redacted(tier)}};
      record_samples.push_back({labels, static_cast<double>(records)});
      byte_samples.push_back({labels, static_cast<double>(bytes)});
    } else {
      row(redacted(tier), std::to_string(records), std::to_string(bytes), repo.description());
    }
    if (stop_requested()) return interrupted;
  }
  if (prometheus_format)
    fmt::print("{}", strata::prometheus::to_text(
                         {strata::prometheus::gauges("strata_tier_records",
                                                     "Live records a tier holds", record_samples),
                          strata::prometheus::gauges("strata_tier_bytes",
                                                     "Bytes of those records' keys and envelopes",
                                                     byte_samples)}));
  return code;
}

int drill_command(const Backends& backends, std::vector<std::size_t> sizes, std::size_t page,
                  std::size_t sample) {
  using DrillStore =
      TieredStore<LruCache<>, FixedRouter<Tier::hot>, AnyRepository, AnyRepository, NoTier>;
  const std::string hot_url = backends.hot.empty() ? "memory:" : backends.url_of("hot");
  if (sizes.empty()) sizes.push_back(354);
  fmt::print("failover drill: HOT {} lost, rebuilt from WARM {}\n", redacted(hot_url),
             redacted(backends.url_of("warm")));
  fmt::print("{:>9} {:>15} {:>10} {:>9} {:>12} {:>10} {:>15}\n", "keys", "sequential ms",
             "batch ms", "speedup", "keys/s", "RSS +MiB", "byte-identical");
  bool identical = true;
  for (std::size_t n : sizes) {
    DrillStore store(StoreOptions{}, open_repository(hot_url), backends.open("warm"), NoTier{},
                     LruCache<>(LruOptions{.max_entries = 100'000}));
    const DrillReport r =
        run_drill(store, DrillOptions{.keys = n, .page_size = page, .sequential_sample = sample});
    identical = identical && r.identical;
    fmt::print("{:>9} {:>14.2f}{} {:>10.2f} {:>8.1f}x {:>12.0f} {:>10.1f} {:>15}\n", r.keys,
               r.sequential_ms, r.sampled() ? "*" : " ", r.batch_ms, r.speedup(),
               r.keys_per_second(), static_cast<double>(r.rss_growth) / (1 << 20),
               r.identical ? "yes" : "NO");
    if (r.sampled())
      fmt::print("          * one-key path timed on {} keys and extrapolated to {}\n",
                 r.sequential_keys, r.keys);
  }
  return identical ? ok : failed;
}

int run(int argc, char** argv) {
  CLI::App app{"strata: rehydrate, back up, restore and clean up tiered storage"};
  app.name("strata");
  app.require_subcommand(1);
  app.set_version_flag("--version", fmt::format("strata {}.{}.{}", STRATA_VERSION_MAJOR,
                                                STRATA_VERSION_MINOR, STRATA_VERSION_PATCH));
  // The global flags below may also follow the subcommand (`strata stats
  // --warm URL`): subcommands created after this pass on what they do not know.
  app.fallthrough();
  Backends backends;
  app.add_option("--dir", backends.dir, "embedded directory (STRATA_DIR; default strata-data)");
  app.add_option("--hot", backends.hot, "HOT tier URL (STRATA_HOT)");
  app.add_option("--warm", backends.warm,
                 "WARM tier URL (STRATA_WARM; default sqlite:DIR/warm.sqlite3)");
  app.add_option("--cold", backends.cold, "COLD tier URL (STRATA_COLD; default file:DIR/cold)");
  app.add_option("--backups", backends.backups,
                 "backup repository URL (STRATA_BACKUPS; default COLD)");
  app.add_option("--metrics-file", metrics_file,
                 "rehydrate, backup, restore: keep progress in this file in Prometheus' text "
                 "format, rewritten whole (for node_exporter's textfile collector)");

  std::function<int()> action;

  auto* rehydrate_cmd =
      app.add_subcommand("rehydrate", "copy every live record of one tier into another");
  std::string from = "warm", to = "hot", resume;
  PagedFlags paged;
  rehydrate_cmd->add_option("--from", from, "source tier or URL (default warm)");
  rehydrate_cmd->add_option("--to", to, "destination tier or URL (default hot)");
  rehydrate_cmd->add_option("--resume", resume, "the cursor a stopped or failed run printed");
  paged.add_to(*rehydrate_cmd);
  rehydrate_cmd->callback(
      [&] { action = [&] { return rehydrate_command(backends, from, to, paged, resume); }; });

  auto* backup_cmd =
      app.add_subcommand("backup", "write a snapshot of a tier to the backup repository");
  std::string backup_from = "warm", backup_to = "backups", id;
  backup_cmd->add_option("--from", backup_from, "tier or URL to back up (default warm)");
  backup_cmd->add_option("--to", backup_to, "backup repository (default backups)");
  backup_cmd->add_option("--id", id, "snapshot id (default: the time, e.g. 20261122T004420123Z)");
  paged.add_to(*backup_cmd);
  backup_cmd->callback([&] {
    action = [&] {
      const BackupReport r = backup_into(backends, backup_from, backup_to, paged, id);
      return finish(r.stopped, r.error, !r.error && !r.stopped, r.failures.size());
    };
  });

  auto* restore_cmd = app.add_subcommand("restore", "write a snapshot's records back into a tier");
  std::string snapshot, restore_from = "backups", restore_to = "warm";
  bool no_verify = false;
  restore_cmd->add_option("snapshot", snapshot, "snapshot id (see `strata snapshots`)")->required();
  restore_cmd->add_option("--from", restore_from, "backup repository (default backups)");
  restore_cmd->add_option("--to", restore_to, "tier or URL to restore into (default warm)");
  restore_cmd->add_flag("--no-verify", no_verify, "do not read every record back to compare it");
  std::size_t first_page = 0;
  restore_cmd->add_option("--first-page", first_page,
                          "resume at this page (a stopped run prints it)");
  restore_cmd->callback([&] {
    action = [&] {
      return restore_command(backends, snapshot, restore_from, restore_to, !no_verify, first_page);
    };
  });

  auto* snapshots_cmd =
      app.add_subcommand("snapshots", "list the snapshots in the backup repository");
  std::string list_from = "backups";
  snapshots_cmd->add_option("--from", list_from, "backup repository (default backups)");
  snapshots_cmd->callback([&] { action = [&] { return snapshots_command(backends, list_from); }; });

  auto* cleanup_cmd =
      app.add_subcommand("cleanup", "delete snapshots the retention policy no longer keeps");
  CleanupOptions cleanup_options;
  bool backup_first = false;
  std::string cleanup_from = "backups", first_from = "warm";
  std::string audit_path = env("STRATA_AUDIT_LOG").value_or("");
  cleanup_cmd->add_flag("--apply", cleanup_options.apply, "delete (without it: a dry run)");
  cleanup_cmd
      ->add_option("--keep-days", cleanup_options.policy.keep_days,
                   "keep every snapshot younger than this (30)")
      ->check(CLI::NonNegativeNumber);
  cleanup_cmd
      ->add_option("--keep-months", cleanup_options.policy.keep_months,
                   "and the newest of each of this many months (12)")
      ->check(CLI::NonNegativeNumber);
  cleanup_cmd->add_option("--exclude", cleanup_options.policy.exclude,
                          "snapshot id pattern never deleted (repeatable)");
  cleanup_cmd->add_option("--from", cleanup_from, "backup repository (default backups)");
  cleanup_cmd->add_flag("--backup-first", backup_first, "take a snapshot before deleting anything");
  cleanup_cmd->add_option("--backup-from", first_from,
                          "what --backup-first backs up (default warm)");
  cleanup_cmd->add_option(
      "--audit-log", audit_path,
      "append each deletion here (STRATA_AUDIT_LOG; default DIR/cleanup-audit.log)");
  cleanup_cmd->callback([&] {
    action = [&] {
      if (audit_path.empty()) {
        std::filesystem::create_directories(backends.dir);
        audit_path = backends.dir + "/cleanup-audit.log";
      }
      return cleanup_command(backends, cleanup_from, cleanup_options, backup_first, first_from,
                             audit_path);
    };
  });

  auto* stats_cmd = app.add_subcommand("stats", "records and bytes each tier holds");
  std::vector<std::string> stat_tiers;
  std::string stat_prefix;
  stats_cmd->add_option("tiers", stat_tiers,
                        "tiers or URLs (default: warm cold, and hot if configured)");
  stats_cmd->add_option("--prefix", stat_prefix, "only keys starting with this");
  std::string stat_format = "table";
  stats_cmd
      ->add_option("--format", stat_format,
                   "table, or prometheus: the text exposition format (gauges "
                   "strata_tier_records and strata_tier_bytes, label tier)")
      ->check(CLI::IsMember({"table", "prometheus"}));
  stats_cmd->callback([&] {
    action = [&] {
      if (stat_tiers.empty()) {
        if (!backends.hot.empty()) stat_tiers.push_back("hot");
        stat_tiers.insert(stat_tiers.end(), {"warm", "cold"});
      }
      return stats_command(backends, stat_tiers, stat_prefix, stat_format == "prometheus");
    };
  });

  auto* drill_cmd = app.add_subcommand(
      "drill", "the failover drill: HOT lost, rebuilt from WARM key by key and in batches");
  std::vector<std::size_t> drill_keys;
  std::size_t drill_page = 1000, drill_sample = 0;
  drill_cmd->add_option("--keys", drill_keys, "keys per run (repeatable; default 354)");
  drill_cmd->add_option("--page", drill_page, "rehydrate page size (default 1000)")
      ->check(CLI::PositiveNumber);
  drill_cmd->add_option("--sample", drill_sample,
                        "time the one-key path on this many keys only (0: all)");
  drill_cmd->callback([&] {
    action = [&] { return drill_command(backends, drill_keys, drill_page, drill_sample); };
  });

  for (CLI::App* command : app.get_subcommands({}))
    command->footer(
        "Global flags (--dir, --hot, --warm, --cold, --backups; see `strata --help`) may come "
        "before or after the subcommand.");
  if (argc <= 1) {  // no subcommand: what there is to run
    fmt::print("{}", app.help());
    return misconfigured;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // CLI11 may echo an argument (a URL with its password) in its message.
    std::ostringstream out, err;
    const int code = app.exit(e, out, err);
    fmt::print("{}", redacted(out.str()));
    fmt::print(stderr, "{}", redacted(err.str()));
    return code == 0 ? ok : misconfigured;  // --help is not an error
  }
  install_signal_handlers();
  start_interrupt_watchdog();
  try {
    return action();
  } catch (const ConfigError& e) {
    fmt::print(stderr, "strata: misconfigured: {}\n", redacted(e.what()));
    return misconfigured;
  } catch (const Error& e) {
    fmt::print(stderr, "strata: {}\n", redacted(e.what()));
    fmt::print("status: failed\n");
    return failed;
  }
}

}  // namespace
}  // namespace strata::cli

int main(int argc, char** argv) { return strata::cli::run(argc, argv); }
