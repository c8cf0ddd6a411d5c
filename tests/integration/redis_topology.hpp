#pragma once
/// \file
/// The Redis Cluster (3 masters + 3 replicas) and the Sentinel group (master,
/// replica, 3 sentinels) that scripts/servers.sh started on 127.0.0.1, and
/// what the fault tests do to them: ask any node a command, find a node's
/// process and kill it with SIGKILL, start it again from the config file the
/// script wrote, and wait until the group is whole again.

#include "redis_server.hpp"

#include <strata/backends/redis.hpp>
#include <strata/backends/redis_cluster.hpp>

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <unistd.h>

namespace strata::testing {

inline int env_port(const char* name, int fallback) {
  const char* port = std::getenv(name);
  return port ? std::atoi(port) : fallback;
}

inline int cluster_first_port() { return env_port("STRATA_CLUSTER_PORT", 16501); }
inline int sentinel_master_port() { return env_port("STRATA_SENTINEL_MASTER_PORT", 16511); }
inline int sentinel_first_port() { return env_port("STRATA_SENTINEL_PORT", 16521); }

inline std::vector<int> cluster_ports() {
  std::vector<int> ports;
  for (int i = 0; i < 6; ++i) ports.push_back(cluster_first_port() + i);
  return ports;
}

/// Options for a repository on the cluster, its keys under a namespace of
/// their own (no braces in it: a hash tag in the prefix would put every key
/// in one slot).
inline RedisClusterOptions cluster_test_options(Clock clock = {}) {
  RedisClusterOptions options;
  for (int port : cluster_ports()) options.seeds.push_back({"127.0.0.1", port});
  options.node = redis_test_options(clock);
  options.node.key_prefix = "cluster-" + options.node.key_prefix;
  return options;
}

/// Options for a repository that finds its master through the sentinels.
inline RedisOptions sentinel_test_options(Clock clock = {}) {
  RedisOptions options = redis_test_options(clock);
  for (int i = 0; i < 3; ++i)
    options.sentinel.sentinels.push_back({"127.0.0.1", sentinel_first_port() + i});
  options.sentinel.master_name = "strata-master";
  return options;
}

/// One command to the server on 127.0.0.1:`port`, on a connection of its
/// own; null when it cannot be reached.
inline detail::RedisReplyPtr redis_at(int port, const std::vector<std::string>& args) {
  std::unique_ptr<redisContext, detail::FreeRedisContext> c(
      redisConnectWithTimeout("127.0.0.1", port, timeval{1, 0}));
  if (!c || c->err != 0) return nullptr;
  redisSetTimeout(c.get(), timeval{10, 0});
  detail::RespWriter command;
  command.command(args.size());
  for (const std::string& a : args) command.arg(a);
  return detail::call(c.get(), command);
}

/// A bulk or status reply's text; empty for anything else.
inline std::string text_of(const detail::RedisReplyPtr& reply) {
  if (!reply || (reply->type != REDIS_REPLY_STRING && reply->type != REDIS_REPLY_STATUS)) return {};
  return std::string(reply->str, reply->len);
}

/// A field of INFO's answer ("role", "process_id", ...); empty if absent.
inline std::string info_field(int port, const std::string& section, const std::string& field) {
  const std::string info = text_of(redis_at(port, {"INFO", section}));
  const std::string needle = field + ":";
  const std::size_t at = info.find("\r\n" + needle);
  const std::size_t start = info.starts_with(needle) ? 0 : at == std::string::npos ? at : at + 2;
  if (start == std::string::npos) return {};
  const std::size_t value = start + needle.size();
  return info.substr(value, info.find("\r\n", value) - value);
}

/// Polls `done` every 50 ms for at most `limit`; whether it came true.
template <class Predicate>
bool eventually(Predicate done, std::chrono::milliseconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return done();
}

/// Where scripts/servers.sh keeps a node's files: `group` is "cluster" or "sentinel".
inline std::string node_dir(const std::string& group, int port) {
  return std::string(STRATA_SERVERS_DIR) + "/" + group + "/" + std::to_string(port);
}

/// Kills the server on `port` with SIGKILL and waits until it is gone; its pid.
inline pid_t kill9_node(int port) {
  const pid_t pid =
      static_cast<pid_t>(std::atoll(info_field(port, "server", "process_id").c_str()));
  EXPECT_GT(pid, 0) << "no redis-server answers on port " << port;
  if (pid <= 0) return pid;
  ::kill(pid, SIGKILL);
  EXPECT_TRUE(eventually([&] { return ::kill(pid, 0) != 0; }, std::chrono::seconds(5)));
  return pid;
}

/// Starts the node again from the config file scripts/servers.sh wrote (it
/// daemonizes), with `extra` arguments, and waits until it answers PING.
/// It comes back empty, as a killed server without persistence does: the
/// dump.rdb a replica's full sync left in its directory is removed first, or
/// the node would come back holding that old data set.
inline void restart_node(const std::string& group, int port, const std::string& extra = {}) {
  std::remove((node_dir(group, port) + "/dump.rdb").c_str());
  const std::string command = "redis-server " + node_dir(group, port) + "/redis.conf " + extra;
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  ASSERT_TRUE(eventually([&] { return text_of(redis_at(port, {"PING"})) == "PONG"; },
                         std::chrono::seconds(10)));
}

/// Starts again any node of `ports` that does not answer (a fault test that
/// failed before it restarted its victim leaves one down).
inline void restart_dead_nodes(const std::string& group, const std::vector<int>& ports) {
  for (int port : ports)
    if (text_of(redis_at(port, {"PING"})) != "PONG") restart_node(group, port);
}

/// Every cluster node says cluster_state:ok, there are three masters each
/// with a replica whose link is up (so WAIT 1 can succeed).
inline bool cluster_whole() {
  int masters = 0, synced_replicas = 0;
  for (int port : cluster_ports()) {
    if (info_field(port, "cluster", "cluster_enabled") != "1") return false;
    if (text_of(redis_at(port, {"CLUSTER", "INFO"})).find("cluster_state:ok") == std::string::npos)
      return false;
    const std::string role = info_field(port, "replication", "role");
    if (role == "master") ++masters;
    if (role == "slave" && info_field(port, "replication", "master_link_status") == "up")
      ++synced_replicas;
  }
  return masters == 3 && synced_replicas == 3;
}

/// The cluster's node id of the server on `port`.
inline std::string cluster_node_id(int port) {
  return text_of(redis_at(port, {"CLUSTER", "MYID"}));
}

/// The port of the master that serves `slot` now, as the node on `ask` sees it; 0 if none.
inline int cluster_owner_port(std::uint16_t slot, int ask = cluster_first_port()) {
  const detail::RedisReplyPtr slots = redis_at(ask, {"CLUSTER", "SLOTS"});
  if (!slots || slots->type != REDIS_REPLY_ARRAY) return 0;
  for (std::size_t i = 0; i < slots->elements; ++i) {
    const redisReply* range = slots->element[i];
    if (range->element[0]->integer <= slot && slot <= range->element[1]->integer)
      return static_cast<int>(range->element[2]->element[1]->integer);
  }
  return 0;
}

/// The sentinel group's master port, when every sentinel names the same one; 0 otherwise.
inline int sentinel_current_master() {
  int agreed = 0;
  for (int i = 0; i < 3; ++i) {
    const detail::RedisReplyPtr reply = redis_at(
        sentinel_first_port() + i, {"SENTINEL", "get-master-addr-by-name", "strata-master"});
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) return 0;
    const int port = std::atoi(std::string(reply->element[1]->str, reply->element[1]->len).c_str());
    if (agreed != 0 && port != agreed) return 0;
    agreed = port;
  }
  return agreed;
}

