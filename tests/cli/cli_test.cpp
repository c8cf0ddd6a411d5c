// The `strata` command, run as a user runs it: its exit codes and its output
// for success, misconfiguration, partial failure, a backend failure, and an
// interrupt followed by a resume. The binary's path comes from CMake.
#include <strata/backends/filesystem.hpp>
#include <strata/backends/sqlite.hpp>
#include <strata/strata.hpp>

#include "support/loopback.hpp"
#include "support/temp_dir.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace strata::testing {
namespace {

struct CliRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string read_all(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

/// Runs `program` with `args` (argv[0] included); with `interrupt_after`, sends SIGINT then.
CliRun spawn(const char* program, std::vector<std::string> args,
             std::optional<std::chrono::milliseconds> interrupt_after = std::nullopt) {
  const auto dir = fresh_dir();
  const auto out_file = dir / "stdout", err_file = dir / "stderr";
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_file.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_file.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = 0;
  CliRun run;
  if (posix_spawn(&pid, program, &actions, nullptr, argv.data(), environ) != 0) {
    ADD_FAILURE() << "cannot run " << program;
    return run;
  }
  posix_spawn_file_actions_destroy(&actions);
  if (interrupt_after) {
    std::this_thread::sleep_for(*interrupt_after);
    ::kill(pid, SIGINT);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  run.out = read_all(out_file);
  run.err = read_all(err_file);
  return run;
}

/// Runs the command with `args`; with `interrupt_after`, sends SIGINT then.
CliRun strata_cli(std::vector<std::string> args,
                  std::optional<std::chrono::milliseconds> interrupt_after = std::nullopt) {
  args.insert(args.begin(), STRATA_CLI_PATH);
  return spawn(STRATA_CLI_PATH, std::move(args), interrupt_after);
}

/// Runs a line the command printed ("strata ..."), verbatim, through the shell.
CliRun printed_line(const std::string& line) {
  EXPECT_TRUE(line.starts_with("strata ")) << line;
  const std::string command = std::string(STRATA_CLI_PATH) + line.substr(6);
  return spawn("/bin/sh", {"sh", "-c", command});
}

/// The value of the first "name: value" line.
std::string field(const std::string& out, const std::string& name) {
  const std::string tag = name + ": ";
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);)
    if (line.starts_with(tag)) return line.substr(tag.size());
  return "<no " + name + " line>";
}

/// "2026-11-30T20:41:07.512Z": ISO 8601, UTC, milliseconds.
constexpr std::size_t iso_length = 24;
bool is_iso8601_utc(std::string_view text) {
  constexpr std::string_view shape = "dddd-dd-ddTdd:dd:dd.dddZ";
  if (text.size() != shape.size()) return false;
  for (std::size_t i = 0; i < shape.size(); ++i)
    if (shape[i] == 'd' ? text[i] < '0' || text[i] > '9' : text[i] != shape[i]) return false;
  return true;
}

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fresh_dir();
    SqliteRepository warm(SqliteOptions{.path = dir_ / "warm.sqlite3", .sync_every_commit = false});
    const TimePoint now = Clock{}.now();
    std::vector<std::string> keys, envelopes;
    for (int i = 0; i < 3000; ++i) {
      keys.push_back(fmt::format("pos:{:05}", i));
      envelopes.push_back(
          encode_envelope(keys.back(), {now, now, std::nullopt, 0}, fmt::format("v{}", i)));
    }
    std::vector<Record> records;
    for (std::size_t i = 0; i < keys.size(); ++i) records.push_back({keys[i], envelopes[i], {}});
    ASSERT_TRUE(warm.store_many(records).all_stored());
  }
  std::vector<std::string> with_dir(std::vector<std::string> args) const {
    args.insert(args.begin(), {"--dir", dir_.string(), "--hot", "file:" + (dir_ / "hot").string()});
    return args;
  }
  std::size_t files_in(const std::string& tier) const {
    FilesystemRepository repo(FilesystemOptions{.root = dir_ / tier, .fsync = false});
    std::size_t n = 0;
    std::string cursor;
    for (;;) {
      const ScanPage page = repo.scan("", cursor, 1000);
      n += page.records.size();
      if (page.done || page.next_cursor.empty()) return n;
      cursor = page.next_cursor;
    }
  }
  std::filesystem::path dir_;
};

