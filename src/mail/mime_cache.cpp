#include "mail/mime_cache.hpp"

#include <array>

namespace valija::mail::mime {
namespace {

// Part of format version 1: entries may be appended, never changed or reordered.
constexpr std::array<std::string_view, 56> kTable = {
    "text", "plain", "html", "charset", "us-ascii", "utf-8", "iso-8859-1", "7bit", "8bit",
    "quoted-printable", "base64", "multipart", "mixed", "alternative", "related", "boundary",
    "message", "rfc822", "application", "octet-stream", "image", "name", "filename",
    "attachment", "inline", "format", "flowed", "delsp", "yes", "signed", "pdf", "jpeg", "png",
    "windows-1252", "UTF-8", "US-ASCII", "7BIT", "8BIT", "QUOTED-PRINTABLE", "BASE64", "TEXT",
    "PLAIN", "HTML", "protocol", "micalg", "report", "report-type", "delivery-status", "digest",
    "global", "type", "calendar", "method", "iso-8859-15", "binary", "gif"};

// Which optional fields a part carries.
constexpr unsigned kId = 1u << 0;
constexpr unsigned kDescription = 1u << 1;
constexpr unsigned kMd5 = 1u << 2;
constexpr unsigned kDisposition = 1u << 3;
constexpr unsigned kLocation = 1u << 4;
constexpr unsigned kEnvelope = 1u << 5;

class Writer {
 public:
  void varint(std::uint64_t v) {
    while (v >= 0x80) {
      out += static_cast<char>((v & 0x7F) | 0x80);
      v >>= 7;
    }
    out += static_cast<char>(v);
  }
  void str(std::string_view s) {
    for (std::size_t i = 0; i < kTable.size(); ++i)
      if (kTable[i] == s) {
        varint((static_cast<std::uint64_t>(i) << 1) | 1);
        return;
      }
    varint(static_cast<std::uint64_t>(s.size()) << 1);
    out.append(s);
  }
  void params(const std::vector<MimeParam>& ps) {
    varint(ps.size());
    for (const auto& p : ps) {
      str(p.name);
      str(p.value);
    }
  }
  void part(const Part& p, std::uint64_t cursor) {
    unsigned flags = (p.id ? kId : 0u) | (p.description ? kDescription : 0u) | (p.md5 ? kMd5 : 0u) |
                     (p.disposition ? kDisposition : 0u) | (p.location ? kLocation : 0u) |
                     (p.envelope ? kEnvelope : 0u);
    varint(flags);
    varint(p.header_begin - cursor);
    varint(p.body_begin - p.header_begin);
    varint(p.body_end - p.body_begin);
    varint(p.body_lines);
    str(p.type);
    str(p.subtype);
    params(p.params);
    str(p.encoding);
    if (p.id) str(*p.id);
    if (p.description) str(*p.description);
    if (p.md5) str(*p.md5);
    if (p.disposition) {
      str(*p.disposition);
      params(p.disposition_params);
    }
    if (p.location) str(*p.location);
    varint(p.languages.size());
    for (const auto& l : p.languages) str(l);
    if (p.envelope) envelope(*p.envelope);
    varint(p.children.size());
    std::uint64_t c = p.body_begin;
    for (const auto& child : p.children) {
      part(child, c);
      c = child.body_end;
    }
  }
  void envelope(const Envelope& e) {
    const std::optional<std::string>* f[] = {&e.date, &e.subject, &e.from, &e.sender, &e.reply_to,
                                             &e.to, &e.cc, &e.bcc, &e.in_reply_to, &e.message_id};
    unsigned mask = 0;
    for (unsigned i = 0; i < 10; ++i)
      if (*f[i]) mask |= 1u << i;
    varint(mask);
    for (auto* v : f)
      if (*v) str(**v);
  }
  std::string out;
};

class Reader {
 public:
  Reader(std::string_view in, const MimeLimits& limits) : in_(in), limits_(limits) {}

