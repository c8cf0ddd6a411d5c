#pragma once
/// \file
/// RedisClusterRepository: the HOT tier on a Redis Cluster (CMake component
/// strata::redis).
///
/// A batch may hold keys of any of the 16384 hash slots. Redis refuses a
/// multi-key command or a MULTI/EXEC whose keys hash to different slots
/// (CROSSSLOT), so the slot is the unit of atomicity: a batch is split into
/// slot groups (its records grouped by redis_hash_slot of the namespaced key,
/// input order kept inside a group, so the last write of a key wins).
///
/// - store_many: per slot group the writes as the single-node repository
///   encodes them (MSET for runs without expiry, SET PX, DEL), wrapped in
///   MULTI/EXEC when the group needs more than one command (one command is
///   atomic by itself). Each slot group is all-or-none; the batch is not
///   (`atomic_batches` is false).
/// - load_many: MGET per slot group; erase_many: UNLINK per slot group.
/// - Every call sends, per master, one pipeline of its groups, to all masters
///   before it reads any reply, so the masters work on the batch at once.
/// - MOVED: the topology is refreshed and the group resent to the node
///   named; ASK: resent to the importing node behind ASKING; TRYAGAIN,
///   CLUSTERDOWN and an owner that cannot be reached: retried with backoff
///   while `retry_budget` lasts. A refused group was not applied, so resending
///   it is safe. A group whose commands were sent and whose reply never came
///   is errc::outcome_unknown; groups never sent fail with the error that
///   stopped them (backend_unavailable).
/// - min_replicas_acked (RedisOptions): after a master's groups, `WAIT n`;
///   fewer acknowledgements make the groups it applied outcome_unknown.
/// - scan: SCAN on every master in turn (masters in address order), then the
///   page is read with load_many. A key lives on one master, so a scan with a
///   steady topology returns it once (SCAN's own "at least once" aside); a
///   scan across a resharding or failover may miss or repeat keys that moved.
///
/// The topology (CLUSTER SLOTS) is read at the first call, after MOVED, after
/// a connection error, and when older than `refresh_every`. Each node has its
/// own connection pool (RedisOptions::pool).
///
/// Thread safety: every member may be called concurrently.

#include "strata/backends/redis.hpp"
#include "strata/backends/redis_slot.hpp"
#include "strata/backends/resp_writer.hpp"
#include "strata/core/batch_result.hpp"
#include "strata/core/config.hpp"
#include "strata/core/error.hpp"
#include "strata/core/load_result.hpp"
#include "strata/core/record.hpp"
#include "strata/pool/connection_pool.hpp"

#include <algorithm>     // std::sort, std::min
#include <array>         // std::array
#include <chrono>        // std::chrono::steady_clock
#include <cstddef>       // std::size_t
#include <cstdint>       // std::uint16_t
#include <functional>    // std::function
#include <map>           // std::map
#include <memory>        // std::unique_ptr, std::shared_ptr
#include <mutex>         // std::mutex
#include <optional>      // std::optional
#include <span>          // std::span
#include <string>        // std::string
#include <string_view>   // std::string_view
#include <system_error>  // std::error_code
#include <thread>        // std::this_thread::sleep_for
#include <utility>       // std::move
#include <vector>        // std::vector

#include <hiredis/hiredis.h>

STRATA_BEGIN_NAMESPACE

/// Where a Redis Cluster is and how the repository talks to its nodes.
struct RedisClusterOptions {
  /// Nodes asked for the topology (CLUSTER SLOTS) until one answers; any
  /// node of the cluster will do, masters and replicas alike.
  std::vector<RedisEndpoint> seeds{};
  /// How every node is talked to: password, key_prefix, timeouts, the pool
  /// (one per node), chunk_size (most keys in one command), clock and
  /// min_replicas_acked. Its host, port, db and sentinel are not used (a
  /// cluster has database 0 only).
  RedisOptions node{};
  /// MOVED and ASK redirections followed for one slot group in one call.
  int max_redirects = 16;
  /// How long one call keeps retrying groups refused with TRYAGAIN or
  /// CLUSTERDOWN, or whose master cannot be reached (a failover takes about
  /// cluster-node-timeout plus an election); zero: no retries.
  Millis retry_budget{3000};
  /// The topology is read again when older than this; zero: only on MOVED
  /// and on connection errors.
  Millis refresh_every{std::chrono::seconds(5)};
};

