// libFuzzer target for the `strata` command's backend URL parser: a URL comes
// from a command line or the environment, typed by a person. Any bytes must
// give options or a ConfigError (no other exception, no crash under ASan and
// UBSan), and the description the command prints of a URL does not depend
// on the password the parser found in it (so it cannot show it).
#include "tools/strata/backend_url.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

/// The password a Redis URL carries, as the parser reads it; empty for others.
std::string password_in(const strata::cli::BackendSpec& spec) {
  using namespace strata;
  if (const auto* redis = std::get_if<RedisOptions>(&spec.options)) return redis->password;
  if (const auto* cluster = std::get_if<RedisClusterOptions>(&spec.options))
    return cluster->node.password;
  return {};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using strata::cli::Access;
  using strata::cli::parse_backend_url;
  const std::string url(reinterpret_cast<const char*>(data), size);
  try {
    const strata::cli::BackendSpec spec = parse_backend_url(url, Access::read_only);
    const std::string password = password_in(spec);
    if (password.empty()) return 0;
    // The password sits between the user's ':' and the last '@'. The same URL
    // with other bytes there must be described exactly alike: the
    // description does not depend on the password, so it cannot show it.
    const std::size_t at = url.rfind('@');
    const std::size_t colon = url.find(':', url.find("://") + 3);
    if (at == std::string::npos || colon >= at || url.substr(colon + 1, at - colon - 1) != password)
      std::abort();  // the parser found a password where there is none
    const std::string other = url.substr(0, colon + 1) + "other-password" + url.substr(at);
    if (parse_backend_url(other, Access::read_only).shown != spec.shown) std::abort();
  } catch (const strata::ConfigError&) {
    // The expected answer to a URL that cannot be used.
  }
  return 0;
}
