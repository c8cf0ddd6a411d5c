// ConnectionPool over a stand-in connection type: the pool is generic, and
// these tests pin its own rules (bounds, timeouts, discarding, health checks,
// reaping). The Redis and PostgreSQL tiers test it again over real servers.
#include <strata/pool/connection_pool.hpp>
#include <strata/pool/socket_liveness.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <set>
#include <thread>
#include <vector>

#include <sys/socket.h>
#include <unistd.h>

namespace strata {
namespace {

/// A connection that knows its id and counts its own closing.
struct FakeConnection {
  int id = 0;
  std::atomic<int>* closed = nullptr;
  bool healthy = true;

  FakeConnection(int id_, std::atomic<int>* closed_) : id(id_), closed(closed_) {}
  FakeConnection(FakeConnection&& other) noexcept
      : id(other.id), closed(std::exchange(other.closed, nullptr)), healthy(other.healthy) {}
  FakeConnection& operator=(FakeConnection&& other) noexcept {
    id = other.id;
    closed = std::exchange(other.closed, nullptr);
    healthy = other.healthy;
    return *this;
  }
  ~FakeConnection() {
    if (closed != nullptr) ++*closed;
  }
};

class PoolTest : public ::testing::Test {
 protected:
  ConnectionPool<FakeConnection> make(PoolOptions options) {
    return ConnectionPool<FakeConnection>(
        options,
        [this](std::error_code& error) -> std::optional<FakeConnection> {
          if (refuse_) {
            error = errc::backend_unavailable;
            return std::nullopt;
          }
          return FakeConnection(++next_id_, &closed_);
        },
        [](FakeConnection& conn) { return conn.healthy; });
  }
  std::atomic<int> next_id_{0};
  std::atomic<int> closed_{0};
  std::atomic<bool> refuse_{false};
};

TEST_F(PoolTest, ReusesAReturnedConnection) {
  auto pool = make({.size = 2, .max_overflow = 0});
  int first_id = 0;
  {
    auto lease = pool.acquire();
    ASSERT_TRUE(lease);
    first_id = lease->id;
  }
  auto lease = pool.acquire();
  EXPECT_EQ(lease->id, first_id);
  EXPECT_EQ(pool.stats().created, 1u);
}

TEST_F(PoolTest, ExhaustionFailsWithPoolExhaustedWithinTheCheckoutTimeout) {
  auto pool = make({.size = 1, .max_overflow = 1, .checkout_timeout = Millis{50}});
  auto a = pool.acquire(), b = pool.acquire();
  ASSERT_TRUE(a && b);
  const auto start = std::chrono::steady_clock::now();
  auto c = pool.acquire();
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_FALSE(c);
  EXPECT_EQ(c.error(), errc::pool_exhausted);
  EXPECT_GE(waited, Millis{50});
  EXPECT_LT(waited, std::chrono::seconds(5));  // no hang past the timeout
  const PoolStats stats = pool.stats();
  EXPECT_EQ(stats.waits, 1u);
  EXPECT_EQ(stats.exhausted, 1u);
  EXPECT_GE(stats.wait_ns, 50'000'000u);  // the wait is counted, however often it woke
}

TEST_F(PoolTest, AWaiterGetsTheConnectionAnotherThreadReturns) {
  auto pool = make({.size = 1, .max_overflow = 0, .checkout_timeout = Millis{5000}});
  auto held = pool.acquire();
  const int id = held->id;
  std::thread returner([&] {
    std::this_thread::sleep_for(Millis{20});
    held = {};  // give it back
  });
  auto lease = pool.acquire();
  returner.join();
  ASSERT_TRUE(lease);
  EXPECT_EQ(lease->id, id);
  EXPECT_EQ(pool.stats().waits, 1u);
  EXPECT_EQ(pool.stats().exhausted, 0u);
}

TEST_F(PoolTest, OverflowConnectionsCloseWhenReturned) {
  auto pool = make({.size = 1, .max_overflow = 2});
  {
    auto a = pool.acquire(), b = pool.acquire(), c = pool.acquire();
    ASSERT_TRUE(a && b && c);
    EXPECT_EQ(pool.stats().open, 3u);
  }
  EXPECT_EQ(pool.stats().open, 1u);
  EXPECT_EQ(pool.stats().idle, 1u);
  EXPECT_EQ(closed_.load(), 2);
}

TEST_F(PoolTest, ADiscardedConnectionIsNeverHandedOutAgain) {
  auto pool = make({.size = 1, .max_overflow = 0});
  int broken_id = 0;
  {
    auto lease = pool.acquire();
    broken_id = lease->id;
    lease.discard();
  }
  EXPECT_EQ(closed_.load(), 1);
  std::set<int> seen;
  for (int i = 0; i < 5; ++i) seen.insert(pool.acquire()->id);
  EXPECT_FALSE(seen.contains(broken_id));
  EXPECT_EQ(pool.stats().discarded, 1u);
}

TEST_F(PoolTest, AnUnhealthyIdleConnectionIsReplaced) {
  auto pool = make({.size = 1, .max_overflow = 0, .health_check_after = Millis{0}});
  int first_id = 0;
  {
    auto lease = pool.acquire();
    first_id = lease->id;
    lease->healthy = false;  // the server closed it while it sat idle
  }
  auto lease = pool.acquire();
  ASSERT_TRUE(lease);
  EXPECT_NE(lease->id, first_id);
  EXPECT_EQ(pool.stats().discarded, 1u);
}

TEST_F(PoolTest, IdleConnectionsPastMaxIdleAreReaped) {
  auto pool = make({.size = 3, .max_overflow = 0, .max_idle = Millis{20}});
  { auto a = pool.acquire(), b = pool.acquire(); }
  EXPECT_EQ(pool.stats().idle, 2u);
  std::this_thread::sleep_for(Millis{40});
  EXPECT_EQ(pool.reap_idle(), 2u);
  EXPECT_EQ(pool.stats().open, 0u);
  EXPECT_EQ(closed_.load(), 2);
}

TEST_F(PoolTest, AFailedConnectIsAnErrorAndFreesItsSlot) {
  auto pool = make({.size = 1, .max_overflow = 0, .checkout_timeout = Millis{0}});
  refuse_ = true;
  auto lease = pool.acquire();
  EXPECT_FALSE(lease);
  EXPECT_EQ(lease.error(), errc::backend_unavailable);
  refuse_ = false;
  EXPECT_TRUE(pool.acquire());  // the slot was not leaked
}

TEST_F(PoolTest, ManyThreadsNeverExceedTheBound) {
  auto pool = make({.size = 2, .max_overflow = 1, .checkout_timeout = Millis{5000}});
  std::atomic<int> in_use{0}, peak{0}, failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        auto lease = pool.acquire();
        if (!lease) {
          ++failures;
          continue;
        }
        const int now = ++in_use;
        int seen = peak.load();
        while (now > seen && !peak.compare_exchange_weak(seen, now)) {
        }
        --in_use;
      }
    });
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_LE(peak.load(), 3);
  EXPECT_LE(pool.stats().open, 3u);
}