/// The HOT tier on a Redis Cluster: slot-aware batches, one pipeline per master, redirections
/// followed. Models ScannableRepository.
class RedisClusterRepository {
 public:
  /// False: each slot group is all-or-none, a batch over several slots is not.
  static constexpr bool atomic_batches = false;

  /// Connects lazily: construction never blocks on the network.
  explicit RedisClusterRepository(RedisClusterOptions options)
      : state_(std::make_shared<State>(std::move(options))) {}

  /// Writes the records, per slot group one MSET (or SET PX, DEL; MULTI/EXEC
  /// when a group needs several commands), pipelined per master.
  BatchResult store_many(std::span<const Record> records) {
    BatchResult result(records.size());
    if (records.empty()) return result;
    const std::string_view prefix = state_->options.node.key_prefix;
    Batch batch =
        group_by_slot(records.size(), prefix, [&](std::size_t i) { return records[i].key; });
    const TimePoint now = state_->options.node.clock.now();
    const std::size_t max_keys = state_->chunk();
    struct Store {
      std::span<const Record> records;
      const std::vector<std::size_t>& order;
      BatchResult& result;
      std::string_view prefix;
      TimePoint now;
      std::size_t max_keys;
      std::vector<std::vector<detail::WriteCommand>> commands;  // per group, as encoded

      std::size_t encode(std::size_t g, const Group& group, detail::RespWriter& out) {
        std::vector<detail::WriteCommand>& mine = commands[g];
        mine.clear();
        // One command is atomic by itself; several need MULTI/EXEC.
        const bool transaction = command_count(group) > 1;
        if (transaction) {
          out.command(1);
          out.arg("MULTI");
        }
        detail::encode_writes(
            out, mine, group.first, group.last,
            [this](std::size_t k) -> const Record& { return records[order[k]]; }, prefix, now,
            max_keys);
        if (!transaction) return 1;
        out.command(1);
        out.arg("EXEC");
        return mine.size() + 2;
      }
      /// How many commands encode_writes makes of the group.
      std::size_t command_count(const Group& group) const {
        std::size_t n = 0, run = 0;
        for (std::size_t k = group.first; k < group.last; ++k) {
          if (records[order[k]].expires_at) {
            ++n;
            run = 0;
          } else if (run++ % max_keys == 0) {
            ++n;
          }
        }
        return n;
      }
      bool decode(std::size_t g, const Group&, std::span<const detail::RedisReplyPtr> replies) {
        const std::vector<detail::WriteCommand>& mine = commands[g];
        if (mine.size() == 1) return mark(mine[0], replies[0].get());
        const redisReply* exec = replies.back().get();
        if (!detail::is_status(replies[0].get(), "OK") || exec->type != REDIS_REPLY_ARRAY ||
            exec->elements != mine.size()) {
          // EXECABORT for a reason that is not a redirection (those the
          // engine handled): nothing was applied.
          if (exec->type == REDIS_REPLY_ERROR) {
            for (const auto& c : mine) fail(c, make_error_code(errc::backend_unavailable));
            return true;
          }
          return false;
        }
        for (std::size_t k = 0; k < mine.size(); ++k)
          if (!mark(mine[k], exec->element[k])) return false;
        return true;
      }
      void fail(std::size_t, const Group& group, std::error_code error) {
        for (std::size_t k = group.first; k < group.last; ++k) result.mark_failed(order[k], error);
      }
      void unacknowledged(std::size_t, const Group& group) {
        for (std::size_t k = group.first; k < group.last; ++k)
          if (result.stored(order[k]))
            result.mark_failed(order[k], make_error_code(errc::outcome_unknown));
      }

      bool mark(const detail::WriteCommand& c, const redisReply* r) {
        if (detail::is_status(r, "OK") || r->type == REDIS_REPLY_INTEGER) {
          for (std::size_t k = c.first; k < c.last; ++k) result.mark_stored(order[k]);
          return true;
        }
        if (r->type != REDIS_REPLY_ERROR) return false;
        fail(c, make_error_code(errc::backend_unavailable));  // e.g. out of memory: this command
        return true;
      }
      void fail(const detail::WriteCommand& c, std::error_code error) {
        for (std::size_t k = c.first; k < c.last; ++k) result.mark_failed(order[k], error);
      }
    } job{records, batch.order, result, prefix, now, max_keys, {}};
    job.commands.resize(batch.groups.size());
    run(batch.groups, job, state_->options.node.min_replicas_acked > 0);
    return result;
  }

