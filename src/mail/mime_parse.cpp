// The single-pass structure parser behind mime::parse (mime.hpp).
#include <algorithm>
#include <cstring>

#include "base/text.hpp"
#include "mail/mime.hpp"

namespace valija::mail::mime {
namespace {

constexpr std::size_t kNone = static_cast<std::size_t>(-1);

std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

struct Node {
  Part part;                    // children are attached at the end
  std::size_t parent = kNone;
  std::size_t index_in_parent = 0;
  std::size_t kids = 0;
  std::size_t depth = 0;        // the top-level message is 0
  std::uint64_t lf_at_body = 0; // LF octets before body_begin
  std::uint64_t children_end = 0;  // where the last closed child ended
  bool in_header = true;
  bool message = false;         // a message node: top level or encapsulated
  bool in_digest = false;       // a part of multipart/digest (RFC 2046 §5.1.5)
};

struct Boundary {
  std::string text;
  std::uint64_t hash;
  std::size_t node;  // the multipart it belongs to
};

struct Match {
  std::size_t index;  // into the boundary stack
  bool close;
};

class Parser {
 public:
  Parser(std::string_view msg, const MimeLimits& limits) : msg_(msg), limits_(limits) {}

  Part run() {
    nodes_.push_back(Node{});
    nodes_[0].message = true;
    open_.push_back(0);
    while (pos_ < msg_.size()) step();
    while (!open_.empty()) {
      close(open_.back(), false);
      open_.pop_back();
    }
    return assemble();
  }

 private:
  // One line: a boundary delimiter, the blank line ending a header, or content.
  void step() {
    const char* base = msg_.data();
    const void* lf = std::memchr(base + pos_, '\n', msg_.size() - pos_);
    std::size_t le = lf ? static_cast<std::size_t>(static_cast<const char*>(lf) - base) : msg_.size();
    std::size_t next = lf ? le + 1 : msg_.size();
    std::size_t text_end = (le > pos_ && msg_[le - 1] == '\r') ? le - 1 : le;
    std::string_view line = msg_.substr(pos_, text_end - pos_);
    if (!opaque_ && !boundaries_.empty() && line.size() >= 2 && line[0] == '-' && line[1] == '-') {
      if (auto m = match(line)) {
        if (!m->close && nodes_.size() >= limits_.max_parts) {
          opaque_ = true;  // MimeLimits::max_parts: the rest is this part's body
        } else {
          on_boundary(*m, next);
          if (lf) ++lf_;
          pos_ = next;
          return;
        }
      }
    }
    std::size_t cur = open_.back();
    if (nodes_[cur].in_header && line.empty() && lf) end_header(cur, pos_, next, lf_ + 1, false);  // RFC 5322 §2.1
    if (lf) ++lf_;
    pos_ = next;
  }

  // RFC 2046 §5.1.1: "--" boundary [transport-padding], or "--" boundary "--" for the close.
  std::optional<Match> match(std::string_view line) const {
    auto t = line.substr(2);
    while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
    if (t.size() > limits_.max_boundary + 2) return std::nullopt;
    std::uint64_t h = fnv1a(t);
    bool dashes = t.size() >= 2 && t.substr(t.size() - 2) == "--";
    auto shorter = dashes ? t.substr(0, t.size() - 2) : std::string_view();
    std::uint64_t h2 = dashes ? fnv1a(shorter) : 0;
    for (std::size_t k = boundaries_.size(); k-- > 0;) {  // innermost first
      const auto& b = boundaries_[k];
      if (b.hash == h && b.text == t) return Match{k, false};
      if (dashes && b.hash == h2 && b.text == shorter) return Match{k, true};
    }
    return std::nullopt;
  }

  void on_boundary(const Match& m, std::size_t next) {
    std::size_t mp = boundaries_[m.index].node;
    while (open_.back() != mp) {  // everything nested in the multipart ends here
      close(open_.back(), true);
      open_.pop_back();
    }
    if (m.close) {
      boundaries_.resize(m.index);  // the epilogue follows, part of no child
      return;
    }
    boundaries_.resize(m.index + 1);
    std::size_t child = add_node(mp, next);
    nodes_[child].in_digest = text::iequals(nodes_[mp].part.subtype, "digest");
    open_.push_back(child);
  }

