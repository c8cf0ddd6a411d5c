#pragma once
/// \file
/// The laws of TieredStore (DESIGN.md, "Semantics that tests must pin"), one
/// test per law, as a GoogleTest type-parameterised suite over a stack
/// (strata/testing/law_stack.hpp): a downstream Repository or CachePolicy
/// answers to the same laws as strata's own, without a copy of them.
///
///     #include <strata/testing/store_laws.hpp>
///     STRATA_STORE_LAWS(Mine, MyBackends);  // at namespace scope, in one file of the test binary
///
/// The laws break the stack's tiers through FaultInjecting, move time with a
/// ManualClock, and route "hot:..." to HOT, "cold:..." to COLD, the rest to WARM.

#include <strata/strata.hpp>

#include <strata/testing/instantiate.hpp>
#include <strata/testing/law_stack.hpp>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace strata::testing {

/// The store laws' fixture: the LawStore of `Backends` on a manual clock.
template <class Backends>
class StoreLaws : public ::testing::Test {
 protected:
  using Store = LawStore<Backends>;  ///< the stack's store type

  /// The envelope a tier holds for `key`, read around the store and its cache.
  template <Tier T>
  std::optional<std::string> raw(std::string_view key) {
    LoadResult loaded =
        store_.template tier<T>().load_many(std::span<const std::string_view>(&key, 1));
    if (!loaded[0].found()) return std::nullopt;
    return loaded[0].value;
  }
  /// Writes bytes straight into a tier, as a damaged disk or a foreign writer would.
  template <Tier T>
  void put_raw(std::string_view key, std::string_view bytes) {
    const Record record{key, bytes, std::nullopt};
    ASSERT_TRUE(
        store_.template tier<T>().store_many(std::span<const Record>(&record, 1)).all_stored());
  }
  /// What the store's cache holds for `key` now.
  std::optional<CachedValue> cached(std::string_view key) {
    return store_.cache().find(key, clock_.now());
  }

  ManualClock clock_;  ///< the stack's clock
  /// The store under test.
  Store store_ = make_law_store<Backends>(clock_.clock());
};

TYPED_TEST_SUITE_P(StoreLaws);

TYPED_TEST_P(StoreLaws, PartialFailureCachesOnlyStoredKeys) {
  auto& warm = this->store_.template tier<Tier::warm>();
  warm.fail_keys({"w2"});
  const std::vector<Item> items{{"hot:1", "h1"}, {"w1", "v1"}, {"w2", "v2"}, {"cold:1", "c1"}};
  const BatchResult result = this->store_.batch_set(items);

  constexpr bool warm_atomic = std::remove_reference_t<decltype(warm)>::atomic_batches;
  EXPECT_TRUE(result.stored(0));
  EXPECT_EQ(result.stored(1), !warm_atomic);  // an atomic tier fails the whole batch
  EXPECT_FALSE(result.stored(2));
  EXPECT_TRUE(result.stored(3));
  EXPECT_EQ(result.error(2), errc::backend_unavailable);

  warm.heal();
  for (std::size_t i = 0; i < items.size(); ++i) {
    const auto in_cache = this->cached(items[i].key);
    EXPECT_EQ(in_cache.has_value(), result.stored(i)) << items[i].key;
    if (in_cache) {
      EXPECT_EQ(in_cache->value, items[i].value);
    }
    // Storage agrees with the result: what was not stored is not there.
    const Lookup stored = this->store_.get(items[i].key);
    EXPECT_EQ(stored.found(), result.stored(i)) << items[i].key;
  }
  std::set<std::string, std::less<>> expected{"hot:1", "cold:1"};
  if (!warm_atomic) expected.insert("w1");
  EXPECT_EQ(result.stored_keys(), expected);
}

TYPED_TEST_P(StoreLaws, BatchResultReportsEachFailedPositionWithItsError) {
  this->store_.template tier<Tier::cold>().fail_keys({"cold:slow"}, errc::timeout);
  const std::string big(this->store_.options().max_value_bytes + 1, 'x');
  const std::vector<Item> items{{"ok:0", "a"}, {"bad key", "b"},   {"ok:2", "c"},
                                {"ok:3", big}, {"cold:slow", "d"}, {"ok:5", "e", Millis{-1}},
                                {"hot:6", "f"}};
  const BatchResult result = this->store_.batch_set(items);

  EXPECT_EQ(result.size(), items.size());
  EXPECT_EQ(result.stored_count(), 3u);
  EXPECT_EQ(result.failed_count(), 4u);
  EXPECT_EQ(result.error(1), errc::invalid_key);
  EXPECT_EQ(result.error(3), errc::value_too_large);
  EXPECT_EQ(result.error(4), errc::timeout);
  EXPECT_EQ(result.error(5), errc::invalid_ttl);
  for (std::size_t i : {0u, 2u, 6u}) EXPECT_FALSE(result.error(i)) << i;

  std::vector<std::size_t> failed;
  for (const Failure& f : result.failures()) {
    failed.push_back(f.index);
    EXPECT_EQ(f.key, items[f.index].key);
    EXPECT_EQ(f.error, result.error(f.index));
    EXPECT_FALSE(f.error.message().empty());
  }
  EXPECT_EQ(failed, (std::vector<std::size_t>{1, 3, 4, 5}));
}

