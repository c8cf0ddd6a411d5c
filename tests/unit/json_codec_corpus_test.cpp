// The deterministic half of the codec's fuzzing: a fixed-seed stream of
// mutations (flips, JSON-significant bytes, cuts, duplications, deep
// nesting) of valid encodings, each decoded under every policy. It runs in
// every build, the ASan+UBSan one included; tests/fuzz/json_codec_fuzz.cpp is
// the coverage-guided half.
#include "fuzz/json_codec_mutations.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace strata {
namespace {

std::vector<std::string> seeds() {
  std::vector<std::string> out(3);
  EXPECT_FALSE(JsonCodec<test_types::Position>::encode(test_types::sample_position(), out[0]));
  test_types::Nested nested{{{1, -2}, {}, {2147483647}}, test_types::sample_position()};
  EXPECT_FALSE(JsonCodec<test_types::Nested>::encode(nested, out[1]));
  out[2] = R"({"grid":[[0]],"position":null,"x":{"y":[1.5e308,"\u00e9\ud83d\ude00",true]}})";
  return out;
}

std::string mutate(std::string s, std::mt19937_64& rng) {
  static constexpr std::string_view significant = "{}[]\",:\\-+.0123456789eEnulltruefalse \x00\xff";
  const auto pick = [&](std::size_t n) { return n == 0 ? 0 : static_cast<std::size_t>(rng() % n); };
  const std::size_t edits = 1 + pick(4);
  for (std::size_t e = 0; e < edits; ++e) {
    const std::size_t at = pick(s.size() + 1);
    switch (rng() % 6) {
      case 0:  // flip a bit
        if (!s.empty()) s[pick(s.size())] ^= static_cast<char>(1u << (rng() % 8));
        break;
      case 1:  // insert a byte JSON cares about
        s.insert(at, 1, significant[pick(significant.size())]);
        break;
      case 2:  // cut a range
        s.erase(at, pick(16));
        break;
      case 3:  // duplicate a range
        if (at < s.size()) s.insert(at, s.substr(at, pick(32)));
        break;
      case 4:  // truncate
        s.resize(at);
        break;
      default:  // deep nesting
        s.insert(at, std::string(pick(80), rng() % 2 ? '[' : '{'));
    }
  }
  return s;
}

TEST(JsonCodecCorpus, TwentyThousandMutationsDecodeOrFailByName) {
  const std::vector<std::string> corpus = seeds();
  std::mt19937_64 rng(20261121);
  std::size_t decoded = 0;
  for (int i = 0; i < 20'000; ++i) {
    const std::string input = mutate(corpus[rng() % corpus.size()], rng);
    fuzz::check_input(input);  // aborts, naming the promise, if one breaks
    decoded += static_cast<bool>(JsonCodec<test_types::Position>::decode(input));
  }
  // Some mutations keep the text valid (a changed digit, an extra space):
  // the stream exercises the success path too, not only rejection.
  EXPECT_GT(decoded, 100u);
  for (const std::string& seed : corpus) fuzz::check_input(seed);
}

}  // namespace
}  // namespace strata