  std::size_t add_node(std::size_t parent, std::uint64_t header_begin) {
    Node n;
    n.parent = parent;
    n.index_in_parent = nodes_[parent].kids++;
    n.depth = nodes_[parent].depth + 1;
    n.part.header_begin = header_begin;
    nodes_.push_back(std::move(n));
    return nodes_.size() - 1;
  }

  // The header of node `idx` ends at `header_end`; its body starts at `body_begin`. With
  // `closing` the part also ends there (a delimiter or the end of the message came first).
  void end_header(std::size_t idx, std::uint64_t header_end, std::uint64_t body_begin,
                  std::uint64_t lf_at_body, bool closing) {
    {
      Node& n = nodes_[idx];
      n.in_header = false;
      n.part.body_begin = body_begin;
      n.part.body_end = body_begin;
      n.lf_at_body = lf_at_body;
      auto header = msg_.substr(n.part.header_begin, header_end - n.part.header_begin);
      detail::apply_header(n.part, header, n.in_digest, n.message, limits_);
    }
    const Node& n = nodes_[idx];
    bool room = !opaque_ && n.depth < limits_.max_depth;
    if (n.part.is_multipart()) {
      if (closing || !room) return;
      const std::string* b = find_param(n.part.params, "boundary");
      if (!b) return;
      std::string_view text = *b;
      while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
      if (text.empty() || text.size() > limits_.max_boundary) return;  // RFC 2046 §5.1.1: 1*70
      boundaries_.push_back({std::string(text), fnv1a(text), idx});
    } else if (n.part.is_message() && room && nodes_.size() < limits_.max_parts) {
      // RFC 2046 §5.2.1: the body is a complete message with its own header.
      std::size_t child = add_node(idx, body_begin);
      nodes_[child].message = true;
      if (closing) {
        end_header(child, body_begin, body_begin, lf_at_body, true);
        finished(child);
      } else {
        open_.push_back(child);
      }
    }
  }

  // Ends node `idx` at the delimiter line starting at pos_ (`at_delimiter`) or at the end.
  void close(std::size_t idx, bool at_delimiter) {
    std::uint64_t end = msg_.size();
    std::uint64_t lf_end = lf_;
    if (at_delimiter) {
      // RFC 2046 §5.1.1: the CRLF preceding the boundary delimiter line belongs to it.
      end = pos_ - 1;
      if (end > 0 && msg_[end - 1] == '\r') --end;
      lf_end = lf_ - 1;
    }
    if (nodes_[idx].in_header) {
      std::uint64_t header_end = std::max<std::uint64_t>(nodes_[idx].part.header_begin, end);
      end_header(idx, header_end, header_end, lf_end, true);
    } else {
      // When the delimiter directly follows a blank line ending a header, that line break ended
      // the header and the part keeps it (Dovecot counts it so too): never end before the body
      // or a child started.
      Node& n = nodes_[idx];
      std::uint64_t e = std::max<std::uint64_t>({end, n.part.body_begin, n.children_end});
      n.part.body_end = e;
      std::uint64_t lf_at_e = e > end ? lf_ : lf_end;  // past `end` lies only that line break
      n.part.body_lines = e > n.part.body_begin ? lf_at_e - n.lf_at_body : 0;
    }
    finished(idx);
  }

  void finished(std::size_t idx) {
    const Node& n = nodes_[idx];
    if (n.parent != kNone)
      nodes_[n.parent].children_end = std::max(nodes_[n.parent].children_end, n.part.body_end);
  }

  // Children are created after their parent, so walking backwards moves every finished
  // subtree into its parent without recursion.
  Part assemble() {
    for (auto& n : nodes_) n.part.children.resize(n.kids);
    for (std::size_t i = nodes_.size(); i-- > 1;) {
      Node& n = nodes_[i];
      nodes_[n.parent].part.children[n.index_in_parent] = std::move(n.part);
    }
    return std::move(nodes_[0].part);
  }

  std::string_view msg_;
  const MimeLimits& limits_;
  std::vector<Node> nodes_;
  std::vector<std::size_t> open_;  // the path of open nodes, outermost first
  std::vector<Boundary> boundaries_;
  std::uint64_t pos_ = 0;  // start of the current line
  std::uint64_t lf_ = 0;   // LF octets before pos_
  bool opaque_ = false;
};

}  // namespace

Part parse(std::string_view message, const MimeLimits& limits) {
  return Parser(message, limits).run();
}

}  // namespace valija::mail::mime