  /// Reads the keys with one MGET per slot group (split at chunk_size keys),
  /// pipelined per master; a key MGET found absent but that holds another
  /// type is errc::corrupt_record, as in RedisRepository.
  LoadResult load_many(std::span<const std::string_view> keys) {
    LoadResult result(keys.size());
    if (keys.empty()) return result;
    const std::string_view prefix = state_->options.node.key_prefix;
    Batch batch = group_by_slot(keys.size(), prefix, [&](std::size_t i) { return keys[i]; });
    KeyJob mget{"MGET",
                keys,
                batch.order,
                prefix,
                state_->chunk(),
                [&](std::size_t i, std::error_code error) { result.set_failed(i, error); }};
    mget.on_element = [&](std::size_t i, const redisReply* e) {
      if (e->type == REDIS_REPLY_STRING)
        result.set_found(i, std::string(e->str, e->len));
      else if (e->type == REDIS_REPLY_NIL)
        result.set_absent(i);
      else
        return false;
      return true;
    };
    run(batch.groups, mget, false);
    fail_foreign_types(keys, result);
    return result;
  }

  /// Deletes the keys with one UNLINK per slot group and counts what existed.
  EraseResult erase_many(std::span<const std::string_view> keys) {
    EraseResult erased;
    if (keys.empty()) return erased;
    const std::string_view prefix = state_->options.node.key_prefix;
    Batch batch = group_by_slot(keys.size(), prefix, [&](std::size_t i) { return keys[i]; });
    KeyJob unlink{
        "UNLINK",        keys,
        batch.order,     prefix,
        state_->chunk(), [&](std::size_t, std::error_code error) { erased.error = error; }};
    unlink.on_count = [&](long long n) { erased.erased += static_cast<std::size_t>(n); };
    run(batch.groups, unlink, false);
    return erased;
  }

  /// One SCAN step on one master and a load of at most `limit` of its keys.
  /// The cursor is "<host:port>#<SCAN cursor>[/<last key handed out>]": when a
  /// master's SCAN completes, the next master (in address order) starts.
  ScanPage scan(std::string_view prefix, std::string_view cursor, std::size_t limit) {
    ScanPage page;
    if (limit == 0) limit = 1;
    std::shared_ptr<const Topology> topology = current_topology();
    if (!topology || topology->masters.empty()) {
      page.error = make_error_code(errc::backend_unavailable);
      return page;
    }
    Node* node = topology->masters.front();
    std::string_view step = "0", after;
    if (!cursor.empty()) {
      const std::size_t hash = cursor.find('#');
      if (hash == std::string_view::npos) {
        page.error = make_error_code(errc::invalid_key);  // not a cursor this repository made
        return page;
      }
      const std::string_view address = cursor.substr(0, hash);
      step = cursor.substr(hash + 1);
      if (const auto slash = step.find('/'); slash != std::string_view::npos) {
        after = step.substr(slash + 1);
        step = step.substr(0, slash);
      }
      node = nullptr;
      for (Node* master : topology->masters) {
        if (master->address == address) {
          node = master;
          break;
        }
        if (master->address > address && node == nullptr) {
          node = master;  // that master left (a failover): go on with the next one
          step = "0";
          after = {};
          break;
        }
      }
      if (node == nullptr) {
        page.done = true;
        return page;
      }
    }
    std::optional<detail::ScanStep> found;
    {
      auto lease = node->pool.acquire();
      if (!lease) {
        note_connection_error();
        page.error = lease.error();
        return page;
      }
      found = detail::scan_step(lease->context.get(), state_->options.node.key_prefix, prefix, step,
                                after, limit);
      if (!found) {
        lease.discard();
        note_connection_error();
        page.error = make_error_code(errc::backend_unavailable);
        return page;
      }
    }
    const std::vector<std::string_view> views(found->keys.begin(), found->keys.end());
    LoadResult loaded = load_many(views);
    if (found->surplus) {
      page.next_cursor = node->address + "#" + std::string(step) + "/" + found->keys.back();
    } else if (found->next != "0") {
      page.next_cursor = node->address + "#" + found->next;
    } else {
      const auto at = std::upper_bound(
          topology->masters.begin(), topology->masters.end(), node->address,
          [](const std::string& address, const Node* master) { return address < master->address; });
      page.done = at == topology->masters.end();
      if (!page.done) page.next_cursor = (*at)->address + "#0";
    }
    detail::fill_scan_page(page, found->keys, loaded);
    return page;
  }

  /// Whether the topology can be read and every master answers PING.
  bool ping() { return !check_connection(); }