TYPED_TEST_P(StoreLaws, DeleteInvalidatesCacheEvenWhenBackendFails) {
  ASSERT_FALSE(this->store_.set("w:doomed", "v"));
  ASSERT_FALSE(this->store_.set("hot:doomed", "h"));
  ASSERT_TRUE(this->cached("w:doomed"));

  this->store_.template tier<Tier::warm>().set_unavailable(true);
  const DeleteResult deleted = this->store_.batch_delete({"w:doomed", "hot:doomed"});
  EXPECT_FALSE(deleted.ok());
  EXPECT_EQ(deleted.errors[index_of(Tier::warm)], errc::backend_unavailable);
  EXPECT_EQ(deleted.erased_by_tier[index_of(Tier::hot)], 1u);
  EXPECT_FALSE(this->cached("w:doomed"));
  EXPECT_FALSE(this->cached("hot:doomed"));

  // The failed tier still holds the record, and a read says so rather than
  // serving a cached copy or claiming it is gone.
  this->store_.template tier<Tier::warm>().set_unavailable(false);
  EXPECT_EQ(this->store_.get("w:doomed").value, "v");
  EXPECT_TRUE(this->store_.get("hot:doomed").absent());
}

TYPED_TEST_P(StoreLaws, SingleAndBatchPathsStoreIdenticalBytes) {
  auto twin = make_law_store<TypeParam>(this->clock_.clock());
  const std::vector<Item> items{{"hot:a", "alpha", Millis{5000}},
                                {"w:b", "beta"},
                                {"cold:c", "gamma", Millis{10}},
                                {"w:d", std::string_view("\0\x01\xff", 3)}};

  for (const Item& item : items) ASSERT_FALSE(this->store_.set(item.key, item.value, item.ttl));
  ASSERT_TRUE(twin.batch_set(items).all_stored());  // N sequential sets vs one batch of N

  const Item one{"w:single", "one", Millis{70}};
  ASSERT_FALSE(this->store_.set(one.key, one.value, one.ttl));
  ASSERT_TRUE(twin.batch_set({one}).all_stored());  // set(k) vs batch_set({k})

  for (std::string_view key : {"hot:a", "w:b", "cold:c", "w:d", "w:single"}) {
    for (Tier tier : all_tiers) {
      const auto load = [&](auto& store) -> std::optional<std::string> {
        LoadResult r;
        if (tier == Tier::hot) r = store.template tier<Tier::hot>().load_many(std::span(&key, 1));
        if (tier == Tier::warm) r = store.template tier<Tier::warm>().load_many(std::span(&key, 1));
        if (tier == Tier::cold) r = store.template tier<Tier::cold>().load_many(std::span(&key, 1));
        return r[0].found() ? std::optional<std::string>(r[0].value) : std::nullopt;
      };
      EXPECT_EQ(load(this->store_), load(twin)) << key << " in " << to_string(tier);
    }
    EXPECT_EQ(this->cached(key), twin.cache().find(key, this->clock_.now())) << key;
    const Lookup single = this->store_.get(key);
    const LoadResult batch = twin.batch_get({key});
    EXPECT_EQ(single.status, batch[0].status) << key;
    EXPECT_EQ(single.value, batch[0].value) << key;
  }

  // TTL is the same on both paths: both copies expire together.
  this->clock_.advance(Millis{70});
  EXPECT_TRUE(this->store_.get("w:single").absent());
  EXPECT_TRUE(twin.get("w:single").absent());
  EXPECT_TRUE(this->store_.get("w:b").found());

  // erase(k) and batch_delete({k}) leave the same state.
  EXPECT_EQ(this->store_.erase("w:b").erased, twin.batch_delete({"w:b"}).erased);
  EXPECT_EQ(this->cached("w:b"), twin.cache().find("w:b", this->clock_.now()));
  EXPECT_EQ(this->template raw<Tier::warm>("w:b"), std::nullopt);
}

