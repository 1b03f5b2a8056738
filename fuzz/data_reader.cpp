// DATA reader: split the input at a point chosen by the first byte; results must not
// depend on the split, and content never exceeds the limit.
#include <cstdint>
#include <string_view>

#include "smtp/proto/data_reader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::size_t cut = data[0] % (in.size() + 1);
  valija::smtp::proto::DataReader whole(512), split(512);
  auto used = whole.feed(in);
  auto used1 = split.feed(in.substr(0, cut));
  auto used2 = split.done() ? 0 : split.feed(in.substr(cut));
  if (whole.done() != split.done() || whole.content() != split.content()) __builtin_trap();
  if (whole.done() && used != used1 + used2) __builtin_trap();
  if (whole.content().size() > 512) __builtin_trap();
  return 0;
}
