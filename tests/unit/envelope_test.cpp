#include <strata/core/envelope.hpp>

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace strata {
namespace {

const EnvelopeMeta meta{TimePoint{Millis{1000}}, TimePoint{Millis{2000}}, TimePoint{Millis{3000}},
                        5};

TEST(Envelope, RoundTripsEveryField) {
  const std::string value("bytes\0with\xffnul", 14);
  const std::string bytes = encode_envelope(meta, value);
  ASSERT_EQ(bytes.size(), envelope_header_bytes + value.size());
  const DecodedEnvelope decoded = decode_envelope(bytes);
  ASSERT_TRUE(decoded) << decoded.error.message();
  EXPECT_EQ(decoded.envelope.value, value);
  EXPECT_EQ(decoded.envelope.meta.created, meta.created);
  EXPECT_EQ(decoded.envelope.meta.updated, meta.updated);
  EXPECT_EQ(decoded.envelope.meta.expires_at, meta.expires_at);
  EXPECT_EQ(decoded.envelope.meta.codec_tag, 5);
  EXPECT_EQ(decoded.envelope.checksum, value_checksum(value));
}

TEST(Envelope, NoExpiryAndEmptyValueRoundTrip) {
  const DecodedEnvelope decoded = decode_envelope(encode_envelope({}, ""));
  ASSERT_TRUE(decoded);
  EXPECT_FALSE(decoded.envelope.meta.expires_at.has_value());
  EXPECT_TRUE(decoded.envelope.value.empty());
}

TEST(Envelope, LayoutIsLittleEndianAndVersioned) {
  const std::string bytes = encode_envelope(meta, "v");
  EXPECT_EQ(bytes.substr(0, 4), "STRA");
  EXPECT_EQ(bytes[4], 1);                                        // version
  EXPECT_EQ(bytes[5], 0x51);                                     // codec tag 5 << 4 | has-expiry
  EXPECT_EQ(static_cast<unsigned char>(bytes[8]), 1000 & 0xFF);  // created, low byte first
  EXPECT_EQ(static_cast<unsigned char>(bytes[9]), 1000 >> 8);
  EXPECT_EQ(bytes[40], 1);  // value length
}

TEST(Envelope, EveryTruncationIsCorruptNeverUndefined) {
  const std::string bytes = encode_envelope(meta, "a value of some length");
  for (std::size_t n = 0; n < bytes.size(); ++n)
    EXPECT_EQ(decode_envelope(std::string_view(bytes).substr(0, n)).error, errc::corrupt_record)
        << n;
}

TEST(Envelope, ForeignHeadersAreCorrupt) {
  const std::string good = encode_envelope(meta, "v");
  auto with = [&](std::size_t at, char c) {
    std::string bad = good;
    bad[at] = c;
    return decode_envelope(bad).error;
  };
  EXPECT_EQ(with(0, 'X'), errc::corrupt_record);   // magic
  EXPECT_EQ(with(4, 2), errc::corrupt_record);     // a future version
  EXPECT_EQ(with(5, 0x03), errc::corrupt_record);  // a reserved flag bit
  EXPECT_EQ(with(6, 64), errc::corrupt_record);    // an unknown header size
  EXPECT_EQ(with(40, 9), errc::corrupt_record);    // length disagrees with the bytes
  EXPECT_EQ(decode_envelope(good + "x").error, errc::corrupt_record);
}

TEST(Envelope, FlippedValueBitIsChecksumMismatch) {
  std::string bytes = encode_envelope(meta, "value");
  bytes.back() ^= 1;
  EXPECT_EQ(decode_envelope(bytes).error, errc::checksum_mismatch);
}

TEST(Envelope, RandomBytesNeverCrash) {
  std::mt19937_64 rng(42);
  const std::string good = encode_envelope(meta, "some value bytes");
  for (int i = 0; i < 20'000; ++i) {
    std::string bytes = good;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) bytes[rng() % bytes.size()] = static_cast<char>(rng());
    if (rng() % 4 == 0) bytes.resize(rng() % (bytes.size() + 8));
    const DecodedEnvelope decoded = decode_envelope(bytes);
    if (decoded) {
      EXPECT_EQ(decoded.envelope.value.size() + envelope_header_bytes, bytes.size());
      EXPECT_EQ(value_checksum(decoded.envelope.value), decoded.envelope.checksum);
    }
  }
}

}  // namespace
}  // namespace strata