TYPED_TEST_P(StoreLaws, ExpiredRecordIsNeverReturned) {
  const std::vector<Item> items{
      {"hot:t", "h", Millis{1000}}, {"w:t", "w", Millis{1000}}, {"cold:t", "c", Millis{1000}}};
  ASSERT_TRUE(this->store_.batch_set(items).all_stored());
  this->clock_.advance(Millis{999});
  for (const Item& item : items) EXPECT_TRUE(this->store_.get(item.key).found()) << item.key;

  this->clock_.advance(Millis{1});  // expiry is exclusive: gone at exactly t
  for (const Item& item : items) {
    EXPECT_TRUE(this->store_.get(item.key).absent()) << item.key;  // cache path
    EXPECT_FALSE(this->cached(item.key)) << item.key;
  }
  this->store_.cache().clear();
  const LoadResult batch = this->store_.batch_get({"hot:t", "w:t", "cold:t"});  // storage path
  for (const Lookup& lookup : batch) EXPECT_TRUE(lookup.absent());

  // A tier that does not itself expire the record (it was written without the
  // native expiry) still never yields it: the envelope's expiry is checked.
  const EnvelopeMeta stale{this->clock_.now() - Millis{10}, this->clock_.now() - Millis{10},
                           this->clock_.now() - Millis{1}, 0};
  const std::string expired = encode_envelope("w:foreign", stale, "stale");
  this->template put_raw<Tier::warm>("w:foreign", expired);
  EXPECT_TRUE(this->store_.get("w:foreign").absent());
  EXPECT_FALSE(this->cached("w:foreign"));

  // Nor does the fallback path: a lower tier's expired copy is absent too.
  auto fallback = make_law_store<TypeParam>(this->clock_.clock(),
                                            StoreOptions{.read_fallback = ReadFallback::on_miss});
  const std::string expired_fb = encode_envelope("hot:fb", stale, "stale");
  const Record record{"hot:fb", expired_fb, std::nullopt};
  ASSERT_TRUE(fallback.template tier<Tier::cold>().store_many(std::span(&record, 1)).all_stored());
  EXPECT_TRUE(fallback.get("hot:fb").absent());
}

TYPED_TEST_P(StoreLaws, ChecksumMismatchIsAnErrorNotAValue) {
  ASSERT_FALSE(this->store_.set("w:sum", "precious value"));
  std::string envelope = *this->template raw<Tier::warm>("w:sum");
  envelope.back() ^= 0x20;  // one flipped bit in the value
  this->template put_raw<Tier::warm>("w:sum", envelope);
  this->store_.cache().clear();

  const Lookup lookup = this->store_.get("w:sum");
  EXPECT_TRUE(lookup.failed());
  EXPECT_EQ(lookup.error, errc::checksum_mismatch);
  EXPECT_TRUE(lookup.value.empty());
  EXPECT_FALSE(this->cached("w:sum"));
  EXPECT_EQ(this->store_.stats()[Tier::warm].checksum_errors, 1u);

  // Truncated bytes are a corrupt record, not a crash or a short value.
  this->template put_raw<Tier::warm>("w:cut", envelope.substr(0, 20));
  EXPECT_EQ(this->store_.get("w:cut").error, errc::corrupt_record);
  this->template put_raw<Tier::warm>("w:junk", "not an envelope at all, but long enough to parse");
  EXPECT_EQ(this->store_.get("w:junk").error, errc::corrupt_record);
}

TYPED_TEST_P(StoreLaws, InvalidKeysFailAloneTheRestProceed) {
  ASSERT_FALSE(this->store_.set("w:kept", "old"));
  const std::string too_long(max_key_bytes + 1, 'k');
  const std::string longest(max_key_bytes, 'k');
  const std::vector<Item> items{{"", "e"},        {"has space", "s"},     {too_long, "l"},
                                {"ctl\x01", "c"}, {"utf8-\xc3\xa9", "u"}, {"w:kept", "new"},
                                {longest, "max"}, {"hot:fine", "f"}};
  const BatchResult result = this->store_.batch_set(items);
  for (std::size_t i = 0; i < 5; ++i) EXPECT_EQ(result.error(i), errc::invalid_key) << i;
  for (std::size_t i = 5; i < items.size(); ++i) EXPECT_TRUE(result.stored(i)) << i;
  EXPECT_EQ(this->store_.get("w:kept").value, "new");
  EXPECT_EQ(this->store_.get(longest).value, "max");

  const LoadResult read = this->store_.batch_get({"hot:fine", "bad key", "w:kept"});
  EXPECT_EQ(read[0].value, "f");
  EXPECT_EQ(read[1].error, errc::invalid_key);
  EXPECT_EQ(read[2].value, "new");

  // A delete reports its invalid keys by position, like set and get.
  const DeleteResult deleted = this->store_.batch_delete({"bad key", "hot:fine", ""});
  EXPECT_FALSE(deleted.ok());
  EXPECT_EQ(deleted.error(), errc::invalid_key);
  EXPECT_EQ(deleted.invalid_keys, (std::vector<std::size_t>{0, 2}));
  EXPECT_EQ(deleted.erased, 1u);
  EXPECT_EQ(this->store_.get("w:kept").value, "new");  // nothing else was touched
  const DeleteResult empty = this->store_.erase("");
  EXPECT_EQ(empty.error(), errc::invalid_key);
  EXPECT_EQ(empty.invalid_keys, (std::vector<std::size_t>{0}));
  EXPECT_TRUE(this->store_.erase("w:kept").ok());
}

