// libFuzzer target for the snapshot reader: a manifest and a page come back
// from storage, maybe damaged or foreign. Beyond "never crash" (ASan, UBSan):
//  - a manifest that parses formats back to text that parses to the same
//    manifest (parse and format agree);
//  - a page that unpacks repacks, record by record, into bytes that unpack to
//    the same records.
#include <strata/ops/snapshot_format.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace strata;
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  if (const auto manifest = parse_manifest(input)) {
    const auto again = parse_manifest(format_manifest(*manifest));
    if (!again || !(*again == *manifest)) std::abort();
  }
  if (const auto records = unpack_page(input)) {
    std::string packed;
    for (const Record& r : *records) pack_record(packed, r.key, r.envelope);
    const auto again = unpack_page(packed);
    if (!again || again->size() != records->size()) std::abort();
    for (std::size_t i = 0; i < records->size(); ++i)
      if ((*again)[i].key != (*records)[i].key || (*again)[i].envelope != (*records)[i].envelope)
        std::abort();
  }
  return 0;
}
