// S3Repository when its server really goes away: a batch whose connections
// are cut reports, object by object, what the server holds; with retries, a
// batch rides out a server that is cut off, killed and started again.
// (Why the network is cut before the kill: see tcp_cutter.hpp.)
#include "s3_server.hpp"
#include "tcp_cutter.hpp"

#include <strata/strata.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

namespace strata::testing {
namespace {

struct Batch {
  std::vector<std::string> keys;
  std::vector<std::string> envelopes;
  std::vector<Record> records;

  explicit Batch(std::size_t n) {
    keys.reserve(n);
    envelopes.reserve(n);
    records.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      keys.push_back("obj-" + std::to_string(i));
      envelopes.push_back(
          encode_envelope(keys.back(), {}, std::string(2048, static_cast<char>('a' + i % 26))));
    }
    for (std::size_t i = 0; i < n; ++i) records.push_back({keys[i], envelopes[i], std::nullopt});
  }
  std::vector<std::string_view> views() const { return {keys.begin(), keys.end()}; }
};

/// Waits until the repository has sent at least `puts` PUTs.
void wait_for_puts(const S3Repository& repo, std::uint64_t puts) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (repo.request_counts().put_object < puts && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

TEST(S3Fault, BatchCutOffMidwayReportsWhatTheServerHoldsObjectByObject) {
  S3rverProcess server;
  server.start();
  TcpCutter network(s3_fault_port());
  S3Options options = s3_test_options({}, network.port());
  options.retry.max_attempts = 1;  // no retries: the cut must show in the result
  options.concurrency = 8;
  S3Repository repo(options);
  const Batch batch(3000);

  auto pending = std::async(std::launch::async, [&] { return repo.store_many(batch.records); });
  wait_for_puts(repo, 600);
  network.cut();
  const BatchResult result = pending.get();

  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // writes in the server finish
  server.kill();
  server.start();  // same objects directory: what was stored is still there
  S3Options reader_options = options;
  reader_options.endpoint = "http://127.0.0.1:" + std::to_string(s3_fault_port());
  reader_options.retry = S3RetryPolicy{};
  S3Repository reader(reader_options);
  const LoadResult held = reader.load_many(batch.views());
  std::size_t stored = 0, refused = 0, unknown = 0;
  for (std::size_t i = 0; i < batch.keys.size(); ++i) {
    ASSERT_FALSE(held[i].failed()) << batch.keys[i] << ": " << held[i].error.message();
    if (result.stored(i)) {
      ++stored;
      ASSERT_TRUE(held[i].found()) << batch.keys[i] << " reported stored but absent";
      EXPECT_EQ(held[i].value, batch.envelopes[i]);
    } else if (result.error(i) == errc::backend_unavailable) {
      ++refused;
      EXPECT_TRUE(held[i].absent()) << batch.keys[i] << " reported not stored but present";
    } else {
      ASSERT_EQ(result.error(i), errc::outcome_unknown) << result.error(i).message();
      ++unknown;  // in flight at the kill: either outcome is honest
    }
  }
  EXPECT_GE(stored, 500u);
  EXPECT_GT(refused, 0u);
  EXPECT_LE(unknown, options.concurrency);  // at most the requests in flight
  EXPECT_EQ(stored + refused + unknown, batch.keys.size());
  std::printf("cut mid-batch: %zu stored, %zu refused, %zu outcome_unknown\n", stored, refused,
              unknown);
}

TEST(S3Fault, RetriesCarryABatchAcrossAServerRestart) {
  S3rverProcess server;
  server.start();
  TcpCutter network(s3_fault_port());
  S3Options options = s3_test_options({}, network.port());
  options.retry = S3RetryPolicy{.max_attempts = 100,
                                .base_delay = Millis(20),
                                .max_delay = Millis(250),
                                .budget = Millis(30'000)};
  S3Repository repo(options);
  const Batch batch(2000);

  auto pending = std::async(std::launch::async, [&] { return repo.store_many(batch.records); });
  wait_for_puts(repo, 400);
  network.cut();  // requests in flight fail, new connections are refused...
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  server.kill();  // ...while the server goes down and comes back
  server.start();
  network.restore();
  const BatchResult result = pending.get();

  EXPECT_TRUE(result.all_stored()) << result.failed_count() << " failed";
  EXPECT_GT(repo.request_counts().retries, 0u);  // the restart was felt
  const LoadResult held = repo.load_many(batch.views());
  for (std::size_t i = 0; i < batch.keys.size(); ++i) {
    ASSERT_TRUE(held[i].found()) << batch.keys[i];
    EXPECT_EQ(held[i].value, batch.envelopes[i]);
  }
}

}  // namespace
}  // namespace strata::testing