TYPED_TEST_P(StoreLaws, BatchCallsEachTierOnce) {
  auto& hot = this->store_.template tier<Tier::hot>();
  auto& warm = this->store_.template tier<Tier::warm>();
  auto& cold = this->store_.template tier<Tier::cold>();
  for (std::size_t size : {1u, 100u, 10'000u}) {
    std::vector<std::string> keys;
    keys.reserve(size);
    for (std::size_t i = 0; i < size; ++i)
      keys.push_back((i % 3 == 0 ? "hot:" : i % 3 == 1 ? "w:" : "cold:") + std::to_string(i));
    std::vector<std::string> values;
    values.reserve(size);
    for (const auto& key : keys) values.push_back("v" + key);
    std::vector<Item> items;
    for (std::size_t i = 0; i < size; ++i) items.push_back({keys[i], values[i]});
    const std::size_t expect_warm = size > 1, expect_cold = size > 2;

    hot.reset_counts(), warm.reset_counts(), cold.reset_counts();
    ASSERT_TRUE(this->store_.batch_set(items).all_stored());
    EXPECT_EQ(hot.store_calls(), 1u) << size;
    EXPECT_EQ(warm.store_calls(), expect_warm) << size;
    EXPECT_EQ(cold.store_calls(), expect_cold) << size;

    this->store_.cache().clear();
    const LoadResult read = this->store_.batch_get(keys);
    EXPECT_EQ(read.found_count(), size);
    EXPECT_EQ(hot.load_calls(), 1u) << size;
    EXPECT_EQ(warm.load_calls(), expect_warm) << size;
    EXPECT_EQ(cold.load_calls(), expect_cold) << size;

    const DeleteResult deleted = this->store_.batch_delete(keys);
    EXPECT_EQ(deleted.erased, size);
    EXPECT_EQ(hot.erase_calls(), 1u);  // delete visits every tier, once
    EXPECT_EQ(warm.erase_calls(), 1u);
    EXPECT_EQ(cold.erase_calls(), 1u);
  }
}

TYPED_TEST_P(StoreLaws, ConcurrentBatchesStayCoherent) {
  constexpr int threads = 4;
  constexpr int episodes = 8;
  constexpr int rounds = 60;
  // Few keys, so that batches overlap; reply latency, so that they interleave.
  std::vector<std::string> keys;
  keys.reserve(6);
  for (int i = 0; i < 6; ++i)
    keys.push_back((i % 3 == 0 ? "hot:" : i % 3 == 1 ? "w:" : "cold:") + std::to_string(i));
  this->store_.template tier<Tier::hot>().set_latency(std::chrono::microseconds(200));
  this->store_.template tier<Tier::warm>().set_latency(std::chrono::microseconds(300));
  this->store_.template tier<Tier::cold>().set_latency(std::chrono::microseconds(100));

  std::atomic<int> torn{0};
  std::mutex first_torn_mutex;
  std::string first_torn;
  for (int episode = 0; episode < episodes; ++episode) {
    std::vector<std::thread> workers;
    workers.reserve(threads);
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&, t] {
        std::mt19937 rng(static_cast<unsigned>(episode * threads + t) * 7919u + 1u);
        std::vector<std::string> values;
        std::vector<Item> items;
        std::vector<std::string_view> some;
        for (int round = 0; round < rounds; ++round) {
          some.clear();
          for (const auto& key : keys)
            if (rng() % 2 == 0) some.push_back(key);
          switch (rng() % 3) {
            case 0: {
              values.clear();
              items.clear();
              for (auto key : some)
                values.push_back(std::string(key) + "|" + std::to_string(t) + "|" +
                                 std::to_string(round));
              for (std::size_t i = 0; i < some.size(); ++i) items.push_back({some[i], values[i]});
              this->store_.batch_set(items);
              break;
            }
            case 1: {
              const LoadResult read = this->store_.batch_get(some);
              for (std::size_t i = 0; i < some.size(); ++i)
                if (read[i].failed() ||
                    (read[i].found() && !read[i].value.starts_with(std::string(some[i]) + "|"))) {
                  if (torn++ == 0) {  // the first one says why
                    const std::lock_guard lock(first_torn_mutex);
                    first_torn = std::string(some[i]) + ": " +
                                 (read[i].failed() ? read[i].error.message()
                                                   : "value '" + read[i].value + "'");
                  }
                }
              break;
            }
            default:
              this->store_.batch_delete(some);
          }
        }
      });
    }
    for (auto& worker : workers) worker.join();

    // cache ⊆ storage, value for value.
    for (const auto& key : keys) {
      const auto in_cache = this->cached(key);
      if (!in_cache) continue;
      this->store_.cache().erase(key);
      const Lookup in_storage = this->store_.get(key);
      ASSERT_TRUE(in_storage.found())
          << key << " is cached but not stored (episode " << episode << ")";
      ASSERT_EQ(in_cache->value, in_storage.value) << key << " (episode " << episode << ")";
    }
  }
  EXPECT_EQ(torn.load(), 0) << "first: " << first_torn;
}

