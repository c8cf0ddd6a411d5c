#include <strata/core/envelope.hpp>

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace strata {
namespace {

const EnvelopeMeta meta{TimePoint{Millis{1000}}, TimePoint{Millis{2000}}, TimePoint{Millis{3000}},
                        5};
constexpr std::string_view key = "pos:AAPL";

/// A record as strata 0.1-0.2 wrote it (layout version 1: a 48-byte header,
/// the value checksum at 32, the length at 40, nothing binding the header).
std::string encode_v1(const EnvelopeMeta& m, std::string_view value) {
  std::string out(48 + value.size(), '\0');
  out.replace(0, 4, "STRA");
  out[4] = 1;
  out[5] = static_cast<char>((m.codec_tag << 4) | (m.expires_at ? 1 : 0));
  out[6] = 48;
  detail::put_u64(out.data() + 8, static_cast<std::uint64_t>(detail::to_ms(m.created)));
  detail::put_u64(out.data() + 16, static_cast<std::uint64_t>(detail::to_ms(m.updated)));
  detail::put_u64(out.data() + 24,
                  m.expires_at ? static_cast<std::uint64_t>(detail::to_ms(*m.expires_at)) : 0);
  detail::put_u64(out.data() + 32, value_checksum(value));
  detail::put_u64(out.data() + 40, value.size());
  out.replace(48, value.size(), value);
  return out;
}

TEST(Envelope, RoundTripsEveryField) {
  const std::string value("bytes\0with\xffnul", 14);
  const std::string bytes = encode_envelope(key, meta, value);
  ASSERT_EQ(bytes.size(), envelope_header_bytes + value.size());
  const DecodedEnvelope decoded = decode_envelope(key, bytes);
  ASSERT_TRUE(decoded) << decoded.error.message();
  EXPECT_EQ(decoded.envelope.value, value);
  EXPECT_EQ(decoded.envelope.meta.created, meta.created);
  EXPECT_EQ(decoded.envelope.meta.updated, meta.updated);
  EXPECT_EQ(decoded.envelope.meta.expires_at, meta.expires_at);
  EXPECT_EQ(decoded.envelope.meta.codec_tag, 5);
  EXPECT_EQ(decoded.envelope.version, 2);
  EXPECT_EQ(decoded.envelope.header_size, 56u);
  EXPECT_EQ(decoded.envelope.checksum, value_checksum(value));
}

TEST(Envelope, NoExpiryAndEmptyValueRoundTrip) {
  const DecodedEnvelope decoded = decode_envelope(key, encode_envelope(key, {}, ""));
  ASSERT_TRUE(decoded);
  EXPECT_FALSE(decoded.envelope.meta.expires_at.has_value());
  EXPECT_TRUE(decoded.envelope.value.empty());
}

TEST(Envelope, LayoutIsLittleEndianAndVersioned) {
  const std::string bytes = encode_envelope(key, meta, "v");
  EXPECT_EQ(bytes.substr(0, 4), "STRA");
  EXPECT_EQ(bytes[4], 2);                                        // version
  EXPECT_EQ(bytes[5], 0x51);                                     // codec tag 5 << 4 | has-expiry
  EXPECT_EQ(bytes[6], 56);                                       // header size
  EXPECT_EQ(static_cast<unsigned char>(bytes[8]), 1000 & 0xFF);  // created, low byte first
  EXPECT_EQ(static_cast<unsigned char>(bytes[9]), 1000 >> 8);
  EXPECT_EQ(bytes[32], 1);  // value length
  EXPECT_EQ(detail::get_u64(bytes.data() + 40), value_checksum("v"));
  EXPECT_EQ(detail::get_u64(bytes.data() + 48), detail::header_checksum(key, bytes.data()));
  EXPECT_EQ(bytes.substr(56), "v");
}

TEST(Envelope, EveryTruncationIsCorruptNeverUndefined) {
  const std::string bytes = encode_envelope(key, meta, "a value of some length");
  for (std::size_t n = 0; n < bytes.size(); ++n)
    EXPECT_EQ(decode_envelope(key, std::string_view(bytes).substr(0, n)).error,
              errc::corrupt_record)
        << n;
}

TEST(Envelope, ForeignHeadersAreRefused) {
  const std::string good = encode_envelope(key, meta, "v");
  auto with = [&](std::size_t at, char c) {
    std::string bad = good;
    bad[at] = c;
    return decode_envelope(key, bad).error;
  };
  EXPECT_EQ(with(0, 'X'), errc::corrupt_record);  // magic
  EXPECT_EQ(with(4, 3), errc::corrupt_record);    // a future version
  EXPECT_EQ(with(6, 64), errc::corrupt_record);   // an unknown header size
  // Any other header byte changed: the header checksum no longer matches.
  EXPECT_EQ(with(5, 0x53), errc::checksum_mismatch);  // a reserved flag bit
  EXPECT_EQ(with(32, 9), errc::checksum_mismatch);    // the length
  EXPECT_EQ(decode_envelope(key, good + "x").error, errc::corrupt_record);
}

TEST(Envelope, ARecordReadUnderAnotherKeyIsAMismatch) {
  const std::string bytes = encode_envelope(key, meta, "v");
  EXPECT_EQ(decode_envelope("pos:MSFT", bytes).error, errc::checksum_mismatch);
  EXPECT_EQ(peek_envelope_header("pos:MSFT", bytes).error, errc::checksum_mismatch);
  EXPECT_TRUE(decode_envelope(key, bytes));
}

// The review's finding: of 800 single-bit flips in a version-1 header, 394
// went undetected. In version 2 every bit of the record is covered.
TEST(Envelope, EverySingleBitFlipIsDetected) {
  for (const auto& m :
       {meta, EnvelopeMeta{TimePoint{Millis{1000}}, TimePoint{Millis{2000}}, std::nullopt, 0}}) {
    const std::string good = encode_envelope(key, m, "a value");
    for (std::size_t bit = 0; bit < good.size() * 8; ++bit) {
      std::string bad = good;
      bad[bit / 8] = static_cast<char>(bad[bit / 8] ^ (1 << (bit % 8)));
      const std::error_code error = decode_envelope(key, bad).error;
      EXPECT_TRUE(error == errc::checksum_mismatch || error == errc::corrupt_record)
          << "bit " << bit << " (expiry " << m.expires_at.has_value() << "): " << error.message();
      if (bit / 8 < envelope_header_bytes) {
        EXPECT_TRUE(peek_envelope_header(key, bad).error) << "bit " << bit;
        EXPECT_FALSE(envelope_expired(key, bad, TimePoint::max())) << "bit " << bit;
      }
    }
  }
}

TEST(Envelope, VersionOneRecordsAreStillRead) {
  const std::string old = encode_v1(meta, "legacy");
  const DecodedEnvelope decoded = decode_envelope(key, old);
  ASSERT_TRUE(decoded) << decoded.error.message();
  EXPECT_EQ(decoded.envelope.version, 1);
  EXPECT_EQ(decoded.envelope.header_size, 48u);
  EXPECT_EQ(decoded.envelope.value, "legacy");
  EXPECT_EQ(decoded.envelope.meta.expires_at, meta.expires_at);
  EXPECT_EQ(decoded.envelope.meta.codec_tag, 5);
  EXPECT_EQ(peek_envelope_header(key, old).expires_at, meta.expires_at);

  std::string flipped = old;
  flipped.back() ^= 1;
  EXPECT_EQ(decode_envelope(key, flipped).error, errc::checksum_mismatch);
}

// Version 1 has no header checksum; its strict field rules still catch the
// flips that turned a live record absent or brought an expired one back.
TEST(Envelope, VersionOneExpiryFlagFlipsAreCorrupt) {
  std::string with_expiry = encode_v1(meta, "v");
  with_expiry[5] = static_cast<char>(with_expiry[5] & ~envelope_flags::has_expiry);
  EXPECT_EQ(decode_envelope(key, with_expiry).error, errc::corrupt_record);  // expires left over
  EXPECT_TRUE(peek_envelope_header(key, with_expiry).error);

  std::string without = encode_v1({meta.created, meta.updated, std::nullopt, 0}, "v");
  without[5] = static_cast<char>(without[5] | envelope_flags::has_expiry);
  EXPECT_EQ(decode_envelope(key, without).error, errc::corrupt_record);  // flag with no time
  EXPECT_FALSE(envelope_expired(key, without, TimePoint::max()));

  std::string reserved = encode_v1(meta, "v");
  reserved[5] = static_cast<char>(reserved[5] | 0x02);
  EXPECT_EQ(decode_envelope(key, reserved).error, errc::corrupt_record);
}

TEST(Envelope, TimesBeyondTheClockAreCorrupt) {
  std::string old = encode_v1(meta, "v");
  detail::put_u64(old.data() + 24, std::uint64_t{1} << 63);  // negative as a signed time
  EXPECT_EQ(decode_envelope(key, old).error, errc::corrupt_record);
  old = encode_v1(meta, "v");
  detail::put_u64(old.data() + 8, ~std::uint64_t{0});
  EXPECT_EQ(decode_envelope(key, old).error, errc::corrupt_record);
}

TEST(Envelope, LatestExpiryRoundTrips) {
  const EnvelopeMeta last{TimePoint{Millis{1}}, TimePoint{Millis{1}}, latest_expiry, 0};
  const DecodedEnvelope decoded = decode_envelope(key, encode_envelope(key, last, "v"));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded.envelope.meta.expires_at, latest_expiry);
}

TEST(Envelope, RandomBytesNeverCrash) {
  std::mt19937_64 rng(42);
  const std::string good = encode_envelope(key, meta, "some value bytes");
  const std::string old = encode_v1(meta, "some value bytes");
  for (int i = 0; i < 20'000; ++i) {
    std::string bytes = i % 2 ? good : old;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) bytes[rng() % bytes.size()] = static_cast<char>(rng());
    if (rng() % 4 == 0) bytes.resize(rng() % (bytes.size() + 8));
    const DecodedEnvelope decoded = decode_envelope(key, bytes);
    (void)peek_envelope_header(key, bytes);
    if (decoded) {
      EXPECT_EQ(decoded.envelope.value.size() + decoded.envelope.header_size, bytes.size());
      EXPECT_EQ(value_checksum(decoded.envelope.value), decoded.envelope.checksum);
    }
  }
}

}  // namespace
}  // namespace strata
