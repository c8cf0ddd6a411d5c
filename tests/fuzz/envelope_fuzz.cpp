// libFuzzer target for the envelope decoder: bytes a backend hands back are
// not bytes strata wrote. The first input byte picks how many of the next
// bytes are the key; the rest is the stored record. Beyond "never crash,
// never read outside the input" (ASan), the decoder's promises:
//  - decode, peek and expired agree: a record that decodes has a header that
//    peeks clean, with the same expiry;
//  - a record that decodes as version 2 is exactly what encode_envelope
//    writes for its key, metadata and value (there is one encoding);
//  - a failure is corrupt_record or checksum_mismatch, nothing else.
#include <strata/core/envelope.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace strata;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  if (input.empty()) return 0;
  const std::size_t key_size =
      std::min<std::size_t>(static_cast<unsigned char>(input[0]) % 64, input.size() - 1);
  const std::string_view key = input.substr(1, key_size);
  const std::string_view bytes = input.substr(1 + key_size);

  const DecodedEnvelope decoded = decode_envelope(key, bytes);
  const EnvelopeHeader header = peek_envelope_header(key, bytes);
  (void)envelope_expired(key, bytes, TimePoint{});
  if (!decoded) {
    if (decoded.error != errc::corrupt_record && decoded.error != errc::checksum_mismatch)
      std::abort();
    return 0;
  }
  if (header.error || header.expires_at != decoded.envelope.meta.expires_at) std::abort();
  if (decoded.envelope.version == envelope_version &&
      encode_envelope(key, decoded.envelope.meta, decoded.envelope.value) != bytes)
    std::abort();
  return 0;
}
