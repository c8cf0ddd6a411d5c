#pragma once
/// \file
/// Backends named by URL, for the `strata` command and the failover drill:
///
///     memory:                                 in this process only (tests, drills)
///     sqlite:PATH                             SQLite file (the embedded WARM)
///     file:PATH                               filesystem directory (the embedded COLD)
///     redis://[:PASSWORD@]HOST[:PORT][/DB]    Redis (password also STRATA_REDIS_PASSWORD)
///     redis-cluster://[:PASSWORD@]HOST:PORT[,HOST:PORT...]
///                                             Redis Cluster; any nodes as seeds
///     redis-sentinel://[:PASSWORD@]HOST:PORT[,HOST:PORT...]/MASTER[/DB]
///                                             Redis behind Sentinel: the sentinels, the
///                                             master's name (the password is the master's)
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
#include <strata/backends/redis_cluster.hpp>
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
#include <type_traits>
#include <variant>
#include <vector>

namespace strata::cli {

/// The environment, read through one function so tests can see what is used.
inline std::optional<std::string> env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

/// Whether a command may create what a URL names (and migrate its schema).
enum class Access { read_write, read_only };

/// The in-process repository has no options; memory: names it.
struct MemoryOptions {};

/// A backend URL, parsed: the options of the repository it names, and the
/// URL as it may be shown (redacted).
struct BackendSpec {
  /// The options, by the repository they are for (RedisOptions also for Sentinel).
  std::variant<MemoryOptions, SqliteOptions, FilesystemOptions, RedisOptions, RedisClusterOptions,
               PostgresOptions, S3Options>
      options;
  std::string shown;  ///< the URL without secrets: the repository's description
};

namespace detail {

inline int parse_int(std::string_view text, std::string_view what, std::string_view url) {
  int value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value < 0)
    throw ConfigError(
        fmt::format("backend URL '{}': {} '{}' is not a number", redacted(url), what, text));
  return value;
}

/// Takes "[USER][:PASSWORD]@" off the front of `rest` (after the scheme);
/// the password, else STRATA_REDIS_PASSWORD, else empty.
inline std::string take_redis_password(std::string_view& rest) {
  std::string password;
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view auth = rest.substr(0, at);
    if (const auto colon = auth.find(':'); colon != std::string_view::npos)
      password = std::string(auth.substr(colon + 1));
    rest.remove_prefix(at + 1);
  }
  if (password.empty()) password = env("STRATA_REDIS_PASSWORD").value_or("");
  return password;
}

/// "HOST:PORT,HOST:PORT...": at least one, each with its port.
inline std::vector<RedisEndpoint> parse_endpoints(std::string_view list, std::string_view url) {
  std::vector<RedisEndpoint> out;
  while (!list.empty()) {
    const std::string_view one = list.substr(0, list.find(','));
    list.remove_prefix(std::min(list.size(), one.size() + 1));
    const auto colon = one.rfind(':');
    if (colon == std::string_view::npos || colon == 0)
      throw ConfigError(fmt::format("backend URL '{}': '{}' is not HOST:PORT", redacted(url), one));
    out.push_back(
        {std::string(one.substr(0, colon)), parse_int(one.substr(colon + 1), "port", url)});
  }
  if (out.empty())
    throw ConfigError(fmt::format("backend URL '{}' names no HOST:PORT", redacted(url)));
  return out;
}

inline std::string endpoints_text(const std::vector<RedisEndpoint>& endpoints) {
  std::string text;
  for (const RedisEndpoint& e : endpoints)
    text.append(text.empty() ? "" : ",").append(fmt::format("{}:{}", e.host, e.port));
  return text;
}

inline BackendSpec parse_redis_cluster(std::string_view url) {
  std::string_view rest = url.substr(std::string_view("redis-cluster://").size());
  RedisClusterOptions options;
  options.node.password = take_redis_password(rest);
  options.seeds = parse_endpoints(rest.substr(0, rest.find('/')), url);
  std::string shown = "redis-cluster://" + endpoints_text(options.seeds);
  return {std::move(options), std::move(shown)};
}

inline BackendSpec parse_redis_sentinel(std::string_view url) {
  std::string_view rest = url.substr(std::string_view("redis-sentinel://").size());
  RedisOptions options;
  options.password = take_redis_password(rest);
  const auto slash = rest.find('/');
  if (slash == std::string_view::npos || slash + 1 == rest.size())
    throw ConfigError(fmt::format(
        "backend URL '{}' names no master (redis-sentinel://HOST:PORT,.../MASTER)", redacted(url)));
  options.sentinel.sentinels = parse_endpoints(rest.substr(0, slash), url);
  std::string_view master = rest.substr(slash + 1);
  if (const auto db = master.find('/'); db != std::string_view::npos) {
    options.db = parse_int(master.substr(db + 1), "database", url);
    master = master.substr(0, db);
  }
  options.sentinel.master_name = std::string(master);
  const std::string shown = fmt::format(
      "redis-sentinel://{}/{}/{}", endpoints_text(options.sentinel.sentinels), master, options.db);
  return {std::move(options), shown};
}