TEST_F(Cli, MisconfigurationIsExitTwoWithTheReason) {
  const CliRun no_hot = strata_cli({"--dir", dir_.string(), "rehydrate"});
  EXPECT_EQ(no_hot.exit_code, 2);
  const CliRun bad_url = strata_cli({"--warm", "bogus://x", "stats"});
  EXPECT_EQ(bad_url.exit_code, 2);
  const CliRun bad_flag = strata_cli({"cleanup", "--keep-days", "many"});
  EXPECT_EQ(bad_flag.exit_code, 2);
  EXPECT_EQ(strata_cli({"--help"}).exit_code, 0);
}

TEST_F(Cli, RehydrateBackupSnapshotsRestoreAndCleanupEndToEnd) {
  const CliRun copied = strata_cli(with_dir({"rehydrate", "--page", "500"}));
  EXPECT_EQ(copied.exit_code, 0) << copied.out;
  EXPECT_EQ(field(copied.out, "copied"), "3000");
  EXPECT_EQ(field(copied.out, "status"), "complete");
  EXPECT_EQ(files_in("hot"), 3000u);

  const CliRun made = strata_cli(with_dir({"backup", "--id", "snap-1"}));
  EXPECT_EQ(made.exit_code, 0) << made.out;
  EXPECT_EQ(field(made.out, "snapshot"), "snap-1");
  EXPECT_EQ(field(made.out, "records"), "3000");
  const CliRun listed = strata_cli(with_dir({"snapshots"}));
  EXPECT_EQ(listed.exit_code, 0);
  EXPECT_NE(listed.out.find("snap-1 "), std::string::npos) << listed.out;

  const CliRun restored =
      strata_cli(with_dir({"restore", "snap-1", "--to", "file:" + (dir_ / "restored").string()}));
  EXPECT_EQ(restored.exit_code, 0) << restored.out;
  EXPECT_EQ(field(restored.out, "restored"), "3000 of 3000");
  EXPECT_EQ(field(restored.out, "verified"), "yes");

  // The policy keeps a fresh snapshot; with nothing kept, the dry run lists it
  // and deletes nothing; --apply deletes it and writes the audit log.
  const CliRun keep = strata_cli(with_dir({"cleanup"}));
  EXPECT_EQ(keep.exit_code, 0);
  EXPECT_NE(keep.out.find("keep   snap-1 (recent)"), std::string::npos) << keep.out;
  const CliRun dry = strata_cli(with_dir({"cleanup", "--keep-days", "0", "--keep-months", "0"}));
  EXPECT_EQ(dry.exit_code, 0);
  EXPECT_NE(dry.out.find("would delete snap-1"), std::string::npos) << dry.out;
  EXPECT_EQ(field(dry.out, "snapshots_deleted"), "0");
  EXPECT_EQ(strata_cli(with_dir({"snapshots"})).out.find("snap-1 ") != std::string::npos, true);
  const CliRun applied =
      strata_cli(with_dir({"cleanup", "--keep-days", "0", "--keep-months", "0", "--apply"}));
  EXPECT_EQ(applied.exit_code, 0) << applied.out;
  EXPECT_EQ(field(applied.out, "snapshots_deleted"), "1");
  EXPECT_EQ(strata_cli(with_dir({"snapshots"})).out.find("snap-1 "), std::string::npos);
  std::ifstream audit(dir_ / "cleanup-audit.log");
  std::string line;
  ASSERT_TRUE(std::getline(audit, line));
  // One time format, ISO 8601 UTC: when it was deleted, when it was made.
  const std::string_view deleted = " deleted snap-1 created ";
  ASSERT_GT(line.size(), 2 * iso_length + deleted.size()) << line;
  EXPECT_TRUE(is_iso8601_utc(line.substr(0, iso_length))) << line;
  EXPECT_EQ(line.substr(iso_length, deleted.size()), deleted) << line;
  EXPECT_TRUE(is_iso8601_utc(line.substr(iso_length + deleted.size(), iso_length))) << line;
}

