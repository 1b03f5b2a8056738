// LIST pattern matching (RFC 9051 §6.3.9), declared in mailbox_name.hpp.
#include <vector>

#include "base/text.hpp"
#include "imap/proto/mailbox_name.hpp"

namespace valija::imap::proto {
namespace {

bool is_wild(char c) { return c == '*' || c == '%'; }

}  // namespace

ListPattern::ListPattern(std::string_view reference, std::string_view pattern, const ParserLimits& limits) {
  // RFC 9051 §6.3.9: the reference is prepended to the pattern; valija's names never start
  // with "/", so plain concatenation is the interpretation.
  std::string joined;
  joined.reserve(reference.size() + pattern.size());
  joined.append(reference).append(pattern);
  std::size_t literals = 0;
  for (char c : joined) {
    // Runs of wildcards collapse: "*" absorbs "%", so each run is one state.
    if (is_wild(c) && !pattern_.empty() && is_wild(pattern_.back())) {
      if (c == '*') pattern_.back() = '*';
      continue;
    }
    pattern_ += c;
    if (!is_wild(c)) ++literals;
  }
  impossible_ = literals > limits.mailbox_name;
  // RFC 9051 §5.1: INBOX in any case names INBOX.
  if (text::istarts_with(pattern_, "INBOX") && (pattern_.size() == 5 || pattern_[5] == '/')) pattern_.replace(0, 5, "INBOX");
}

bool ListPattern::matches(std::string_view name) const {
  if (impossible_) return false;
  const std::size_t m = pattern_.size();
  // The first five octets of an INBOX-rooted name compare case-insensitively, so "in%"
  // lists INBOX.
  const bool inbox = name.size() >= 5 && name.substr(0, 5) == "INBOX" && (name.size() == 5 || name[5] == '/');
  std::vector<char> cur(m + 1, 0), next(m + 1, 0);
  auto close = [&](std::vector<char>& s) {
    for (std::size_t i = 0; i < m; ++i)
      if (s[i] && is_wild(pattern_[i])) s[i + 1] = 1;
  };
  cur[0] = 1;
  close(cur);
  for (std::size_t k = 0; k < name.size(); ++k) {
    char c = name[k];
    std::fill(next.begin(), next.end(), 0);
    bool any = false;
    for (std::size_t i = 0; i < m; ++i) {
      if (!cur[i]) continue;
      char p = pattern_[i];
      if (p == '*' || (p == '%' && c != '/')) {
        next[i] = 1;
        any = true;
      } else if (p == c || (inbox && k < 5 && text::lower(p) == text::lower(c))) {
        next[i + 1] = 1;
        any = true;
      }
    }
    if (!any) return false;
    close(next);
    cur.swap(next);
  }
  return cur[m] != 0;
}

}  // namespace valija::imap::proto