  /// Reads the topology and opens a connection to every master now, returning
  /// the error a call would meet (access_denied for a wrong password,
  /// backend_unavailable when a master or the whole cluster is down).
  std::error_code check_connection() {
    std::error_code error;
    if (!refresh(nullptr, &error))
      return error ? error : make_error_code(errc::backend_unavailable);
    const std::shared_ptr<const Topology> topology = current_topology();
    for (std::size_t slot = 0; slot < redis_cluster_slots; ++slot)
      if (topology->owner[slot] == nullptr) return make_error_code(errc::backend_unavailable);
    for (Node* master : topology->masters) {
      auto lease = master->pool.acquire();
      if (!lease) return lease.error();
    }
    return {};
  }

  /// The masters as the repository last read them ("host:port", in address order).
  std::vector<std::string> masters() {
    std::vector<std::string> out;
    if (const auto topology = current_topology())
      for (const Node* master : topology->masters) out.push_back(master->address);
    return out;
  }

  /// The "host:port" of the master the repository would send `key` to now.
  std::string master_of(std::string_view key) {
    const auto topology = current_topology();
    if (!topology) return {};
    std::string scratch;
    const Node* node = topology->owner[slot_of(state_->options.node.key_prefix, key, scratch)];
    return node ? node->address : std::string();
  }

  /// How often the topology was read, and redirections and retries seen.
  struct Stats {
    std::size_t refreshes = 0;  ///< topology reads that succeeded
    std::size_t moved = 0;      ///< MOVED replies followed
    std::size_t asked = 0;      ///< ASK replies followed
    std::size_t retried =
        0;  ///< groups resent after TRYAGAIN, CLUSTERDOWN or an unreachable master
  };
  /// The counters so far.
  Stats stats() const {
    const std::lock_guard lock(state_->mutex);
    return state_->stats;
  }

  /// The options the repository was made with.
  const RedisClusterOptions& options() const noexcept { return state_->options; }

 private:
  using Steady = std::chrono::steady_clock;

  /// One node of the cluster and its connections. Nodes are kept for the
  /// repository's life (a cluster has a handful of addresses), so a Topology
  /// may point at them without owning them.
  struct Node {
    Node(RedisEndpoint where, const RedisOptions& options)
        : at(std::move(where)),
          address(at.host + ":" + std::to_string(at.port)),
          pool(
              options.pool,
              [this,
               &options](std::error_code& error) -> std::optional<RedisRepository::Connection> {
                auto context = RedisRepository::connect_to(at, options, error);
                if (!context) return std::nullopt;
                return RedisRepository::Connection{std::move(context), 0};
              },
              [](RedisRepository::Connection& conn) { return RedisRepository::healthy(conn); }) {}

    RedisEndpoint at;
    std::string address;  // "host:port"
    ConnectionPool<RedisRepository::Connection> pool;
  };

  /// Which master serves each slot, as one CLUSTER SLOTS reply said.
  struct Topology {
    std::array<Node*, redis_cluster_slots> owner{};  // null: no master serves the slot
    std::vector<Node*> masters;                      // in address order
    Steady::time_point read_at{};
  };

  /// A run of a batch's positions (order[first, last)) that share a slot,
  /// and where its next attempt goes.
  struct Group {
    std::uint16_t slot = 0;
    std::size_t first = 0;
    std::size_t last = 0;
    Node* redirect = nullptr;  // MOVED/ASK named this node for the next attempt
    bool asking = false;       // the next attempt is preceded by ASKING
    int redirects = 0;
    bool done = false;
  };

  /// A batch's positions sorted by slot (stable: input order inside a slot) and cut into groups.
  struct Batch {
    std::vector<std::size_t> order;
    std::vector<Group> groups;
  };

  /// A per-key command (MGET, UNLINK, EXISTS, TYPE) sent per slot group,
  /// split at `max_keys` keys per command. Positions are the batch's.
  struct KeyJob {
    std::string_view verb;
    std::span<const std::string_view> keys;
    const std::vector<std::size_t>& order;
    std::string_view prefix;
    std::size_t max_keys;
    std::function<void(std::size_t, std::error_code)> on_fail;
    /// An array reply's element for a position; false if it is not well formed.
    std::function<bool(std::size_t, const redisReply*)> on_element{};
    std::function<void(long long)> on_count{};                       // integer replies
    std::function<void(std::size_t, std::string_view)> on_status{};  // status replies, one key each

