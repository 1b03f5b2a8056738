// SMTP command lines: any bytes must give a command or an error reply, never a crash.
#include <cstdint>
#include <string_view>

#include "smtp/proto/command.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view line(reinterpret_cast<const char*>(data), size);
  valija::smtp::proto::ParseOptions opts;
  auto r = valija::smtp::proto::parse_command(line, opts, size % 2 == 0);
  if (r) {
    (void)r->path.str();
  } else {
    auto wire = r.error().wire();
    if (wire.size() < 6 || wire.substr(wire.size() - 2) != "\r\n") __builtin_trap();
  }
  return 0;
}
