// Scrapes examples/metrics_server as Prometheus would: starts it, reads the
// address it prints, GETs /metrics over HTTP, parses the text exposition, and
// checks the names, labels and counts its known workload must produce; and
// the families of a store with a pooled tier and a bus, built in process.
#include <strata/prometheus/collector.hpp>
#include <strata/strata.hpp>

#include "support/loopback.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <vector>

extern char** environ;

namespace strata::testing {
namespace {

/// The example, running, with its standard input held open (it serves until that closes).
class MetricsServer {
 public:
  MetricsServer() {
    int to_child[2], from_child[2];
    if (::pipe2(to_child, O_CLOEXEC) != 0 || ::pipe2(from_child, O_CLOEXEC) != 0)
      throw std::runtime_error("pipe");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, to_child[0], 0);
    posix_spawn_file_actions_adddup2(&actions, from_child[1], 1);
    std::string path = STRATA_METRICS_SERVER;
    std::array<char*, 2> argv{path.data(), nullptr};
    const int spawned = ::posix_spawn(&pid_, path.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(to_child[0]);
    ::close(from_child[1]);
    stdin_ = to_child[1];
    if (spawned != 0) throw std::runtime_error("cannot start " + path);
    // Its first line: "listening on 127.0.0.1:<port>".
    std::string line;
    char c = 0;
    while (::read(from_child[0], &c, 1) == 1 && c != '\n') line.push_back(c);
    ::close(from_child[0]);
    const auto colon = line.rfind(':');
    if (!line.starts_with("listening on 127.0.0.1:") || colon == std::string::npos)
      throw std::runtime_error("the server said: " + line);
    port_ = std::stoi(line.substr(colon + 1));
  }
  ~MetricsServer() {
    ::close(stdin_);  // it exits
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  int port() const { return port_; }

 private:
  pid_t pid_ = -1;
  int stdin_ = -1;
  int port_ = 0;
};

/// The body of GET `path` from 127.0.0.1:`port`, over HTTP/1.0.
std::string http_get(int port, const std::string& path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr = loopback_address(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return {};
  }
  const std::string request = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) < 0) {
    ::close(fd);
    return {};
  }
  std::string response;
  std::array<char, 4096> buffer{};
  for (ssize_t n; (n = ::recv(fd, buffer.data(), buffer.size(), 0)) > 0;)
    response.append(buffer.data(), static_cast<std::size_t>(n));
  ::close(fd);
  const auto body = response.find("\r\n\r\n");
  return body == std::string::npos ? std::string() : response.substr(body + 4);
}

/// Samples of a text exposition: "name{label="v",...}" (labels as written) -> value.
struct Exposition {
  std::map<std::string, double> samples;
  std::map<std::string, std::string> types;  // family -> counter, gauge, histogram, ...

  explicit Exposition(const std::string& text) {
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
      if (line.starts_with("# TYPE ")) {
        std::istringstream words(line.substr(7));
        std::string name, type;
        words >> name >> type;
        types[name] = type;
        continue;
      }
      if (line.empty() || line[0] == '#') continue;
      const auto space = line.rfind(' ');
      samples[line.substr(0, space)] = std::stod(line.substr(space + 1));
    }
  }
  double at(const std::string& sample) const {
    const auto it = samples.find(sample);
    return it == samples.end() ? -1 : it->second;
  }
};