    std::size_t encode(std::size_t, const Group& group, detail::RespWriter& out) const {
      std::size_t commands = 0;
      for (std::size_t first = group.first; first < group.last; first += max_keys, ++commands) {
        const std::size_t last = std::min(group.last, first + max_keys);
        out.command(1 + last - first);
        out.arg(verb);
        for (std::size_t k = first; k < last; ++k) out.arg(prefix, keys[order[k]]);
      }
      return commands;
    }
    bool decode(std::size_t, const Group& group,
                std::span<const detail::RedisReplyPtr> replies) const {
      std::size_t first = group.first;
      for (const detail::RedisReplyPtr& reply : replies) {
        const std::size_t last = std::min(group.last, first + max_keys);
        if (reply->type == REDIS_REPLY_INTEGER && on_count) {
          on_count(reply->integer);
        } else if (reply->type == REDIS_REPLY_STATUS && on_status && last - first == 1) {
          on_status(order[first], std::string_view(reply->str, reply->len));
        } else if (reply->type == REDIS_REPLY_ARRAY && on_element &&
                   reply->elements == last - first) {
          for (std::size_t k = first; k < last; ++k)
            if (!on_element(order[k], reply->element[k - first])) return false;
        } else {
          return false;
        }
        first = last;
      }
      return true;
    }
    void fail(std::size_t, const Group& group, std::error_code error) const {
      for (std::size_t k = group.first; k < group.last; ++k) on_fail(order[k], error);
    }
    void unacknowledged(std::size_t, const Group&) const {}
  };

  /// The slot of the namespaced key; `scratch` holds it (one buffer for a
  /// whole batch, not an allocation per key).
  static std::uint16_t slot_of(std::string_view prefix, std::string_view key,
                               std::string& scratch) {
    if (prefix.empty()) return redis_hash_slot(key);
    scratch.assign(prefix).append(key);
    return redis_hash_slot(scratch);
  }

  /// Groups positions 0..n-1 by the slot of `prefix` + key_at(position).
  template <class KeyAt>
  static Batch group_by_slot(std::size_t n, std::string_view prefix, KeyAt key_at) {
    Batch batch;
    std::vector<std::uint16_t> slots(n);
    std::string scratch;
    for (std::size_t i = 0; i < n; ++i) slots[i] = slot_of(prefix, key_at(i), scratch);
    batch.order.resize(n);
    // Counting sort by slot: stable, and linear in the batch.
    std::vector<std::uint32_t> start(redis_cluster_slots + 1, 0);
    for (std::uint16_t s : slots) ++start[s + 1U];
    for (std::size_t s = 0; s < redis_cluster_slots; ++s) start[s + 1] += start[s];
    std::vector<std::uint32_t> next(start.begin(), start.end() - 1);
    for (std::size_t i = 0; i < n; ++i) batch.order[next[slots[i]]++] = i;
    for (std::size_t k = 0; k < n;) {
      Group group;
      group.slot = slots[batch.order[k]];
      group.first = k;
      while (k < n && slots[batch.order[k]] == group.slot) ++k;
      group.last = k;
      batch.groups.push_back(group);
    }
    return batch;
  }

  /// How a group's replies say it was refused, if they do.
  struct Refusal {
    enum Kind { none, moved, ask, again } kind = none;
    std::string address;  // the node MOVED or ASK named
  };

  static Refusal refusal_in(std::span<const detail::RedisReplyPtr> replies) {
    Refusal out;
    for (const detail::RedisReplyPtr& reply : replies) {
      if (reply->type != REDIS_REPLY_ERROR) continue;
      const std::string_view message(reply->str, reply->len);
      if (message.starts_with("MOVED ") || message.starts_with("ASK ")) {
        out.kind = message.starts_with("MOVED ") ? Refusal::moved : Refusal::ask;
        const std::size_t space = message.rfind(' ');
        out.address = std::string(message.substr(space + 1));
        return out;
      }
      if (message.starts_with("TRYAGAIN") || message.starts_with("CLUSTERDOWN")) {
        out.kind = Refusal::again;
        return out;
      }
    }
    return out;
  }

