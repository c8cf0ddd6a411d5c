#pragma once
/// \file
/// Backends named by URL, for the `strata` command and the failover drill:
///
///     memory:                                 in this process only (tests, drills)
///     sqlite:PATH                             SQLite file (the embedded WARM)
///     file:PATH                               filesystem directory (the embedded COLD)
///     redis://[:PASSWORD@]HOST[:PORT][/DB]    Redis (password also STRATA_REDIS_PASSWORD)
///     postgres://USER@HOST:PORT/DB            PostgreSQL, any libpq URI
///     s3://BUCKET[/PREFIX]                    S3; endpoint STRATA_S3_ENDPOINT, keys AWS_*;
///                                             the prefix is a folder: PREFIX/KEY
///
/// Every environment variable read here is listed in docs/operations.md.
/// A URL that cannot be used is a ConfigError naming it, redacted (never its
/// password); a repository's description is its URL, redacted.

#include <strata/backends/filesystem.hpp>
#include <strata/backends/memory.hpp>
#include <strata/backends/postgres.hpp>
#include <strata/backends/redis.hpp>
#include <strata/backends/s3.hpp>
#include <strata/backends/sqlite.hpp>
#include <strata/core/any_repository.hpp>
#include <strata/core/error.hpp>
#include <strata/core/redact.hpp>

#include <fmt/format.h>

#include <charconv>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

namespace strata::cli {

/// The environment, read through one function so tests can see what is used.
inline std::optional<std::string> env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

/// Whether a command may create what a URL names (and migrate its schema).
enum class Access { read_write, read_only };

namespace detail {

inline int parse_int(std::string_view text, std::string_view what, std::string_view url) {
  int value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value < 0)
    throw ConfigError(
        fmt::format("backend URL '{}': {} '{}' is not a number", redacted(url), what, text));
  return value;
}

inline AnyRepository open_redis(std::string_view url) {
  std::string_view rest = url.substr(std::string_view("redis://").size());
  RedisOptions options;
  std::string shown = "redis://";
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view auth = rest.substr(0, at);
    if (const auto colon = auth.find(':'); colon != std::string_view::npos)
      options.password = std::string(auth.substr(colon + 1));
    rest.remove_prefix(at + 1);
  }
  if (options.password.empty()) options.password = env("STRATA_REDIS_PASSWORD").value_or("");
  if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
    options.db = parse_int(rest.substr(slash + 1), "database", url);
    rest = rest.substr(0, slash);
  }
  if (const auto colon = rest.rfind(':'); colon != std::string_view::npos) {
    options.port = parse_int(rest.substr(colon + 1), "port", url);
    rest = rest.substr(0, colon);
  }
  if (!rest.empty()) options.host = std::string(rest);
  shown.append(fmt::format("{}:{}/{}", options.host, options.port, options.db));
  return AnyRepository(RedisRepository(options), shown);
}

inline AnyRepository open_postgres(std::string_view url, Access access) {
  PostgresOptions options;
  options.conninfo = std::string(url);
  options.create_if_missing = access == Access::read_write;
  if (auto table = env("STRATA_POSTGRES_TABLE")) options.table = *table;
  return AnyRepository(PostgresRepository(options), redacted(url));
}

inline AnyRepository open_s3(std::string_view url) {
  std::string_view rest = url.substr(std::string_view("s3://").size());
  S3Options options;
  const auto slash = rest.find('/');
  options.bucket = std::string(rest.substr(0, slash));
  // s3://bucket/prefix is a folder, as in the aws command: its keys are
  // prefix/KEY, never prefixKEY.
  if (slash != std::string_view::npos) options.key_prefix = std::string(rest.substr(slash + 1));
  if (!options.key_prefix.empty() && !options.key_prefix.ends_with('/'))
    options.key_prefix.push_back('/');
  if (auto endpoint = env("STRATA_S3_ENDPOINT")) options.endpoint = *endpoint;
  if (env("STRATA_S3_PATH_STYLE").value_or("0") == "1")
    options.addressing = S3Addressing::path_style;
  // A cleanup deletes many objects: counting them would cost a HEAD each.
  options.count_erased = false;
  return AnyRepository(S3Repository(options),
                       fmt::format("s3://{}/{} at {}", options.bucket, options.key_prefix,
                                   redacted(options.endpoint)));
}

}  // namespace detail

/// Opens the repository a URL names. Throws ConfigError when it cannot.
/// Access::read_only creates nothing: a SQLite file, a directory or a
/// PostgreSQL table that is not there is a ConfigError, not a new empty one.
inline AnyRepository open_repository(std::string_view url, Access access = Access::read_write) {
  const bool create = access == Access::read_write;
  const auto path_after = [&](std::string_view scheme) {
    const std::string_view path = url.substr(scheme.size());
    if (path.empty()) throw ConfigError(fmt::format("backend URL '{}' has no path", redacted(url)));
    return std::filesystem::path(std::string(path));
  };
  if (url == "memory:") return AnyRepository(MemoryRepository(), "memory:");
  if (url.starts_with("sqlite:"))
    return AnyRepository(
        SqliteRepository(SqliteOptions{.path = path_after("sqlite:"), .create_if_missing = create}),
        redacted(url));
  if (url.starts_with("file:"))
    return AnyRepository(FilesystemRepository(FilesystemOptions{.root = path_after("file:"),
                                                                .create_if_missing = create}),
                         redacted(url));
  if (url.starts_with("redis://")) return detail::open_redis(url);
  if (url.starts_with("postgres://") || url.starts_with("postgresql://"))
    return detail::open_postgres(url, access);
  if (url.starts_with("s3://")) return detail::open_s3(url);
  throw ConfigError(fmt::format(
      "backend URL '{}': unknown scheme (expected memory:, sqlite:PATH, file:PATH, redis://, "
      "postgres://, s3://)",
      redacted(url)));
}

}  // namespace strata::cli