TYPED_TEST_P(StoreLaws, CodecTagTravelsWithTheValueOnEveryPath) {
  const std::vector<Item> items{{"hot:json", "{}", Millis{0}, 1},
                                {"w:json", "{}", Millis{0}, 7},
                                {"cold:raw", "bytes", Millis{0}, 0},
                                {"w:bad-tag", "x", Millis{0}, 16},
                                {"hot:max-tag", "m", Millis{0}, 15}};
  const BatchResult result = this->store_.batch_set(items);
  EXPECT_EQ(result.error(3), errc::invalid_codec_tag);  // fails alone
  EXPECT_EQ(result.stored_count(), 4u);
  EXPECT_TRUE(this->store_.get("w:bad-tag").absent());

  const auto expect_tags = [&](const char* path) {
    for (const Item& item : items) {
      if (item.codec_tag > 15) continue;
      const Lookup got = this->store_.get(item.key);
      ASSERT_TRUE(got.found()) << path << " " << item.key;
      EXPECT_EQ(got.value, item.value) << path << " " << item.key;
      EXPECT_EQ(got.codec_tag, item.codec_tag) << path << " " << item.key;
    }
  };
  expect_tags("after the write");  // from the cache, where it populates
  this->store_.cache().clear();
  expect_tags("from the tiers");  // from the envelopes
  expect_tags("refilled cache");  // from the cache the reads filled

  // Copied verbatim (rehydrate's path), the tag is kept.
  const auto envelope = this->template raw<Tier::warm>("w:json");
  ASSERT_TRUE(envelope);
  const std::string_view copied = "w:json";
  this->store_.template tier<Tier::warm>().erase_many(std::span(&copied, 1));
  const Record record{"w:json", *envelope, std::nullopt};
  ASSERT_TRUE(this->store_.template store_records<Tier::warm>(std::span(&record, 1)).all_stored());
  EXPECT_EQ(this->store_.get("w:json").codec_tag, 7);
  // Under another key the same bytes are refused: the envelope binds its key.
  const Record moved{"w:copy", *envelope, std::nullopt};
  EXPECT_EQ(this->store_.template store_records<Tier::warm>(std::span(&moved, 1)).error(0),
            errc::checksum_mismatch);

  // The single-key path takes a tag too.
  EXPECT_FALSE(this->store_.set("w:single-tag", "{}", Millis{0}, 9));
  EXPECT_EQ(this->store_.set("w:single-bad", "{}", Millis{0}, 16), errc::invalid_codec_tag);
  this->store_.cache().clear();
  EXPECT_EQ(this->store_.get("w:single-tag").codec_tag, 9);
}

// ---- integrity at the edges (docs/adr/0013-integrity-at-the-edges.md) ------

TYPED_TEST_P(StoreLaws, EverySingleBitFlipIsAnErrorNeverAValueOrAbsent) {
  // Every bit of a record, header and value, with and without an expiry, in
  // every tier: the read fails with a named error; it never yields a value
  // (another expiry, tag or value) nor "absent" (a live record gone).
  const TimePoint now = this->clock_.now();
  const std::vector<EnvelopeMeta> metas{{now, now, now + Millis{3'600'000}, 3},
                                        {now, now, std::nullopt, 0}};
  const auto flip_all = [&]<Tier T>(std::string_view prefix) {
    std::vector<std::string> keys, envelopes;
    std::vector<std::optional<TimePoint>> expiry;
    for (std::size_t m = 0; m < metas.size(); ++m) {
      const std::string sample = encode_envelope("x", metas[m], "value");
      for (std::size_t bit = 0; bit < sample.size() * 8; ++bit) {
        keys.push_back(fmt::format("{}flip:{}:{}", prefix, m, bit));
        std::string bytes = encode_envelope(keys.back(), metas[m], "value");
        bytes[bit / 8] = static_cast<char>(bytes[bit / 8] ^ (1 << (bit % 8)));
        envelopes.push_back(std::move(bytes));
        expiry.push_back(metas[m].expires_at);
      }
    }
    std::vector<Record> records;
    for (std::size_t i = 0; i < keys.size(); ++i)
      records.push_back({keys[i], envelopes[i], expiry[i]});
    ASSERT_TRUE(this->store_.template tier<T>().store_many(records).all_stored()) << prefix;
    const LoadResult read = this->store_.batch_get(keys);
    for (std::size_t i = 0; i < keys.size(); ++i) {
      ASSERT_TRUE(read[i].failed()) << keys[i] << (read[i].found() ? " gave a value" : " absent");
      EXPECT_TRUE(read[i].error == errc::checksum_mismatch || read[i].error == errc::corrupt_record)
          << keys[i] << ": " << read[i].error.message();
      EXPECT_FALSE(this->cached(keys[i])) << keys[i];
    }
  };
  flip_all.template operator()<Tier::hot>("hot:");
  flip_all.template operator()<Tier::warm>("w:");
  flip_all.template operator()<Tier::cold>("cold:");
}