  /// Sends every group not yet done to its master (all masters' pipelines
  /// written before any reply is read), reads the replies, and repeats for the
  /// groups refused, until all are done or out of redirections or time.
  template <class Job>
  void run(std::vector<Group>& groups, Job& job, bool wait_for_replicas) {
    const Steady::time_point deadline = Steady::now() + state_->options.retry_budget;
    Millis backoff{10};
    std::error_code last_error = make_error_code(errc::backend_unavailable);
    for (;;) {
      std::shared_ptr<const Topology> topology = current_topology();
      if (!topology && refused_credentials()) {
        // No node takes the password: no retry will help.
        for (std::size_t g = 0; g < groups.size(); ++g)
          if (!groups[g].done) finish(groups[g], job, g, make_error_code(errc::access_denied));
        return;
      }
      std::map<Node*, std::vector<std::size_t>> by_node;  // pending groups per node
      bool retry_later = false;
      for (std::size_t g = 0; g < groups.size(); ++g) {
        if (groups[g].done) continue;
        Node* node = groups[g].redirect != nullptr ? groups[g].redirect
                     : topology                    ? topology->owner[groups[g].slot]
                                                   : nullptr;
        if (node == nullptr)
          retry_later = true;  // no master serves the slot (yet)
        else
          by_node[node].push_back(g);
      }
      bool refresh_needed = !topology;
      // Write every master's pipeline, then read them.
      struct Sent {
        Node* node;
        ConnectionPool<RedisRepository::Connection>::Lease lease;
        std::vector<std::size_t>* groups;
        std::vector<std::size_t> replies;  // per group, ASKING excluded
      };
      std::vector<Sent> sent;
      detail::RespWriter out;
      for (auto& [node, mine] : by_node) {
        auto lease = node->pool.acquire();
        if (!lease) {
          last_error = lease.error();
          if (last_error == errc::access_denied) {
            for (std::size_t g : mine) finish(groups[g], job, g, last_error);
            continue;
          }
          retry_later = true;  // down, or failing over: not sent, so retried
          refresh_needed = true;
          continue;
        }
        out.clear();
        Sent s{node, std::move(lease), &mine, {}};
        for (std::size_t g : mine) {
          if (groups[g].asking) {
            out.command(1);
            out.arg("ASKING");
          }
          s.replies.push_back(job.encode(g, groups[g], out));
        }
        if (wait_for_replicas) detail::append_wait(out, state_->options.node);
        redisContext* c = s.lease->context.get();
        if (!detail::send_formatted(c, out)) {
          // Part of the pipeline may have reached the master.
          for (std::size_t g : mine)
            finish(groups[g], job, g, make_error_code(errc::outcome_unknown));
          s.lease.discard();
          refresh_needed = true;
          continue;
        }
        sent.push_back(std::move(s));
      }
      Refusal::Kind worst = Refusal::none;
      for (Sent& s : sent) {
        redisContext* c = s.lease->context.get();
        bool usable = true;
        std::vector<std::size_t> applied;  // groups this master applied
        std::vector<detail::RedisReplyPtr> replies;
        for (std::size_t n = 0; n < s.groups->size(); ++n) {
          const std::size_t g = (*s.groups)[n];
          Group& group = groups[g];
          if (!usable) {
            finish(group, job, g, make_error_code(errc::outcome_unknown));
            continue;
          }
          replies.clear();
          const std::size_t expected = s.replies[n] + (group.asking ? 1 : 0);
          for (std::size_t r = 0; r < expected; ++r) {
            detail::RedisReplyPtr reply = detail::read_reply(c);
            if (!reply) break;
            replies.push_back(std::move(reply));
          }
          if (replies.size() != expected) {
            usable = false;
            finish(group, job, g, make_error_code(errc::outcome_unknown));
            continue;
          }
          const std::span<const detail::RedisReplyPtr> answer =
              std::span<const detail::RedisReplyPtr>(replies).subspan(group.asking ? 1 : 0);
          group.asking = false;
          group.redirect = nullptr;
          const Refusal refusal = refusal_in(answer);
          if (refusal.kind != Refusal::none) {
            worst = std::max(worst, refusal.kind);
            if (refusal.kind == Refusal::again) {
              count(&Stats::retried);
              continue;
            }
            if (++group.redirects > state_->options.max_redirects) {
              finish(group, job, g, make_error_code(errc::backend_unavailable));
              continue;
            }
            group.redirect = node_at(refusal.address);
            group.asking = refusal.kind == Refusal::ask;
            count(refusal.kind == Refusal::ask ? &Stats::asked : &Stats::moved);
            if (refusal.kind == Refusal::moved) refresh_needed = true;
            continue;
          }
          if (!job.decode(g, group, answer)) {
            usable = false;  // a reply we do not understand: the connection is not trusted
            finish(group, job, g, make_error_code(errc::outcome_unknown));
            continue;
          }
          group.done = true;
          applied.push_back(g);
        }
        if (usable && wait_for_replicas) {
          const detail::RedisReplyPtr acked = detail::read_reply(c);
          const bool enough = acked && acked->type == REDIS_REPLY_INTEGER &&
                              acked->integer >= state_->options.node.min_replicas_acked;
          if (!acked || acked->type != REDIS_REPLY_INTEGER) usable = false;
          if (!enough)
            for (std::size_t g : applied) job.unacknowledged(g, groups[g]);
        }
        if (!usable) {
          s.lease.discard();
          refresh_needed = true;
        }
      }
      const bool pending =
          std::any_of(groups.begin(), groups.end(), [](const Group& g) { return !g.done; });
      if (!pending) return;
      if (refresh_needed || worst == Refusal::again || retry_later)
        refresh(topology.get(), nullptr);
      const bool waiting = worst == Refusal::again || retry_later;
      if (waiting) {
        if (Steady::now() + backoff > deadline) {
          for (std::size_t g = 0; g < groups.size(); ++g)
            if (!groups[g].done) finish(groups[g], job, g, last_error);
          return;
        }
        std::this_thread::sleep_for(backoff);
        backoff = std::min(backoff * 2, Millis{200});
      }
    }
  }