TEST_F(Cli, StatsSpeaksPrometheusAndLongOperationsKeepAMetricsFile) {
  const std::filesystem::path metrics = dir_ / "rehydrate.prom";
  const CliRun copied =
      strata_cli(with_dir({"rehydrate", "--page", "500", "--metrics-file", metrics.string()}));
  ASSERT_EQ(copied.exit_code, 0) << copied.out;
  std::ifstream in(metrics);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("# TYPE strata_operation_records gauge"), std::string::npos) << text;
  EXPECT_NE(text.find("strata_operation_records{operation=\"rehydrate\"} 3000\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("strata_operation_finished{operation=\"rehydrate\"} 1\n"), std::string::npos)
      << text;
  for (const auto& entry : std::filesystem::directory_iterator(dir_))  // no partial file left
    EXPECT_EQ(entry.path().filename().string().find(".partial-"), std::string::npos) << entry;

  const CliRun stats = strata_cli(with_dir({"stats", "warm", "hot", "--format", "prometheus"}));
  ASSERT_EQ(stats.exit_code, 0) << stats.out;
  EXPECT_NE(stats.out.find("# TYPE strata_tier_records gauge"), std::string::npos) << stats.out;
  EXPECT_NE(stats.out.find("strata_tier_records{tier=\"warm\"} 3000\n"), std::string::npos)
      << stats.out;
  EXPECT_NE(stats.out.find("strata_tier_records{tier=\"hot\"} 3000\n"), std::string::npos)
      << stats.out;
  EXPECT_NE(stats.out.find("strata_tier_bytes{tier=\"warm\"} "), std::string::npos) << stats.out;
  EXPECT_EQ(stats.out.find("backend"), std::string::npos) << "no table in the exposition";
}

TEST_F(Cli, ADamagedRecordIsAPartialFailureExitThree) {
  {
    SqliteRepository warm(SqliteOptions{.path = dir_ / "warm.sqlite3", .sync_every_commit = false});
    std::string damaged =
        encode_envelope("pos:bad", {Clock{}.now(), Clock{}.now(), std::nullopt, 0}, "x");
    damaged.back() ^= 1;
    const Record record{"pos:bad", damaged, std::nullopt};
    ASSERT_TRUE(warm.store_many(std::span(&record, 1)).all_stored());
  }
  const CliRun run = strata_cli(with_dir({"rehydrate"}));
  EXPECT_EQ(run.exit_code, 3) << run.out;
  EXPECT_EQ(field(run.out, "copied"), "3000");
  EXPECT_EQ(field(run.out, "failed"), "1");
  EXPECT_NE(run.out.find("  pos:bad: checksum mismatch"), std::string::npos) << run.out;
  EXPECT_EQ(field(run.out, "status"), "partial");
}

TEST_F(Cli, AnUnreachableBackendIsExitOne) {
  const CliRun run =
      strata_cli({"--dir", dir_.string(), "--hot", "redis://127.0.0.1:1", "rehydrate"});
  EXPECT_EQ(run.exit_code, 1) << run.out;
  EXPECT_EQ(field(run.out, "status"), "failed");
}

