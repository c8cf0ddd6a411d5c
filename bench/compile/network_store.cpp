// Compile-time probe (scripts/bench.sh compile): one TieredStore over the
// three network backends (Redis HOT, PostgreSQL WARM, S3 COLD), used once,
// including the headers it uses (see memory_store.cpp; with
// -DSTRATA_PROBE_UMBRELLA, strata/strata.hpp for the core).
#include <strata/backends/postgres.hpp>
#include <strata/backends/redis.hpp>
#include <strata/backends/s3.hpp>
#ifdef STRATA_PROBE_UMBRELLA
#include <strata/strata.hpp>
#else
#include <strata/cache/lru_cache.hpp>
#include <strata/routing/prefix_router.hpp>
#include <strata/tiered_store.hpp>
#endif

using Router = strata::PrefixRouter<strata::Route<"hot:", strata::Tier::hot>,
                                    strata::Route<"cold:", strata::Tier::cold>,
                                    strata::Fallback<strata::Tier::warm>>;
using Store = strata::TieredStore<strata::LruCache<>, Router, strata::RedisRepository,
                                  strata::PostgresRepository, strata::S3Repository>;

int main() {
  Store store(strata::StoreOptions{}, strata::RedisRepository(strata::RedisOptions{}),
              strata::PostgresRepository(strata::PostgresOptions{}),
              strata::S3Repository(strata::S3Options{}));
  store.set("hot:k", "v");
  return store.get("hot:k").found() ? 0 : 1;
}