  template <class Job>
  static void finish(Group& group, Job& job, std::size_t g, std::error_code error) {
    job.fail(g, group, error);
    group.done = true;
  }

  void count(std::size_t Stats::*counter) {
    const std::lock_guard lock(state_->mutex);
    ++(state_->stats.*counter);
  }

  /// MGET answers nil for a key of another type as for a missing key: the
  /// keys found absent are counted with EXISTS per slot group, and only if some
  /// exist is each one's TYPE asked (as RedisRepository does).
  void fail_foreign_types(std::span<const std::string_view> keys, LoadResult& result) {
    std::vector<std::string_view> absent_keys;
    std::vector<std::size_t> absent;
    for (std::size_t i = 0; i < keys.size(); ++i)
      if (result[i].absent()) {
        absent.push_back(i);
        absent_keys.push_back(keys[i]);
      }
    if (absent.empty()) return;
    const std::string_view prefix = state_->options.node.key_prefix;
    Batch batch =
        group_by_slot(absent_keys.size(), prefix, [&](std::size_t i) { return absent_keys[i]; });
    long long existing = 0;
    const auto fail = [&](std::size_t k, std::error_code error) {
      result.set_failed(absent[k], error);
    };
    KeyJob exists{"EXISTS", absent_keys, batch.order, prefix, state_->chunk(), fail};
    exists.on_count = [&](long long n) { existing += n; };
    run(batch.groups, exists, false);
    if (existing == 0) return;
    // TYPE takes one key: one command per key, so that each reply names its key.
    KeyJob type{"TYPE", absent_keys, batch.order, prefix, 1, fail};
    type.on_status = [&](std::size_t k, std::string_view t) {
      if (result[absent[k]].absent() && t != "none" && t != "string")
        result.set_failed(absent[k], make_error_code(errc::corrupt_record));
    };
    for (Group& group : batch.groups) group = Group{group.slot, group.first, group.last};
    run(batch.groups, type, false);
  }

  /// The topology, read again first when there is none or it is older than refresh_every.
  std::shared_ptr<const Topology> current_topology() {
    std::shared_ptr<const Topology> topology = installed_topology();
    const Millis every = state_->options.refresh_every;
    if (!topology || (every.count() > 0 && Steady::now() - topology->read_at > every)) {
      refresh(topology.get(), nullptr);
      topology = installed_topology();
    }
    return topology;
  }

  /// A connection failed: read the topology again (unless another call just did).
  void note_connection_error() { refresh(installed_topology().get(), nullptr); }

  /// The topology as last read, whatever its age.
  std::shared_ptr<const Topology> installed_topology() const {
    const std::lock_guard lock(state_->mutex);
    return state_->topology;
  }

  /// The node at "host:port", created on first sight.
  Node* node_at(std::string_view address) {
    const std::size_t colon = address.rfind(':');
    RedisEndpoint at;
    at.host = std::string(address.substr(0, colon));
    at.port = 0;
    for (char ch : address.substr(colon + 1)) {
      if (ch < '0' || ch > '9' || at.port > 65535) break;
      at.port = at.port * 10 + (ch - '0');
    }
    return node_for(at);
  }

  Node* node_for(const RedisEndpoint& at) {
    const std::lock_guard lock(state_->nodes_mutex);
    const std::string address = at.host + ":" + std::to_string(at.port);
    auto& node = state_->nodes[address];
    if (!node) node = std::make_unique<Node>(at, state_->options.node);
    return node.get();
  }