/// A field of a SENTINEL MASTER / REPLICAS entry (an array of name, value
/// pairs); empty if absent.
inline std::string sentinel_field(const redisReply* entry, std::string_view name) {
  for (std::size_t i = 0; i + 1 < entry->elements; i += 2)
    if (std::string_view(entry->element[i]->str, entry->element[i]->len) == name)
      return std::string(entry->element[i + 1]->str, entry->element[i + 1]->len);
  return {};
}

/// Sentinel `sentinel_port` sees the replica on `replica_port` as one it
/// would promote: reachable, no down flag, its link to `master_port` up (as
/// of its last INFO, refreshed every 10 s). Without this a failover asked for
/// (or forced by a kill) right after a node rejoined finds no good replica.
inline bool sentinel_sees_good_replica(int sentinel_port, int replica_port, int master_port) {
  const detail::RedisReplyPtr replicas =
      redis_at(sentinel_port, {"SENTINEL", "REPLICAS", "strata-master"});
  if (!replicas || replicas->type != REDIS_REPLY_ARRAY) return false;
  for (std::size_t i = 0; i < replicas->elements; ++i) {
    const redisReply* entry = replicas->element[i];
    if (sentinel_field(entry, "port") == std::to_string(replica_port))
      return sentinel_field(entry, "flags") == "slave" &&
             sentinel_field(entry, "master-link-status") == "ok" &&
             sentinel_field(entry, "master-port") == std::to_string(master_port);
  }
  return false;
}

/// The sentinels agree on a master that says ROLE master and has a replica
/// whose link is up, and each sentinel would promote that replica.
inline bool sentinel_group_whole() {
  const int master = sentinel_current_master();
  if (master == 0 || info_field(master, "replication", "role") != "master") return false;
  const int replica = master == sentinel_master_port() ? master + 1 : sentinel_master_port();
  if (info_field(replica, "replication", "role") != "slave" ||
      info_field(replica, "replication", "master_link_status") != "up" ||
      info_field(replica, "replication", "master_port") != std::to_string(master))
    return false;
  for (int i = 0; i < 3; ++i)
    if (!sentinel_sees_good_replica(sentinel_first_port() + i, replica, master)) return false;
  return true;
}

}  // namespace strata::testing
