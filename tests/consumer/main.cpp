// Built against an installed strata: composes a store and checks one batch
// round trip, exiting non-zero if anything is off. With CONSUMER_EMBEDDED it
// uses the embedded default (strata::sqlite) in a temporary directory. With
// CONSUMER_REDIS / CONSUMER_POSTGRES / CONSUMER_S3 / CONSUMER_JSON it also links the network
// backends and checks that a closed port is a clear error (no server is needed).
#include <strata/strata.hpp>
#ifdef CONSUMER_REDIS
#include <strata/backends/redis.hpp>
#include <strata/backends/redis_bus.hpp>
#endif
#ifdef CONSUMER_POSTGRES
#include <strata/backends/postgres.hpp>
#endif
#ifdef CONSUMER_S3
#include <strata/backends/s3.hpp>
#endif
#ifdef CONSUMER_JSON
#include <strata/codec/json_codec.hpp>

#include <boost/hana/define_struct.hpp>

struct ConsumerLeg {
  BOOST_HANA_DEFINE_STRUCT(ConsumerLeg, (std::string, symbol), (long, qty));
};
#endif
#ifdef CONSUMER_EMBEDDED
#include <strata/embedded.hpp>

#include <unistd.h>
#endif

#include <fmt/core.h>

template <class Store>
bool round_trip(Store& store) {
  const strata::BatchResult written = store.batch_set({{"a", "1"}, {"cold:b", "2"}});
  const strata::LoadResult read = store.batch_get({"a", "cold:b"});
  return written.all_stored() && read[0].value == "1" && read[1].value == "2" &&
         store.batch_delete({"a", "cold:b"}).erased == 2;
}

int main() {
#ifdef CONSUMER_EMBEDDED
  const auto dir =
      std::filesystem::temp_directory_path() / fmt::format("strata-consumer-{}", ::getpid());
  bool ok;
  {
    auto store = strata::open_embedded_store(dir);
    ok = round_trip(store);
  }
  std::filesystem::remove_all(dir);
  const char* what = "embedded";
#else
  using Store = strata::TieredStore<strata::LruCache<>, strata::FixedRouter<strata::Tier::hot>,
                                    strata::MemoryRepository, strata::NoTier, strata::NoTier>;
  Store store;
  bool ok = round_trip(store);
  const char* what = "core";
#endif
#ifdef CONSUMER_REDIS
  strata::RedisRepository redis(strata::RedisOptions{.port = 1});  // nothing listens on port 1
  ok = ok && redis.check_connection() == strata::errc::backend_unavailable;
  const strata::RedisBus bus(strata::RedisBusOptions{});  // not attached: connects nothing
  ok = ok && !bus.staleness_bound(strata::Tier::hot) && bus.staleness_bound(strata::Tier::warm);
  fmt::print("redis component: {}\n", ok ? "ok" : "FAILED");
#endif
#ifdef CONSUMER_POSTGRES
  try {
    strata::PostgresRepository postgres(
        strata::PostgresOptions{.conninfo = "host=127.0.0.1 port=1 dbname=strata"});
    ok = false;
  } catch (const strata::Error& e) {
    ok = ok && std::string_view(e.what()).find("backend unavailable") != std::string_view::npos;
  }
  fmt::print("postgres component: {}\n", ok ? "ok" : "FAILED");
#endif
#ifdef CONSUMER_S3
  {
    strata::S3Options options;
    options.endpoint = "http://127.0.0.1:1";                // nothing listens on port 1
    options.addressing = strata::S3Addressing::path_style;  // an IP address has no subdomains
    options.bucket = "strata";
    options.credentials = strata::S3Credentials{"id", "secret", ""};
    options.retry.max_attempts = 1;
    strata::S3Repository s3(options);
    ok = ok && s3.scan("", {}, 1).error == strata::errc::backend_unavailable;
  }
  fmt::print("s3 component: {}\n", ok ? "ok" : "FAILED");
#endif
#ifdef CONSUMER_JSON
  {
    std::string bytes;
    ok = ok && !strata::JsonCodec<ConsumerLeg>::encode(ConsumerLeg{"AAPL", 100}, bytes);
    const auto back = strata::JsonCodec<ConsumerLeg>::decode(bytes);
    ok = ok && back && back->qty == 100 &&
         !strata::JsonCodec<ConsumerLeg>::decode(R"({"symbol":1,"qty":2})");
  }
  fmt::print("json component: {}\n", ok ? "ok" : "FAILED");
#endif
  fmt::print("strata {}.{}.{} {} consumer: {}\n", STRATA_VERSION_MAJOR, STRATA_VERSION_MINOR,
             STRATA_VERSION_PATCH, what, ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}
