// redis_hash_slot must be the cluster's own rule: CRC16/XMODEM, the first
// non-empty {hash tag}, modulo 16384. Checked against the specification's
// examples and against CLUSTER KEYSLOT of the real cluster for random keys.
#include "redis_topology.hpp"

#include <strata/backends/redis_slot.hpp>

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace strata::testing {
namespace {

TEST(RedisSlot, Crc16IsXmodem) {
  EXPECT_EQ(crc16_xmodem("123456789"), 0x31C3);
  EXPECT_EQ(crc16_xmodem(""), 0);
}

TEST(RedisSlot, HashTagsFollowTheSpecification) {
  EXPECT_EQ(redis_hash_tag("{user1000}.following"), "user1000");
  EXPECT_EQ(redis_hash_slot("{user1000}.following"), redis_hash_slot("{user1000}.followers"));
  EXPECT_EQ(redis_hash_tag("foo{}{bar}"), "foo{}{bar}");  // the first braces are empty
  EXPECT_EQ(redis_hash_tag("foo{{bar}}zap"), "{bar");
  EXPECT_EQ(redis_hash_tag("foo{bar}{zap}"), "bar");
  EXPECT_EQ(redis_hash_tag("no-closing{brace"), "no-closing{brace");
  EXPECT_EQ(redis_hash_tag("}{x}"), "x");
}

TEST(RedisSlot, MatchesClusterKeyslotOnTheServer) {
  std::mt19937 rng(2026);
  for (int i = 0; i < 2000; ++i) {
    std::string key(1 + rng() % 40, ' ');
    for (char& ch : key) ch = static_cast<char>(0x21 + rng() % 94);  // strata's key alphabet
    const detail::RedisReplyPtr slot = redis_at(cluster_first_port(), {"CLUSTER", "KEYSLOT", key});
    ASSERT_TRUE(slot && slot->type == REDIS_REPLY_INTEGER)
        << "no cluster on 127.0.0.1:" << cluster_first_port();
    ASSERT_EQ(slot->integer, redis_hash_slot(key)) << key;
  }
}

}  // namespace
}  // namespace strata::testing