TEST(Prometheus, AScrapeOfTheExampleShowsItsWorkload) {
  MetricsServer server;
  const std::string text = http_get(server.port(), "/metrics");
  ASSERT_FALSE(text.empty());
  const Exposition scraped(text);

  EXPECT_EQ(scraped.types.at("strata_tier_operation_seconds"), "histogram");
  EXPECT_EQ(scraped.types.at("strata_tier_operation_keys_total"), "counter");
  EXPECT_EQ(scraped.types.at("strata_cache_entries"), "gauge");
  for (const char* tier : {"hot", "warm", "cold"}) {
    const std::string t = std::string("tier=\"") + tier + "\"";
    const auto op = [&](const char* name) { return "{" + t + ",op=\"" + name + "\""; };
    EXPECT_EQ(scraped.at("strata_tier_operation_seconds_count" + op("store_many") + "}"), 3);
    EXPECT_EQ(scraped.at("strata_tier_operation_keys_total" + op("store_many") + "}"), 100);
    EXPECT_EQ(scraped.at("strata_tier_operation_seconds_count" + op("load_many") + "}"), 1);
    EXPECT_EQ(scraped.at("strata_tier_operation_keys_total" + op("load_many") + "}"), 100);
    EXPECT_EQ(scraped.at("strata_tier_operation_seconds_count" + op("erase_many") + "}"), 1);
    EXPECT_EQ(scraped.at("strata_tier_operation_keys_total" + op("erase_many") + "}"), 30);
    EXPECT_GT(scraped.at("strata_tier_operation_seconds_sum" + op("store_many") + "}"), 0);
    // Buckets are cumulative and end, at +Inf, with the count.
    std::map<double, double> buckets;  // le -> calls at most that long
    const std::string prefix = "strata_tier_operation_seconds_bucket" + op("store_many") + ",le=\"";
    for (const auto& [sample, value] : scraped.samples)
      if (sample.starts_with(prefix)) {
        const std::string le = sample.substr(prefix.size(), sample.size() - prefix.size() - 2);
        buckets[le == "+Inf" ? std::numeric_limits<double>::infinity() : std::stod(le)] = value;
      }
    EXPECT_EQ(buckets.size(), 25u);
    double previous = 0;
    for (const auto& [le, calls] : buckets) {
      EXPECT_GE(calls, previous) << le;
      previous = calls;
    }
    EXPECT_EQ(
        scraped.at("strata_tier_operation_seconds_bucket" + op("store_many") + ",le=\"+Inf\"}"), 3);
    EXPECT_EQ(scraped.at("strata_tier_calls_total{" + t + "}"), 3 + 1 + 1);
  }
  EXPECT_EQ(scraped.at("strata_cache_hits_total"), 300);
  EXPECT_EQ(scraped.at("strata_cache_misses_total"), 300);
  EXPECT_EQ(scraped.at("strata_cache_entries"), 270);
  double bytes = 0;  // the keys left ("hot:30" ... "cold:299") and their values, "value"
  for (int i = 30; i < 300; ++i)
    bytes += static_cast<double>((i % 3 == 0   ? 4
                                  : i % 3 == 1 ? 2
                                               : 5) +
                                 std::to_string(i).size() + 5);
  EXPECT_EQ(scraped.at("strata_cache_bytes"), bytes);
  EXPECT_EQ(scraped.at("strata_cache_evictions_total"), 0);
  EXPECT_EQ(scraped.at("strata_tier_failures_total{tier=\"hot\"}"), 0);
}

/// A bus that reports counts, as RedisBus does (compiled out of the store: not enabled).
struct CountingBus : NoBus {
  struct Counts {
    std::uint64_t invalidations = 7, gaps = 2;
  };
  Counts stats() const { return {}; }
};

/// A memory tier that reports a connection pool, as the Redis and PostgreSQL tiers do.
struct PooledMemory : MemoryRepository {
  PoolStats pool_stats() const {
    return {.open = 5, .idle = 2, .waits = 4, .wait_ns = 1'500'000'000, .exhausted = 1};
  }
};

/// The value of the one sample of `name` whose labels include `label` (empty: any).
double value_of(const std::vector<::prometheus::MetricFamily>& families, const std::string& name,
                const std::string& label = {}) {
  for (const auto& family : families)
    if (family.name == name)
      for (const auto& metric : family.metric) {
        std::string labels;
        for (const auto& l : metric.label) labels += l.name + "=" + l.value + ",";
        if (label.empty() || labels.find(label) != std::string::npos)
          return family.type == ::prometheus::MetricType::Counter ? metric.counter.value
                                                                  : metric.gauge.value;
      }
  return -1;
}

TEST(Prometheus, PoolsAndTheBusAreExposedWhenTheStoreHasThem) {
  using Store = TieredStore<NoCache, FixedRouter<Tier::hot>, PooledMemory, NoTier, NoTier,
                            CountingBus, NoStats, NoMetrics>;
  Store store;
  const auto families = strata::prometheus::metric_families(store);
  EXPECT_EQ(value_of(families, "strata_pool_connections", "state=in_use"), 3);
  EXPECT_EQ(value_of(families, "strata_pool_connections", "state=idle"), 2);
  EXPECT_EQ(value_of(families, "strata_pool_waits_total", "tier=hot"), 4);
  EXPECT_EQ(value_of(families, "strata_pool_wait_seconds_total", "tier=hot"), 1.5);
  EXPECT_EQ(value_of(families, "strata_pool_exhausted_total", "tier=hot"), 1);
  EXPECT_EQ(value_of(families, "strata_bus_invalidations_total"), 7);
  EXPECT_EQ(value_of(families, "strata_bus_gaps_total"), 2);
  // Without recording policies, their families are absent, not zero.
  EXPECT_EQ(value_of(families, "strata_tier_operation_keys_total"), -1);
  EXPECT_EQ(value_of(families, "strata_cache_hits_total"), -1);
  EXPECT_EQ(value_of(families, "strata_cache_entries"), 0);
}

}  // namespace
}  // namespace strata::testing