TEST_F(Cli, SigintStopsAfterThePageInFlightAndTheCursorResumes) {
  // 3000 keys at 2000 keys/s in pages of 100: about 1.5 s; interrupted early.
  const CliRun stopped = strata_cli(with_dir({"rehydrate", "--page", "100", "--rate", "2000"}),
                                    std::chrono::milliseconds(400));
  EXPECT_EQ(stopped.exit_code, 130) << stopped.out;
  EXPECT_EQ(field(stopped.out, "status"), "interrupted");
  const std::string cursor = field(stopped.out, "cursor");
  const std::size_t first = std::stoul(field(stopped.out, "copied"));
  EXPECT_GT(first, 0u);
  EXPECT_LT(first, 3000u);
  EXPECT_EQ(first % 100, 0u);  // whole pages only
  EXPECT_EQ(files_in("hot"), first);
  EXPECT_NE(field(stopped.out, "resume").find(" rehydrate --from 'warm' --to 'hot'"),
            std::string::npos)
      << stopped.out;

  const CliRun resumed = strata_cli(with_dir({"rehydrate", "--resume", cursor}));
  EXPECT_EQ(resumed.exit_code, 0) << resumed.out;
  EXPECT_EQ(first + std::stoul(field(resumed.out, "copied")), 3000u);  // none twice, none lost
  EXPECT_EQ(files_in("hot"), 3000u);
}

TEST_F(Cli, TheResumeLineCarriesEveryFlagThatSelectsDataAndBackends) {
  // The review's case: a run limited to a prefix, stopped, then resumed by the
  // printed line, must copy exactly what an uninterrupted run copies.
  const auto other = fresh_dir();
  const CliRun whole =
      strata_cli({"--dir", dir_.string(), "--hot", "file:" + (other / "hot").string(), "rehydrate",
                  "--prefix", "pos:01", "--page", "50"});
  ASSERT_EQ(whole.exit_code, 0) << whole.out;
  EXPECT_EQ(field(whole.out, "copied"), "1000");

  const CliRun stopped =
      strata_cli(with_dir({"rehydrate", "--prefix", "pos:01", "--page", "50", "--rate", "1500"}),
                 std::chrono::milliseconds(300));
  ASSERT_EQ(stopped.exit_code, 130) << stopped.out;
  const std::string line = field(stopped.out, "resume");
  EXPECT_NE(line.find("--prefix 'pos:01'"), std::string::npos) << line;
  EXPECT_NE(line.find("--hot 'file:"), std::string::npos) << line;
  EXPECT_NE(line.find("--dir '"), std::string::npos) << line;
  const CliRun resumed = printed_line(line);
  EXPECT_EQ(resumed.exit_code, 0) << resumed.out << resumed.err;
  EXPECT_EQ(std::stoul(field(stopped.out, "copied")) + std::stoul(field(resumed.out, "copied")),
            1000u);
  EXPECT_EQ(files_in("hot"), 1000u);  // the prefix only, as the uninterrupted run
}

/// A TCP port on loopback that takes connections (the kernel completes the
/// handshake into the backlog) and never answers: a hung server.
class SilentServer {
 public:
  SilentServer() : fd_(listen_on_loopback(0, port_)) {}
  ~SilentServer() { ::close(fd_); }
  SilentServer(const SilentServer&) = delete;
  SilentServer& operator=(const SilentServer&) = delete;
  int port() const { return port_; }

 private:
  int port_ = 0;  // before fd_: listen_on_loopback sets it
  int fd_;
};

/// The PostgreSQL the scripts started, as a URL with its password.
std::string test_postgres_url(const std::string& password) {
  const char* port = std::getenv("STRATA_PG_PORT");
  return fmt::format("postgres://postgres:{}@127.0.0.1:{}/strata", password, port ? port : "16432");
}
std::string test_postgres_password() {
  const char* password = std::getenv("STRATA_PG_PASSWORD");
  return password ? password : "strata-test";
}

TEST_F(Cli, RefusedCredentialsAndMalformedPostgresUrlsAreMisconfiguredExitTwo) {
  const char* redis_port = std::getenv("STRATA_REDIS_PORT");
  const std::string redis =
      fmt::format("redis://:wrong@127.0.0.1:{}", redis_port ? redis_port : "16379");
  for (const std::string& url :
       {redis, test_postgres_url("wrong-password"),
        fmt::format("postgres://postgres@127.0.0.1:99999/strata"),
        fmt::format("postgres://postgres@127.0.0.1:5432/strata?sslmode=bogus")}) {
    const CliRun run = strata_cli(with_dir({"stats", url}));
    EXPECT_EQ(run.exit_code, 2) << url << "\n" << run.out << run.err;
  }
  const CliRun port = strata_cli(with_dir({"stats", "postgres://u@127.0.0.1:99999/db"}));
  EXPECT_NE((port.out + port.err).find("port '99999' is not a number from 1 to 65535"),
            std::string::npos)
      << port.out << port.err;
}