  /// Reads CLUSTER SLOTS from a known master, else a seed, and installs it,
  /// unless another call replaced `seen` meanwhile. Whether a topology was read.
  bool refresh(const Topology* seen, std::error_code* error) {
    const std::lock_guard refreshing(state_->refresh_mutex);
    std::error_code local;
    if (error == nullptr) error = &local;
    {
      const std::lock_guard lock(state_->mutex);
      if (state_->topology.get() != seen && seen != nullptr) return true;  // someone else did
    }
    std::vector<RedisEndpoint> ask;
    if (seen != nullptr)
      for (const Node* master : seen->masters) ask.push_back(master->at);
    ask.insert(ask.end(), state_->options.seeds.begin(), state_->options.seeds.end());
    for (const RedisEndpoint& at : ask) {
      std::error_code connect_error;
      const auto conn = RedisRepository::connect_to(at, state_->options.node, connect_error);
      if (!conn) {
        if (connect_error == errc::access_denied) *error = connect_error;
        continue;
      }
      detail::RespWriter slots;
      slots.command(2);
      slots.arg("CLUSTER");
      slots.arg("SLOTS");
      const detail::RedisReplyPtr reply = detail::call(conn.get(), slots);
      auto topology = parse_slots(reply.get(), at.host);
      if (!topology) continue;
      const std::lock_guard lock(state_->mutex);
      state_->topology = std::move(topology);
      state_->refused = false;
      ++state_->stats.refreshes;
      return true;
    }
    const std::lock_guard lock(state_->mutex);
    state_->refused = *error == errc::access_denied;
    return false;
  }

  /// Whether the last failed topology read met refused credentials.
  bool refused_credentials() const {
    const std::lock_guard lock(state_->mutex);
    return state_->refused;
  }

  /// A Topology from a CLUSTER SLOTS reply; null if the reply is not one.
  /// An empty host means "the address you asked".
  std::shared_ptr<Topology> parse_slots(const redisReply* reply, const std::string& asked_host) {
    if (reply == nullptr || reply->type != REDIS_REPLY_ARRAY || reply->elements == 0)
      return nullptr;
    auto topology = std::make_shared<Topology>();
    for (std::size_t i = 0; i < reply->elements; ++i) {
      const redisReply* range = reply->element[i];
      if (range->type != REDIS_REPLY_ARRAY || range->elements < 3 ||
          range->element[0]->type != REDIS_REPLY_INTEGER ||
          range->element[1]->type != REDIS_REPLY_INTEGER ||
          range->element[2]->type != REDIS_REPLY_ARRAY || range->element[2]->elements < 2)
        return nullptr;
      const long long first = range->element[0]->integer, last = range->element[1]->integer;
      const redisReply* master = range->element[2];
      if (first < 0 || last < first || last >= static_cast<long long>(redis_cluster_slots) ||
          master->element[0]->type != REDIS_REPLY_STRING ||
          master->element[1]->type != REDIS_REPLY_INTEGER || master->element[1]->integer <= 0 ||
          master->element[1]->integer > 65535)
        return nullptr;
      RedisEndpoint at;
      at.host.assign(master->element[0]->str, master->element[0]->len);
      if (at.host.empty() || at.host == "?") at.host = asked_host;
      at.port = static_cast<int>(master->element[1]->integer);
      Node* node = node_for(at);
      for (long long s = first; s <= last; ++s) topology->owner[static_cast<std::size_t>(s)] = node;
      if (std::find(topology->masters.begin(), topology->masters.end(), node) ==
          topology->masters.end())
        topology->masters.push_back(node);
    }
    std::sort(topology->masters.begin(), topology->masters.end(),
              [](const Node* a, const Node* b) { return a->address < b->address; });
    topology->read_at = Steady::now();
    return topology;
  }

  struct State {
    explicit State(RedisClusterOptions opts) : options(std::move(opts)) {}
    std::size_t chunk() const noexcept {
      return options.node.chunk_size == 0 ? 10'000 : options.node.chunk_size;
    }

    RedisClusterOptions options;
    std::mutex nodes_mutex;
    std::map<std::string, std::unique_ptr<Node>> nodes;  // by "host:port"; never removed
    std::mutex refresh_mutex;                            // one topology read at a time
    mutable std::mutex mutex;                            // topology and stats
    std::shared_ptr<const Topology> topology;
    bool refused = false;  // the last topology read failed on the password
    Stats stats{};
  };

  std::shared_ptr<State> state_;
};

STRATA_END_NAMESPACE
