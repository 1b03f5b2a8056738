// Decoders fed arbitrary bytes: the structure cache, RFC 2047, charsets, transfer encodings.
#include <cstdint>
#include <string_view>

#include "base/text.hpp"
#include "mail/address_list.hpp"
#include "mail/bodystructure.hpp"
#include "mail/fold_case.hpp"
#include "mail/mime_cache.hpp"
#include "mail/mime_fields.hpp"
#include "mail/rfc2047.hpp"
#include "mail/transfer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace valija::mail;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (auto p = mime::decode(in)) mime::body_structure(*p);  // whatever decodes must render
  static constexpr std::string_view kCharsets[] = {"utf-8", "iso-8859-1", "us-ascii", "shift_jis",
                                                   "iso-2022-jp", "utf-16", "gb18030", "x-unknown"};
  std::string_view rest = in.empty() ? in : in.substr(1);
  std::string u = to_utf8(rest, kCharsets[in.empty() ? 0 : data[0] % 8], 4096);
  std::string h = decode_rfc2047(in, 4096);
  std::string f = fold_case(h);
  if (u.size() > 4096 || h.size() > 4096 || !valija::text::valid_utf8(u) || !valija::text::valid_utf8(h) ||
      !valija::text::valid_utf8(f))
    __builtin_trap();
  if (decode_quoted_printable(in).size() > size || decode_base64(in).size() > size) __builtin_trap();
  std::string addrs;
  append_address_list(addrs, parse_address_list(in));
  parse_content_type(in, 64);
  return 0;
}