TEST_F(Cli, CtrlCWhileABackendDoesNotAnswerExitsPromptly) {
  // A connect to a server that never answers (PostgreSQL's 5 s connect
  // timeout) and a hung S3 request (its 30 s request timeout): SIGINT after
  // 300 ms must end the command with 130 within about a second.
  SilentServer silent;
  ::setenv("STRATA_S3_ENDPOINT", fmt::format("http://127.0.0.1:{}", silent.port()).c_str(), 1);
  ::setenv("STRATA_S3_PATH_STYLE", "1", 1);
  ::setenv("AWS_ACCESS_KEY_ID", "S3RVER", 1);
  ::setenv("AWS_SECRET_ACCESS_KEY", "S3RVER", 1);
  for (const std::string& url : {fmt::format("postgres://u@127.0.0.1:{}/db", silent.port()),
                                 std::string("s3://strata/silent")}) {
    const auto started = std::chrono::steady_clock::now();
    const CliRun run = strata_cli(with_dir({"stats", url}), std::chrono::milliseconds(300));
    const auto took = std::chrono::steady_clock::now() - started;
    EXPECT_EQ(run.exit_code, 130) << url << "\n" << run.out << run.err;
    EXPECT_LT(took, std::chrono::milliseconds(2500)) << url;
    EXPECT_EQ(field(run.out, "status"), "interrupted") << run.out;
  }
  for (const char* name :
       {"STRATA_S3_ENDPOINT", "STRATA_S3_PATH_STYLE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"})
    ::unsetenv(name);
}

TEST_F(Cli, RestoreRefusesAMissingSnapshotAndAFirstPagePastTheLast) {
  ASSERT_EQ(strata_cli(with_dir({"backup", "--id", "snap-1"})).exit_code, 0);  // 3 pages of 1000
  const CliRun missing = strata_cli(with_dir({"restore", "snap-9"}));
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("no such snapshot 'snap-9'"), std::string::npos) << missing.err;
  const CliRun past = strata_cli(with_dir({"restore", "snap-1", "--first-page", "3"}));
  EXPECT_EQ(past.exit_code, 2) << past.out;
  EXPECT_NE(past.err.find("past the last page"), std::string::npos) << past.err;
  const CliRun last = strata_cli(with_dir(
      {"restore", "snap-1", "--first-page", "2", "--to", "file:" + (dir_ / "restored").string()}));
  EXPECT_EQ(last.exit_code, 0) << last.out;
  EXPECT_EQ(field(last.out, "restored"), "1000 of 3000");
}