// The liveness peek answers from the kernel's state of the socket: at rest
// (nothing pending), bytes pending (unsure: the protocol decides), closed
// by the peer, and not a socket at all; it consumes nothing.
TEST(SocketLiveness, APeekTellsARestingSocketFromAClosedOneAndConsumesNothing) {
  int ends[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, ends), 0);
  EXPECT_EQ(detail::peek_liveness(ends[0]), detail::SocketLiveness::alive);
  ASSERT_EQ(::write(ends[1], "x", 1), 1);
  EXPECT_EQ(detail::peek_liveness(ends[0]), detail::SocketLiveness::unsure);
  EXPECT_EQ(detail::peek_liveness(ends[0]), detail::SocketLiveness::unsure);  // still there
  char byte = 0;
  ASSERT_EQ(::read(ends[0], &byte, 1), 1);
  EXPECT_EQ(byte, 'x');
  EXPECT_EQ(detail::peek_liveness(ends[0]), detail::SocketLiveness::alive);
  ::close(ends[1]);
  EXPECT_EQ(detail::peek_liveness(ends[0]), detail::SocketLiveness::closed);
  ::close(ends[0]);

  int pipe_ends[2];
  ASSERT_EQ(::pipe(pipe_ends), 0);
  EXPECT_EQ(detail::peek_liveness(pipe_ends[0]), detail::SocketLiveness::closed);  // ENOTSOCK
  ::close(pipe_ends[0]);
  ::close(pipe_ends[1]);
  EXPECT_EQ(detail::peek_liveness(-1), detail::SocketLiveness::closed);
}

}  // namespace
}  // namespace strata
