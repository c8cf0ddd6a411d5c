#pragma once
/// \file
/// What the corpus test and the libFuzzer target both do with one input:
/// decode it as every test type under both unknown-member policies, and check
/// the codec's promises — no crash or sanitizer report, an error that names a
/// path from "$", and a decoded value that encodes and decodes again.

#include "support/codec_types.hpp"

#include <cstdlib>
#include <string>
#include <string_view>

namespace strata::fuzz {

[[noreturn]] inline void broken(const char* what) {
  std::fprintf(stderr, "json codec promise broken: %s\n", what);
  std::abort();
}

template <class Codec>
void check_one(std::string_view input) {
  const auto decoded = Codec::decode(input);
  if (!decoded) {
    const CodecError& error = decoded.error();
    if (error.path.empty() || error.path[0] != '$' || error.message.empty())
      broken("an error without a path or message");
    return;
  }
  std::string again;
  if (Codec::encode(*decoded, again)) broken("a decoded value that does not encode");
  if (!Codec::decode(again)) broken("an encoded value that does not decode");
}

inline void check_input(std::string_view input) {
  check_one<JsonCodec<test_types::Position>>(input);
  check_one<JsonCodec<test_types::Position, UnknownMembers::reject>>(input);
  check_one<JsonCodec<test_types::Nested>>(input);
}

}  // namespace strata::fuzz
