// Mailbox names: modified UTF-7 decoding accepts only canonical spellings (decode then
// encode gives the input back), encoding round-trips any UTF-8, validation is idempotent,
// and LIST matching agrees with a naive backtracking matcher on short inputs.
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/text.hpp"
#include "imap/proto/mailbox_name.hpp"

using namespace valija::imap::proto;

namespace {

// Exponential in general; only called on short inputs.
bool naive(std::string_view p, std::string_view n) {
  if (p.empty()) return n.empty();
  if (p[0] == '*' || p[0] == '%') {
    for (std::size_t i = 0; i <= n.size(); ++i) {
      if (naive(p.substr(1), n.substr(i))) return true;
      if (i < n.size() && p[0] == '%' && n[i] == '/') return false;
    }
    return false;
  }
  return !n.empty() && p[0] == n[0] && naive(p.substr(1), n.substr(1));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  ParserLimits lim;

  if (auto d = mutf7_decode(in)) {
    if (!valija::text::valid_utf8(*d) || mutf7_encode(*d) != in) __builtin_trap();
  } else if (d.error().text.empty()) {
    __builtin_trap();
  }
  if (valija::text::valid_utf8(in)) {
    auto wire = mutf7_encode(in);
    auto back = mutf7_decode(wire);
    if (!back || *back != in) __builtin_trap();
  }
  for (bool utf8 : {false, true}) {
    auto name = mailbox_from_wire(in, utf8, lim);
    if (!name) continue;
    auto again = normalize_mailbox_name(*name, lim);
    if (!again || *again != *name) __builtin_trap();
    auto wire = mailbox_to_wire(*name, utf8);
    auto back = mailbox_from_wire(wire, utf8, lim);
    if (!back || *back != *name) __builtin_trap();
  }

  // "pattern NUL name": the linear matcher against the naive one.
  auto nul = in.find('\0');
  if (nul != std::string_view::npos) {
    auto pattern = in.substr(0, nul), name = in.substr(nul + 1);
    ListPattern lp("", pattern, lim);
    bool got = lp.matches(name);
    // The oracle is exponential: short inputs, few wildcards (runs already collapsed).
    const auto& p = lp.pattern();
    auto wild = std::count_if(p.begin(), p.end(), [](char c) { return c == '*' || c == '%'; });
    bool inbox_fold = valija::text::istarts_with(pattern, "INBOX") || valija::text::istarts_with(name, "INBOX");
    if (p.size() <= 12 && wild <= 5 && name.size() <= 24 && !inbox_fold && got != naive(p, name)) __builtin_trap();
  }
  return 0;
}
