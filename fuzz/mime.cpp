// MIME structure: parse, render, cache round trip, section lookups, search text.
#include <cstdint>
#include <string_view>

#include "mail/bodystructure.hpp"
#include "mail/header.hpp"
#include "mail/mime_cache.hpp"
#include "mail/search_text.hpp"
#include "mail/section.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace valija::mail;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  mime::Part p = mime::parse(in);
  std::string out = mime::body_structure(p) + mime::body(p, true) + render_envelope(*p.envelope);
  auto back = mime::decode(mime::encode(p));
  if (!back || !(*back == p)) __builtin_trap();
  for (std::uint32_t path[2] = {0, 0}; path[0] < 4; ++path[0])
    for (path[1] = 0; path[1] < 4; ++path[1])
      for (auto what : {mime::SectionPart::Whole, mime::SectionPart::Header, mime::SectionPart::Text,
                        mime::SectionPart::Mime}) {
        auto r = mime::find_section(p, std::span(path, path[0] ? (path[1] ? 2 : 1) : 0), what);
        if (r && (r->begin > r->end || r->end > size)) __builtin_trap();
        std::string_view names[] = {"subject", "content-type"};
        if (r && what == mime::SectionPart::Header) select_fields(in.substr(r->begin, r->end - r->begin), names, true);
      }
  if (searchable_text(in, p, SearchScope::Text, 4096).size() > 4096) __builtin_trap();
  return 0;
}
