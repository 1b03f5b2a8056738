#include <cstdint>
#include <string_view>

#include "mail/header_scan.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto s = valija::mail::scan_headers(in, 4096);
  if (s.header_bytes > in.size() || s.subject.size() > 400) __builtin_trap();
  return 0;
}