  bool varint(std::uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (i_ >= in_.size()) return false;
      auto b = static_cast<unsigned char>(in_[i_++]);
      std::uint64_t bits = b & 0x7F;
      if (shift == 63 && bits > 1) return false;  // overflow
      v |= bits << shift;
      if (!(b & 0x80)) return true;
    }
    return false;
  }
  bool str(std::string& s) {
    std::uint64_t v;
    if (!varint(v)) return false;
    if (v & 1) {
      if ((v >> 1) >= kTable.size()) return false;
      s = kTable[v >> 1];
      return true;
    }
    v >>= 1;
    if (v > in_.size() - i_) return false;
    s.assign(in_.substr(i_, v));
    i_ += v;
    return true;
  }
  bool opt(std::optional<std::string>& s) {
    s.emplace();
    return str(*s);
  }
  // A count of items each taking at least one octet, bounded by `max`.
  bool count(std::uint64_t& n, std::uint64_t max) {
    return varint(n) && n <= max && n <= in_.size() - i_;
  }
  bool params(std::vector<MimeParam>& ps) {
    std::uint64_t n;
    if (!count(n, limits_.max_params)) return false;
    ps.resize(n);
    for (auto& p : ps)
      if (!str(p.name) || !str(p.value)) return false;
    return true;
  }
  bool envelope(Envelope& e) {
    std::optional<std::string>* f[] = {&e.date, &e.subject, &e.from, &e.sender, &e.reply_to,
                                       &e.to, &e.cc, &e.bcc, &e.in_reply_to, &e.message_id};
    std::uint64_t mask;
    if (!varint(mask) || mask >= (1u << 10)) return false;
    for (unsigned i = 0; i < 10; ++i)
      if ((mask & (1u << i)) && !opt(*f[i])) return false;
    return true;
  }
  // `cursor`: where this part may start; `limit`: where it must end (the parent's body end).
  bool part(Part& p, std::uint64_t cursor, std::uint64_t limit, std::size_t depth) {
    if (depth > limits_.max_depth || ++parts_ > limits_.max_parts) return false;
    std::uint64_t flags, d_header, d_body, d_end, n;
    if (!varint(flags) || flags >= (1u << 6) || !varint(d_header) || !varint(d_body) || !varint(d_end) ||
        !varint(p.body_lines))
      return false;
    if (d_header > limit - cursor) return false;
    p.header_begin = cursor + d_header;
    if (d_body > limit - p.header_begin) return false;
    p.body_begin = p.header_begin + d_body;
    if (d_end > limit - p.body_begin) return false;
    p.body_end = p.body_begin + d_end;
    if (p.body_lines > d_end) return false;
    if (!str(p.type) || !str(p.subtype) || !params(p.params) || !str(p.encoding)) return false;
    if ((flags & kId) && !opt(p.id)) return false;
    if ((flags & kDescription) && !opt(p.description)) return false;
    if ((flags & kMd5) && !opt(p.md5)) return false;
    if (flags & kDisposition) {
      if (!opt(p.disposition) || !params(p.disposition_params)) return false;
    }
    if ((flags & kLocation) && !opt(p.location)) return false;
    if (!count(n, limits_.max_languages)) return false;
    p.languages.resize(n);
    for (auto& l : p.languages)
      if (!str(l)) return false;
    if (flags & kEnvelope) {
      p.envelope.emplace();
      if (!envelope(*p.envelope)) return false;
    }
    if (!count(n, limits_.max_parts)) return false;
    p.children.resize(n);
    std::uint64_t c = p.body_begin;
    for (auto& child : p.children) {
      if (!part(child, c, p.body_end, depth + 1)) return false;
      c = child.body_end;
    }
    return true;
  }
  bool at_end() const { return i_ == in_.size(); }

 private:
  std::string_view in_;
  const MimeLimits& limits_;
  std::size_t i_ = 0;
  std::size_t parts_ = 0;
};

}  // namespace

std::string encode(const Part& message) {
  Writer w;
  w.out += static_cast<char>(kCacheVersion);
  w.part(message, 0);
  return std::move(w.out);
}

Result<Part> decode(std::string_view data, const MimeLimits& limits) {
  if (data.empty() || static_cast<unsigned char>(data[0]) != kCacheVersion)
    return fail(Errc::Corrupt, "mime cache: unknown version");
  Reader r(data.substr(1), limits);
  Part p;
  if (!r.part(p, 0, UINT64_MAX, 0) || !r.at_end()) return fail(Errc::Corrupt, "mime cache: malformed");
  return p;
}

}  // namespace valija::mail::mime
