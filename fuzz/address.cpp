// RFC 5321 paths: parse, and what parses must round-trip through str().
#include <cstdint>
#include <string_view>

#include "mail/address.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string_view rest;
  auto r = valija::mail::parse_path(in, true, true, {}, rest);
  if (r && !r->empty()) {
    auto again = valija::mail::parse_mailbox(r->str(), true, {1000, 1000, 2000});
    if (!again || again->local != r->local) __builtin_trap();
  }
  return 0;
}