TEST_F(Cli, TheCommandSurface) {
  const CliRun version = strata_cli({"--version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_EQ(version.out, fmt::format("strata {}.{}.{}\n", STRATA_VERSION_MAJOR,
                                     STRATA_VERSION_MINOR, STRATA_VERSION_PATCH));
  const CliRun bare = strata_cli({});
  EXPECT_EQ(bare.exit_code, 2);
  EXPECT_NE(bare.out.find("Usage: strata"), std::string::npos) << bare.out;
  EXPECT_NE(bare.out.find("rehydrate"), std::string::npos) << bare.out;

  // Global flags after the subcommand select the same backends.
  const CliRun after = strata_cli({"stats", "--dir", dir_.string(), "warm"});
  EXPECT_EQ(after.exit_code, 0) << after.out << after.err;
  EXPECT_NE(after.out.find(" 3000 "), std::string::npos) << after.out;

  // Range errors in plain words, and a negative rate refused.
  const CliRun page = strata_cli(with_dir({"rehydrate", "--page", "0"}));
  EXPECT_EQ(page.exit_code, 2);
  EXPECT_NE(page.err.find("--page: must be at least 1"), std::string::npos) << page.err;
  EXPECT_EQ(page.err.find("000000"), std::string::npos) << page.err;
  const CliRun rate = strata_cli(with_dir({"rehydrate", "--rate", "-5"}));
  EXPECT_EQ(rate.exit_code, 2);
  EXPECT_NE(rate.err.find("--rate: must be at least 0"), std::string::npos) << rate.err;

  // Read-only commands create nothing: no directory, no SQLite file, no table.
  const auto nowhere = dir_ / "not-there";
  const CliRun stats = strata_cli({"--dir", nowhere.string(), "stats"});
  EXPECT_EQ(stats.exit_code, 2) << stats.out;
  EXPECT_NE(stats.out.find("does not exist"), std::string::npos) << stats.out;
  EXPECT_FALSE(std::filesystem::exists(nowhere));
  EXPECT_EQ(strata_cli({"--dir", nowhere.string(), "snapshots"}).exit_code, 2);
  EXPECT_FALSE(std::filesystem::exists(nowhere));
  const std::string table = fmt::format("cli_typo_{}", ::getpid());
  ::setenv("STRATA_POSTGRES_TABLE", table.c_str(), 1);
  const CliRun typo = strata_cli(with_dir({"stats", test_postgres_url(test_postgres_password())}));
  EXPECT_EQ(typo.exit_code, 2) << typo.out;
  EXPECT_NE(typo.out.find("no strata table"), std::string::npos) << typo.out;
  EXPECT_EQ(strata_cli(with_dir({"stats", test_postgres_url(test_postgres_password())})).exit_code,
            2);  // still not there: the first stats did not create it
  ::unsetenv("STRATA_POSTGRES_TABLE");

  // The final progress line once, even when the last page drew it already.
  const CliRun one_page =
      strata_cli({"--dir", dir_.string(), "--hot", "file:" + (dir_ / "h1").string(), "rehydrate",
                  "--page", "5000"});
  EXPECT_EQ(one_page.exit_code, 0);
  std::size_t final_lines = 0;
  for (auto at = one_page.err.find("rehydrate: 3000 done"); at != std::string::npos;
       at = one_page.err.find("rehydrate: 3000 done", at + 1))
    ++final_lines;
  EXPECT_EQ(final_lines, 1u) << one_page.err;
}

TEST_F(Cli, RedisClusterAndSentinelUrls) {
  const char* cluster_env = std::getenv("STRATA_CLUSTER_PORT");
  const char* sentinel_env = std::getenv("STRATA_SENTINEL_PORT");
  const int cluster = cluster_env ? std::atoi(cluster_env) : 16501;
  const int sentinel = sentinel_env ? std::atoi(sentinel_env) : 16521;
  const std::string cluster_url =
      fmt::format("redis-cluster://127.0.0.1:{},127.0.0.1:{}", cluster + 1, cluster);
  const std::string sentinel_url =
      fmt::format("redis-sentinel://127.0.0.1:{},127.0.0.1:{},127.0.0.1:{}/strata-master", sentinel,
                  sentinel + 1, sentinel + 2);
  // `stats` counts every record of the tier: the other tests' keys (some of
  // them raw bytes, or hashes) must not be there. No other test runs beside
  // this one while it uses these servers: theirs are RUN_SERIAL.
  const char* master_env = std::getenv("STRATA_SENTINEL_MASTER_PORT");
  const int master = master_env ? std::atoi(master_env) : 16511;
  for (int port : {cluster, cluster + 1, cluster + 2, cluster + 3, cluster + 4, cluster + 5, master,
                   master + 1})
    (void)std::system(
        fmt::format("redis-cli -h 127.0.0.1 -p {} FLUSHALL >/dev/null 2>&1", port).c_str());
  for (const std::string& url : {cluster_url, sentinel_url}) {
    const CliRun copied = strata_cli(with_dir({"rehydrate", "--to", url, "--page", "700"}));
    EXPECT_EQ(copied.exit_code, 0) << url << "\n" << copied.out << copied.err;
    EXPECT_EQ(field(copied.out, "copied"), "3000") << url;
    EXPECT_EQ(field(copied.out, "status"), "complete") << url;
    const CliRun stats = strata_cli(with_dir({"stats", url}));
    EXPECT_EQ(stats.exit_code, 0) << url << "\n" << stats.out << stats.err;
  }
  // Malformed: no HOST:PORT, no master name, a port that is not a number.
  for (const std::string& url :
       {std::string("redis-cluster://"), fmt::format("redis-sentinel://127.0.0.1:{}", sentinel),
        std::string("redis-cluster://127.0.0.1:x")}) {
    const CliRun run = strata_cli(with_dir({"stats", url}));
    EXPECT_EQ(run.exit_code, 2) << url << "\n" << run.out << run.err;
  }
}

