// SRS (queue/srs.cpp): reverse() takes any local part a remote server sends us; a
// forwarded address always reverses to the original.
#include <cstdint>
#include <string_view>

#include "queue/srs.hpp"

using valija::queue::Srs;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  static const Srs srs("fuzz key");
  constexpr std::int64_t now = 1'795'000'000;
  (void)srs.reverse(in, now);
  auto at = in.find('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == in.size()) return 0;
  auto local = in.substr(0, at), domain = in.substr(at + 1);
  if (domain.find_first_of("=@") != std::string_view::npos) return 0;
  auto fwd = srs.forward(local, domain, "forwarder.example", now);
  if (!fwd) return 0;
  auto back = srs.reverse(*fwd, now);
  if (!back) __builtin_trap();
  if (!Srs::is_srs(local) && *back != std::string(local) + "@" + std::string(domain)) __builtin_trap();
  return 0;
}
