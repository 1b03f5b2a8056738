// The Received-SPF header field (RFC 7208 §9.1). Everything in it but the result comes
// from the client or from DNS, so each value is either a dot-atom, a quoted-string with
// its specials escaped, or left out; the comment is escaped the same way. No input can
// add a line break or end the field early.
#include <fmt/format.h>

#include "policy/spf.hpp"
#include "policy/spf_detail.hpp"

namespace valija::policy::spf {
namespace {

constexpr std::size_t kLineWidth = 78;   // RFC 5322 §2.1.1
constexpr std::size_t kMaxValue = 256;   // a longer value is left out (lines stay far below 998)
constexpr std::size_t kMaxCommentWord = 128;

bool is_atext(char c) {  // RFC 5322 §3.2.3
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos;
}

bool is_dot_atom(std::string_view s) {
  if (s.empty() || s.front() == '.' || s.back() == '.') return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '.' ? s[i + 1] == '.' : !is_atext(s[i])) return false;
  }
  return true;
}

bool printable(std::string_view s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7E) return false;
  return true;
}

// dot-atom / quoted-string (RFC 7208 §9.1 key-value-pair); nullopt when neither can carry it.
std::optional<std::string> value(std::string_view s) {
  if (s.empty() || s.size() > kMaxValue || !printable(s)) return std::nullopt;
  if (is_dot_atom(s)) return std::string(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// Comment text (RFC 5322 §3.2.2 ctext): parentheses and backslashes escaped, anything
// outside printable ASCII shown as '?'; cut at kMaxCommentWord.
std::string comment_text(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, std::min(s.size(), kMaxCommentWord))) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u > 0x7E) c = '?';
    if (c == '(' || c == ')' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

// The comment of the RFC's examples: what the result says about the sender and address.
std::string comment(const Outcome& o, const Input& in) {
  std::string s = comment_text(o.sender), ip = comment_text(in.ip);
  std::string what;
  switch (o.result) {
    case Result::Pass: what = fmt::format("domain of {} designates {} as permitted sender", s, ip); break;
    case Result::Fail: what = fmt::format("domain of {} does not designate {} as permitted sender", s, ip); break;
    case Result::SoftFail:
      what = fmt::format("domain of transitioning {} does not designate {} as permitted sender", s, ip);
      break;
    case Result::Neutral: what = fmt::format("{} is neither permitted nor denied by domain of {}", ip, s); break;
    case Result::None: what = fmt::format("domain of {} does not designate permitted sender hosts", s); break;
    case Result::TempError: what = fmt::format("error in processing during lookup of {}", s); break;
    case Result::PermError: what = fmt::format("permanent error in processing during lookup of {}", s); break;
  }
  auto receiver = value(in.receiver);
  if (receiver && receiver->front() != '"') what = *receiver + ": " + what;
  return "(" + what + ")";
}

// Splits on spaces; the field is folded only there (RFC 5322 §2.2.3).
void add_words(std::vector<std::string>& words, std::string_view s) {
  std::size_t from = 0;
  while (from < s.size()) {
    auto sp = s.find(' ', from);
    if (sp == std::string_view::npos) sp = s.size();
    if (sp > from) words.emplace_back(s.substr(from, sp - from));
    from = sp + 1;
  }
}

std::string fold(const std::vector<std::string>& words) {
  std::string out;
  std::size_t line = 0;
  for (const auto& w : words) {
    if (out.empty()) {
      out = w;
      line = w.size();
    } else if (line + 1 + w.size() > kLineWidth) {
      out += "\r\n " + w;
      line = 1 + w.size();
    } else {
      out += " " + w;
      line += 1 + w.size();
    }
  }
  return out + "\r\n";
}

}  // namespace

std::string received_spf(const Outcome& o, const Input& in) {
  std::vector<std::pair<std::string_view, std::optional<std::string>>> pairs = {
      {"client-ip", value(in.ip)},
      {"envelope-from", value(o.sender)},
      {"helo", value(in.helo)},
  };
  bool error = o.result == Result::TempError || o.result == Result::PermError;
  if (error && !o.problem.empty()) pairs.emplace_back("problem", value(detail::shown(o.problem, kMaxValue - 3)));
  pairs.emplace_back("receiver", value(in.receiver));
  pairs.emplace_back("identity", std::string(o.identity == Identity::Helo ? "helo" : "mailfrom"));
  if (!o.mechanism.empty()) pairs.emplace_back("mechanism", value(o.mechanism));

  std::vector<std::string> words = {"Received-SPF:", std::string(name(o.result))};
  add_words(words, comment(o, in));
  std::vector<std::string> kv;
  for (auto& [key, v] : pairs)
    if (v) kv.push_back(fmt::format("{}={}", key, *v));
  for (std::size_t i = 0; i < kv.size(); ++i) words.push_back(i + 1 < kv.size() ? kv[i] + ";" : kv[i]);
  return fold(words);
}

}  // namespace valija::policy::spf