TEST_F(Cli, AnS3PrefixIsAFolder) {
  // s3://bucket/prefix without a trailing '/': keys are prefix/KEY, as with
  // the slash, never prefixKEY; the effective prefix is printed.
  const char* s3_port = std::getenv("STRATA_S3_PORT");
  ::setenv("STRATA_S3_ENDPOINT",
           fmt::format("http://127.0.0.1:{}", s3_port ? s3_port : "16400").c_str(), 1);
  ::setenv("STRATA_S3_PATH_STYLE", "1", 1);
  ::setenv("AWS_ACCESS_KEY_ID", "S3RVER", 1);
  ::setenv("AWS_SECRET_ACCESS_KEY", "S3RVER", 1);
  const std::string folder = fmt::format("clifolder{}", ::getpid());
  const CliRun copied =
      strata_cli(with_dir({"rehydrate", "--to", "s3://strata/" + folder, "--prefix", "pos:0000"}));
  EXPECT_EQ(copied.exit_code, 0) << copied.out << copied.err;
  EXPECT_EQ(field(copied.out, "copied"), "10");
  EXPECT_NE(copied.out.find("s3://strata/" + folder + "/ at "), std::string::npos) << copied.out;
  for (const std::string& url : {"s3://strata/" + folder, "s3://strata/" + folder + "/"}) {
    const CliRun stats = strata_cli(with_dir({"stats", url}));
    EXPECT_NE(stats.out.find(" 10 "), std::string::npos) << stats.out;
  }
  const CliRun whole_bucket =
      strata_cli(with_dir({"stats", "s3://strata", "--prefix", folder + "/pos:"}));
  EXPECT_NE(whole_bucket.out.find(" 10 "), std::string::npos) << whole_bucket.out;
  for (const char* name :
       {"STRATA_S3_ENDPOINT", "STRATA_S3_PATH_STYLE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"})
    ::unsetenv(name);
}

/// Whether `text` holds `secret` other than as the start of a longer word
/// (the test server's password "strata-test" also begins temp directory names).
bool leaks(const std::string& text, const std::string& secret) {
  for (auto at = text.find(secret); at != std::string::npos; at = text.find(secret, at + 1)) {
    const std::size_t end = at + secret.size();
    if (end == text.size() || text[end] != '-') return true;
  }
  return false;
}