TYPED_TEST_P(StoreLaws, DuplicateKeysInABatchTheLastWriteWins) {
  // Small batches and large ones (a store may order a large batch's writes
  // another way), each tier's writes applied in reverse and shuffled.
  for (const std::size_t filler : {std::size_t{0}, std::size_t{600}})
    for (const ApplyOrder order : {ApplyOrder::reversed, ApplyOrder::shuffled}) {
      this->store_.template tier<Tier::hot>().set_apply_order(order);
      this->store_.template tier<Tier::warm>().set_apply_order(order);
      this->store_.template tier<Tier::cold>().set_apply_order(order);
      const std::string round =
          fmt::format("{}{}", order == ApplyOrder::reversed ? "r" : "s", filler);
      std::vector<Item> items;
      std::vector<std::string> keys, values, fillers;
      for (const char* prefix : {"hot:", "w:", "cold:"}) {
        keys.push_back(prefix + round + ":dup");
        keys.push_back(prefix + round + ":other");
        for (std::size_t i = 0; i < filler / 3; ++i)
          fillers.push_back(fmt::format("{}{}:fill{}", prefix, round, i));
      }
      values.reserve(64);
      // Each tier's key written five times, interleaved with other keys.
      for (int write = 0; write < 5; ++write)
        for (std::size_t k = 0; k < keys.size(); k += 2) {
          values.push_back(fmt::format("v{}", write));
          items.push_back({keys[k], values.back()});
          if (write == 2) items.push_back({keys[k + 1], "other"});
          if (write == 3)
            for (std::size_t f = k / 2; f < fillers.size(); f += 3)
              items.push_back({fillers[f], "f"});
        }
      const BatchResult result = this->store_.batch_set(items);
      EXPECT_TRUE(result.all_stored()) << fmt::format("{}", result);
      const auto expect_last = [&](const char* path) {
        for (std::size_t k = 0; k < keys.size(); k += 2) {
          EXPECT_EQ(this->store_.get(keys[k]).value, "v4") << path << " " << keys[k];
          EXPECT_EQ(this->store_.get(keys[k + 1]).value, "other") << path << " " << keys[k + 1];
        }
        for (const std::string& key : fillers)
          EXPECT_EQ(this->store_.get(key).value, "f") << path << " " << key;
      };
      expect_last("cache");
      this->store_.cache().clear();
      expect_last("storage");
    }

  // A failed last write fails every write of its key, with its error.
  this->store_.template tier<Tier::warm>().fail_keys({"w:dup-failed"}, errc::timeout);
  const BatchResult failed = this->store_.batch_set(
      {{"w:dup-failed", "a"}, {"hot:fine", "f"}, {"w:dup-failed", "b"}, {"bad key", "x"}});
  EXPECT_EQ(failed.error(0), errc::timeout);
  EXPECT_EQ(failed.error(2), errc::timeout);
  EXPECT_TRUE(failed.stored(1));
  EXPECT_EQ(failed.error(3), errc::invalid_key);
  this->store_.template tier<Tier::warm>().heal();
  // An invalid later write does not supersede a valid earlier one.
  const BatchResult mixed =
      this->store_.batch_set({{"w:dup-valid", "kept"}, {"w:dup-valid", "x", Millis{-1}}});
  EXPECT_TRUE(mixed.stored(0));
  EXPECT_EQ(mixed.error(1), errc::invalid_ttl);
  this->store_.cache().clear();
  EXPECT_EQ(this->store_.get("w:dup-valid").value, "kept");
}

TYPED_TEST_P(StoreLaws, TtlsAtTheEnvelopeBoundary) {
  const Millis longest = latest_expiry - this->clock_.now();
  for (const char* key : {"hot:ttl-edge", "w:ttl-edge", "cold:ttl-edge"}) {
    EXPECT_EQ(this->store_.set(key, "v", Millis::max()), errc::invalid_ttl) << key;
    EXPECT_EQ(this->store_.set(key, "v", longest + Millis{1}), errc::invalid_ttl) << key;
    EXPECT_TRUE(this->store_.get(key).absent()) << key;  // nothing was stored
    ASSERT_FALSE(this->store_.set(key, "v", longest)) << key;
    EXPECT_EQ(this->store_.get(key).value, "v") << key;
    this->store_.cache().clear();
    EXPECT_EQ(this->store_.get(key).value, "v") << key;  // from storage, not expired
  }
  const BatchResult batch = this->store_.batch_set({{"w:ttl-a", "a", Millis::max()},
                                                    {"w:ttl-b", "b", longest},
                                                    {"w:ttl-c", "c", Millis::min()}});
  EXPECT_EQ(batch.error(0), errc::invalid_ttl);
  EXPECT_TRUE(batch.stored(1));
  EXPECT_EQ(batch.error(2), errc::invalid_ttl);
}

