// libFuzzer target for the S3 answers strata parses: ListObjectsV2's
// ListBucketResult, DeleteObjects' DeleteResult and an error document. The
// server is not strata's: any bytes must give an answer or "not one", never a
// crash (ASan, UBSan); a truncated listing always says where to go on, and no
// name is longer than the answer that carried it (XML entities only shrink).
#include <strata/backends/s3_xml.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace strata::detail::s3;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  if (const auto listed = parse_list_result(input)) {
    if (listed->truncated && listed->next_token.empty()) std::abort();
    for (const auto& name : listed->names)
      if (name.size() > input.size()) std::abort();
  }
  if (const auto deleted = parse_delete_result(input)) (void)deleted->size();
  (void)error_code_of(input);
  return 0;
}
