// libFuzzer target for JsonCodec::decode (scripts/test.sh builds it with clang
// -fsanitize=fuzzer,address,undefined and runs it for a bounded time).
#include "json_codec_mutations.hpp"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  strata::fuzz::check_input(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