TYPED_TEST_P(StoreLaws, AValueServedBecauseAnUpperTierFailedIsNeverCached) {
  auto store = make_law_store<TypeParam>(
      this->clock_.clock(), StoreOptions{.read_fallback = ReadFallback::on_miss_or_error});
  const TimePoint now = this->clock_.now();
  const auto put = [&]<Tier T>(std::string_view key, std::string_view value) {
    const std::string envelope = encode_envelope(key, {now, now, std::nullopt, 0}, value);
    const Record record{key, envelope, std::nullopt};
    ASSERT_TRUE(store.template tier<T>().store_many(std::span(&record, 1)).all_stored());
  };
  put.template operator()<Tier::cold>("hot:fallback", "old");
  put.template operator()<Tier::cold>("w:fallback", "old");

  store.template tier<Tier::hot>().set_unavailable(true);
  store.template tier<Tier::warm>().set_unavailable(true);
  EXPECT_EQ(store.get("hot:fallback").value, "old");  // served, as documented
  EXPECT_EQ(store.get("w:fallback").value, "old");
  EXPECT_FALSE(store.cache().find("hot:fallback", now));
  EXPECT_FALSE(store.cache().find("w:fallback", now));

  // The upper tiers come back holding newer values: reads answer them.
  store.template tier<Tier::hot>().set_unavailable(false);
  store.template tier<Tier::warm>().set_unavailable(false);
  put.template operator()<Tier::hot>("hot:fallback", "new");
  put.template operator()<Tier::warm>("w:fallback", "new");
  EXPECT_EQ(store.get("hot:fallback").value, "new");
  EXPECT_EQ(store.get("w:fallback").value, "new");
  EXPECT_EQ(store.cache().find("hot:fallback", now).value().value, "new");  // now cached
}

TYPED_TEST_P(StoreLaws, AWriteWithAnUnknownOutcomeHoldsCacheFillsUntilItSettles) {
  const auto late_landing = [&]<Tier T>(const std::string& key) {
    auto& tier = this->store_.template tier<T>();
    ASSERT_FALSE(this->store_.set(key, "v1"));
    tier.defer_writes(true);
    EXPECT_EQ(this->store_.set(key, "v2"), errc::outcome_unknown) << key;
    tier.defer_writes(false);

    // A read meanwhile answers what storage holds, but must not cache it ...
    EXPECT_EQ(this->store_.get(key).value, "v1") << key;
    EXPECT_FALSE(this->cached(key)) << key;
    // ... for the write lands after all, and a cached v1 would then be stale.
    ASSERT_TRUE(tier.land_deferred().all_stored()) << key;
    EXPECT_EQ(this->store_.get(key).value, "v2") << key;
    EXPECT_FALSE(this->cached(key)) << key;

    // Past the hold the write has settled, and reads fill the cache again.
    this->clock_.advance(this->store_.options().unknown_outcome_hold);
    EXPECT_EQ(this->store_.get(key).value, "v2") << key;
    EXPECT_EQ(this->cached(key).value().value, "v2") << key;
  };
  late_landing.template operator()<Tier::hot>("hot:late");
  late_landing.template operator()<Tier::warm>("w:late");
  late_landing.template operator()<Tier::cold>("cold:late");

  // A delete with an unknown outcome holds fills the same way.
  ASSERT_FALSE(this->store_.set("w:late-erase", "v"));
  this->store_.template tier<Tier::warm>().fail_next_calls(1, errc::outcome_unknown);
  EXPECT_EQ(this->store_.erase("w:late-erase").error(), errc::outcome_unknown);
  EXPECT_EQ(this->store_.get("w:late-erase").value, "v");
  EXPECT_FALSE(this->cached("w:late-erase"));
}

TYPED_TEST_P(StoreLaws, ARefreshReadBypassesAndRefreshesTheCache) {
  const TimePoint now = this->clock_.now();
  const auto refresh = [&]<Tier T>(const std::string& key) {
    ASSERT_FALSE(this->store_.set(key, "a"));
    // Another writer (another process, a write that landed late) changes storage.
    this->template put_raw<T>(key, encode_envelope(key, {now, now, std::nullopt, 0}, "b"));
    EXPECT_EQ(this->store_.get(key).value, "a") << key;  // the cache answers
    EXPECT_EQ(this->store_.get(key, ReadMode::refresh).value, "b") << key;
    EXPECT_EQ(this->cached(key).value().value, "b") << key;
    const std::string_view view = key;
    EXPECT_EQ(this->store_.batch_get(std::span(&view, 1), ReadMode::refresh)[0].value, "b") << key;
  };
  refresh.template operator()<Tier::hot>("hot:refresh");
  refresh.template operator()<Tier::warm>("w:refresh");
  refresh.template operator()<Tier::cold>("cold:refresh");
  // A key gone from storage leaves the cache too.
  ASSERT_FALSE(this->store_.set("w:refresh-gone", "x"));
  const std::string_view gone = "w:refresh-gone";
  this->store_.template tier<Tier::warm>().erase_many(std::span(&gone, 1));
  EXPECT_TRUE(this->store_.get(gone, ReadMode::refresh).absent());
  EXPECT_FALSE(this->cached(gone));
}