inline BackendSpec parse_redis(std::string_view url) {
  std::string_view rest = url.substr(std::string_view("redis://").size());
  RedisOptions options;
  std::string shown = "redis://";
  options.password = take_redis_password(rest);
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
  return {std::move(options), shown};
}

inline BackendSpec parse_postgres(std::string_view url, Access access) {
  PostgresOptions options;
  options.conninfo = std::string(url);
  options.create_if_missing = access == Access::read_write;
  if (auto table = env("STRATA_POSTGRES_TABLE")) options.table = *table;
  return {std::move(options), redacted(url)};
}

inline BackendSpec parse_s3(std::string_view url) {
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
  std::string shown = fmt::format("s3://{}/{} at {}", options.bucket, options.key_prefix,
                                  redacted(options.endpoint));
  return {std::move(options), std::move(shown)};
}

}  // namespace detail

/// What a URL names, parsed and checked, before anything is opened (the
/// fuzz target reads URLs this far). Throws ConfigError when the URL cannot
/// be used. Access::read_only creates nothing: a SQLite file, a directory or
/// a PostgreSQL table that is not there is a ConfigError when opened, not a
/// new empty one.
inline BackendSpec parse_backend_url(std::string_view url, Access access = Access::read_write) {
  const bool create = access == Access::read_write;
  const auto path_after = [&](std::string_view scheme) {
    const std::string_view path = url.substr(scheme.size());
    if (path.empty()) throw ConfigError(fmt::format("backend URL '{}' has no path", redacted(url)));
    return std::filesystem::path(std::string(path));
  };
  if (url == "memory:") return {MemoryOptions{}, "memory:"};
  if (url.starts_with("sqlite:"))
    return {SqliteOptions{.path = path_after("sqlite:"), .create_if_missing = create},
            redacted(url)};
  if (url.starts_with("file:"))
    return {FilesystemOptions{.root = path_after("file:"), .create_if_missing = create},
            redacted(url)};
  if (url.starts_with("redis://")) return detail::parse_redis(url);
  if (url.starts_with("redis-cluster://")) return detail::parse_redis_cluster(url);
  if (url.starts_with("redis-sentinel://")) return detail::parse_redis_sentinel(url);
  if (url.starts_with("postgres://") || url.starts_with("postgresql://"))
    return detail::parse_postgres(url, access);
  if (url.starts_with("s3://")) return detail::parse_s3(url);
  throw ConfigError(fmt::format(
      "backend URL '{}': unknown scheme (expected memory:, sqlite:PATH, file:PATH, redis://, "
      "redis-cluster://, redis-sentinel://, postgres://, s3://)",
      redacted(url)));
}

/// Opens the repository a URL names; its description is the URL, redacted.
/// Throws ConfigError when the URL cannot be used (see parse_backend_url).
inline AnyRepository open_repository(std::string_view url, Access access = Access::read_write) {
  BackendSpec spec = parse_backend_url(url, access);
  return std::visit(
      [&](auto& options) {
        using Options = std::decay_t<decltype(options)>;
        if constexpr (std::is_same_v<Options, MemoryOptions>)
          return AnyRepository(MemoryRepository(), std::move(spec.shown));
        else if constexpr (std::is_same_v<Options, SqliteOptions>)
          return AnyRepository(SqliteRepository(std::move(options)), std::move(spec.shown));
        else if constexpr (std::is_same_v<Options, FilesystemOptions>)
          return AnyRepository(FilesystemRepository(std::move(options)), std::move(spec.shown));
        else if constexpr (std::is_same_v<Options, RedisOptions>)
          return AnyRepository(RedisRepository(std::move(options)), std::move(spec.shown));
        else if constexpr (std::is_same_v<Options, RedisClusterOptions>)
          return AnyRepository(RedisClusterRepository(std::move(options)), std::move(spec.shown));
        else if constexpr (std::is_same_v<Options, PostgresOptions>)
          return AnyRepository(PostgresRepository(std::move(options)), std::move(spec.shown));
        else
          return AnyRepository(S3Repository(std::move(options)), std::move(spec.shown));
      },
      spec.options);
}

}  // namespace strata::cli
