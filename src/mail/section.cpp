#include "mail/section.hpp"

namespace valija::mail::mime {
namespace {

struct Selection {
  const Part* part = nullptr;
  bool as_message = false;  // a message node seen as a message (its parts are numbered)
};

// One step down the path (RFC 3501 §6.4.5).
Selection step(Selection s, std::uint32_t n) {
  if (n == 0) return {};
  const Part* p = s.part;
  if (!s.as_message) {
    if (p->is_message()) {  // "A part of type MESSAGE/RFC822 also has nested part numbers"
      if (p->children.empty()) return {};
      return step({&p->children[0], true}, n);
    }
    if (!p->is_multipart()) return {};
  } else if (!p->is_multipart()) {
    // "Non-[MIME-IMB] messages, and non-multipart [MIME-IMB] messages with no encapsulated
    // message, only have a part 1."
    return n == 1 ? Selection{p, false} : Selection{};
  }
  if (n > p->children.size()) return {};
  return {&p->children[n - 1], false};
}

Selection select(const Part& message, std::span<const std::uint32_t> path) {
  Selection s{&message, true};
  for (auto n : path) {
    s = step(s, n);
    if (!s.part) break;
  }
  return s;
}

}  // namespace

const Part* find_part(const Part& message, std::span<const std::uint32_t> path) {
  return select(message, path).part;
}

Result<ByteRange> find_section(const Part& message, std::span<const std::uint32_t> path,
                               SectionPart what) {
  Selection s = select(message, path);
  if (!s.part) return fail(Errc::NotFound, "no such body part");
  const Part* p = s.part;
  switch (what) {
    case SectionPart::Whole:
      if (path.empty()) return ByteRange{p->header_begin, p->body_end};
      return ByteRange{p->body_begin, p->body_end};
    case SectionPart::Mime:
      if (path.empty()) return fail(Errc::NotFound, "MIME needs a part number");
      return ByteRange{p->header_begin, p->body_begin};
    case SectionPart::Header:
    case SectionPart::Text: {
      const Part* m = p;
      if (!path.empty()) {
        if (!p->is_message() || p->children.empty())
          return fail(Errc::NotFound, "HEADER and TEXT need a message/rfc822 part");
        m = &p->children[0];
      }
      if (what == SectionPart::Header) return ByteRange{m->header_begin, m->body_begin};
      return ByteRange{m->body_begin, m->body_end};
    }
  }
  return fail(Errc::Internal, "unreachable");
}

}  // namespace valija::mail::mime