TEST_F(Cli, NoSecretReachesOutputLogsOrSnapshots) {
  const std::string secret = "Sup3rS3cret";
  const char* pg_port = std::getenv("STRATA_PG_PORT");
  const char* pg_env_password = std::getenv("STRATA_PG_PASSWORD");
  const std::string pg_password = pg_env_password ? pg_env_password : "strata-test";
  const std::string pg_at = fmt::format("127.0.0.1:{}/strata", pg_port ? pg_port : "16432");
  const std::string pg_userinfo = "postgres://postgres:" + pg_password + "@" + pg_at;
  const std::string pg_query = "postgres://postgres@" + pg_at + "?password=" + pg_password;
  ::setenv("STRATA_POSTGRES_TABLE", fmt::format("cli_secrets_{}", ::getpid()).c_str(), 1);

  std::vector<CliRun> runs;
  const auto run = [&](std::vector<std::string> args) -> const CliRun& {
    runs.push_back(strata_cli(with_dir(std::move(args))));
    return runs.back();
  };
  // Malformed or unusable URLs, every one carrying the secret.
  for (const std::string& url :
       {"redis://:" + secret + "@127.0.0.1:1/x", "redis://user:" + secret + "@127.0.0.1:1/0",
        "bogus://u:" + secret + "@h", "host=h password=" + secret,
        "redis-cluster://:" + secret + "@127.0.0.1:1,127.0.0.1:2",
        "redis-sentinel://:" + secret + "@127.0.0.1:1/strata-master",
        "redis-cluster://:" + secret + "@nohost",
        "postgres://u:" + secret + "@127.0.0.1:1/db?password=" + secret})
    EXPECT_NE(run({"--warm", url, "stats"}).exit_code, 0) << url;
  run({"rehydrate", "--to", "redis://:" + secret + "@127.0.0.1:1/0"});  // fails: prints resume
  run({"restore", "nope", "--to", "redis://:" + secret + "@127.0.0.1:1/0"});

  // A real server that checks the password: every subcommand through it.
  EXPECT_EQ(run({"rehydrate", "--to", pg_userinfo}).exit_code, 0)
      << runs.back().out << runs.back().err;
  EXPECT_EQ(run({"backup", "--from", pg_query, "--id", "s1"}).exit_code, 0) << runs.back().out;
  EXPECT_EQ(run({"snapshots"}).exit_code, 0);
  EXPECT_EQ(run({"restore", "s1", "--to", pg_userinfo}).exit_code, 0) << runs.back().out;
  EXPECT_EQ(run({"backup", "--from", "warm", "--to", pg_userinfo, "--id", "s2"}).exit_code, 0);
  EXPECT_EQ(run({"snapshots", "--from", pg_query}).exit_code, 0);
  EXPECT_EQ(run({"cleanup", "--from", pg_userinfo, "--apply", "--keep-days", "0", "--keep-months",
                 "0", "--backup-first", "--backup-from", pg_query})
                .exit_code,
            0)
      << runs.back().out;
  EXPECT_EQ(run({"stats", "warm", pg_userinfo}).exit_code, 0);
  // The exposition labels a tier by its URL, redacted like every other output.
  EXPECT_EQ(run({"stats", pg_userinfo, "--format", "prometheus"}).exit_code, 0);
  EXPECT_NE(runs.back().out.find("strata_tier_records{tier="), std::string::npos)
      << runs.back().out;
  // Through the environment, as STRATA_* variables.
  ::setenv("STRATA_WARM", pg_query.c_str(), 1);
  ::setenv("STRATA_BACKUPS", pg_userinfo.c_str(), 1);
  EXPECT_EQ(run({"stats", "warm", "backups"}).exit_code, 0) << runs.back().out;
  EXPECT_EQ(run({"backup", "--id", "s3"}).exit_code, 0) << runs.back().out;
  run({"rehydrate", "--to", "redis://:" + secret + "@127.0.0.1:1/0"});
  EXPECT_EQ(run({"drill", "--keys", "20"}).exit_code, 0) << runs.back().out;
  ::unsetenv("STRATA_WARM");
  ::unsetenv("STRATA_BACKUPS");
  ::unsetenv("STRATA_POSTGRES_TABLE");

  for (const CliRun& r : runs)
    for (const std::string* text : {&r.out, &r.err})
      for (const std::string& s : {secret, pg_password}) EXPECT_FALSE(leaks(*text, s)) << *text;
  // The audit log and every byte of every snapshot left on disk.
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir_)) {
    if (!entry.is_regular_file()) continue;
    ++files;
    const std::string bytes = read_all(entry.path());
    for (const std::string& s : {secret, pg_password})
      EXPECT_FALSE(leaks(bytes, s)) << entry.path();
  }
  EXPECT_GT(files, 3u);
  EXPECT_TRUE(std::filesystem::exists(dir_ / "cleanup-audit.log"));
}

}  // namespace
}  // namespace strata::testing
