#include "mail/search_text.hpp"

#include "mail/header.hpp"
#include "mail/rfc2047.hpp"
#include "mail/transfer.hpp"

namespace valija::mail {
namespace {

class Collector {
 public:
  Collector(std::string_view msg, std::size_t max) : msg_(msg), max_(max) {}

  void walk(const mime::Part& p, bool headers) {
    if (full()) return;
    if (p.envelope && headers) add_header(p);
    if (p.is_multipart() || p.is_message()) {
      for (const auto& c : p.children) walk(c, true);
      return;
    }
    if (p.is_text()) add_body(p);
  }

  std::string take() { return std::move(out_); }

 private:
  bool full() const { return out_.size() >= max_; }
  std::size_t room() const { return max_ - out_.size(); }

  std::string_view slice(std::uint64_t b, std::uint64_t e) const {
    if (b > msg_.size() || e > msg_.size() || b > e) return {};  // a tree for another message
    return msg_.substr(b, e - b);
  }

  void add_header(const mime::Part& p) {
    HeaderReader r(slice(p.header_begin, p.body_begin));
    while (auto f = r.next()) {
      if (full()) return;
      std::string line(f->name);
      line += ": ";
      line += decode_header_value(f->value, room());
      line += '\n';
      append(line);
    }
  }

  void add_body(const mime::Part& p) {
    auto body = slice(p.body_begin, p.body_end);
    // A charset may take up to four input octets per output character (UTF-32), never more.
    std::size_t cap = room() > kNoLimit / 4 - 16 ? kNoLimit : room() * 4 + 16;
    auto decoded = decode_body(body, p.encoding, cap);
    const std::string* charset = find_param(p.params, "charset");
    append(to_utf8(decoded.data, charset ? std::string_view(*charset) : "us-ascii", room()));
    append("\n");
  }

  void append(std::string_view s) {
    if (s.size() > room()) {
      out_ += sanitize_utf8(s, room());
      out_.resize(std::min(out_.size(), max_));
      return;
    }
    out_.append(s);
  }

  std::string_view msg_;
  std::size_t max_;
  std::string out_;
};

}  // namespace

std::string searchable_text(std::string_view message, const mime::Part& part, SearchScope scope,
                            std::size_t max_bytes) {
  Collector c(message, max_bytes);
  c.walk(part, scope == SearchScope::Text);
  return c.take();
}

}  // namespace valija::mail