TYPED_TEST_P(StoreLaws, AResultReadIntoAgainHoldsOnlyTheNewAnswer) {
  // batch_get_into reuses the caller's LoadResult: whatever it held before,
  // each read leaves exactly that read's answer, whether one tier answered
  // the whole batch (written in place through load_many_into, where the
  // tier has it) or several tiers and the cache did.
  const std::string long_value(300, 'v');
  LoadResult reused;
  for (std::string_view prefix : {"hot:", "w:", "cold:"}) {
    const std::string a = std::string(prefix) + "into-a", b = std::string(prefix) + "into-b",
                      c = std::string(prefix) + "into-c";
    ASSERT_TRUE(this->store_.batch_set({{a, long_value}, {b, "beta", {}, 3}}).all_stored());
    const std::vector<std::string_view> both{a, b};
    this->store_.batch_get_into(both, reused, ReadMode::refresh);  // both from the tier
    ASSERT_EQ(reused.size(), 2u) << prefix;
    EXPECT_TRUE(reused[0].found() && reused[0].value == long_value) << prefix;
    EXPECT_TRUE(reused[1].found() && reused[1].value == "beta") << prefix;
    EXPECT_EQ(reused[1].codec_tag, 3) << prefix;

    // a erased, b rewritten shorter and untagged, c never stored: nothing of
    // the last answer shows through, from the tier or from the cache.
    this->store_.erase(a);
    ASSERT_FALSE(this->store_.set(b, "b2"));
    const std::vector<std::string_view> three{a, b, c};
    for (ReadMode mode : {ReadMode::refresh, ReadMode::cached}) {
      this->store_.batch_get_into(three, reused, mode);
      ASSERT_EQ(reused.size(), 3u) << prefix;
      EXPECT_TRUE(reused[0].absent() && reused[0].value.empty()) << prefix;
      EXPECT_TRUE(reused[1].found() && reused[1].value == "b2") << prefix;
      EXPECT_EQ(reused[1].codec_tag, 0) << prefix;
      EXPECT_TRUE(reused[2].absent() && reused[2].value.empty()) << prefix;
    }
  }

  // Keys across tiers, an invalid one and a failing one; then an empty batch.
  this->store_.template tier<Tier::warm>().fail_keys({"w:into-b"}, errc::timeout);
  const std::vector<std::string_view> mixed{"w:into-b", "hot:into-b", "bad key", "cold:into-b"};
  this->store_.batch_get_into(mixed, reused, ReadMode::refresh);
  ASSERT_EQ(reused.size(), 4u);
  EXPECT_TRUE(reused[0].failed() && reused[0].error == errc::timeout && reused[0].value.empty());
  EXPECT_TRUE(reused[1].found() && reused[1].value == "b2");
  EXPECT_TRUE(reused[2].failed() && reused[2].error == errc::invalid_key);
  EXPECT_TRUE(reused[3].found() && reused[3].value == "b2");
  this->store_.template tier<Tier::warm>().heal();
  this->store_.batch_get_into(std::span<const std::string_view>(), reused);
  EXPECT_EQ(reused.size(), 0u);
}

REGISTER_TYPED_TEST_SUITE_P(
    StoreLaws, PartialFailureCachesOnlyStoredKeys, BatchResultReportsEachFailedPositionWithItsError,
    DeleteInvalidatesCacheEvenWhenBackendFails, SingleAndBatchPathsStoreIdenticalBytes,
    ExpiredRecordIsNeverReturned, ChecksumMismatchIsAnErrorNotAValue,
    InvalidKeysFailAloneTheRestProceed, BatchCallsEachTierOnce, ConcurrentBatchesStayCoherent,
    CodecTagTravelsWithTheValueOnEveryPath, EverySingleBitFlipIsAnErrorNeverAValueOrAbsent,
    DuplicateKeysInABatchTheLastWriteWins, TtlsAtTheEnvelopeBoundary,
    AValueServedBecauseAnUpperTierFailedIsNeverCached,
    AWriteWithAnUnknownOutcomeHoldsCacheFillsUntilItSettles,
    ARefreshReadBypassesAndRefreshesTheCache, AResultReadIntoAgainHoldsOnlyTheNewAnswer);
// Including this header without instantiating the family is no error.
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(StoreLaws);

}  // namespace strata::testing

/// Instantiates every store law over each Backends type listed, under the
/// test-name prefix `prefix`. At namespace scope, once per prefix.
#define STRATA_STORE_LAWS(prefix, ...) STRATA_INSTANTIATE_LAWS(StoreLaws, prefix, __VA_ARGS__)
