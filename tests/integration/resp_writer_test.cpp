// RespWriter must put on the wire exactly what hiredis' own formatter does, for
// any bytes: the encoding is the only thing between strata and a corrupted
// command stream.
#include <strata/backends/resp_writer.hpp>

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace {

std::string hiredis_format(const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lens;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  char* out = nullptr;
  const int n =
      redisFormatCommandArgv(&out, static_cast<int>(args.size()), argv.data(), lens.data());
  EXPECT_GT(n, 0);
  std::string formatted(out, static_cast<std::size_t>(n));
  std::free(out);
  return formatted;
}

TEST(RespWriter, EncodesLikeHiredisForBinaryArguments) {
  const std::string binary("a\0b\r\nc$*", 8);
  const std::string big(70'000, 'x');
  strata::detail::RespWriter w;
  w.command(6);
  w.arg("SET");
  w.arg("ns:", binary);
  w.arg(big);
  w.arg("PX");
  w.arg(std::int64_t{600'000});
  w.arg("");
  EXPECT_EQ(w.view(), hiredis_format({"SET", "ns:" + binary, big, "PX", "600000", ""}));
}

TEST(RespWriter, CommandsFollowOneAnotherAndClearKeepsNothing) {
  strata::detail::RespWriter w;
  w.command(1);
  w.arg("MULTI");
  w.command(2);
  w.arg("DEL");
  w.arg(std::int64_t{-42});
  EXPECT_EQ(w.view(), hiredis_format({"MULTI"}) + hiredis_format({"DEL", "-42"}));
  w.clear();
  EXPECT_EQ(w.size(), 0u);
  w.command(1);
  w.arg("EXEC");
  EXPECT_EQ(w.view(), hiredis_format({"EXEC"}));
}

}  // namespace
