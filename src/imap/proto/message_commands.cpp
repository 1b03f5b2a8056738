// Arguments of STORE and COPY/MOVE (and their UID forms).
#include "base/text.hpp"
#include "imap/proto/parse_detail.hpp"

namespace valija::imap::proto::detail {

bool parse_store(Lexer& lx, cmd::Store& out) {
  if (!lx.sp() || !lx.sequence_set(out.set) || !lx.sp()) return false;
  if (lx.eat('(')) {
    // RFC 7162 §3.1.3: store-modifier "UNCHANGEDSINCE" SP mod-sequence-valzer
    std::uint64_t n = 0;
    if (!lx.keyword("UNCHANGEDSINCE")) return lx.fail("Unknown STORE modifier");
    if (!lx.sp() || !lx.mod_sequence(n, true) || !lx.expect(')') || !lx.sp()) return false;
    out.unchanged_since = n;
  }
  // RFC 9051 §9: store-att-flags = (["+" / "-"] "FLAGS" [".SILENT"]) SP (flag-list / (flag *(SP flag)))
  if (lx.eat('+')) out.mode = cmd::Store::Mode::Add;
  else if (lx.eat('-')) out.mode = cmd::Store::Mode::Remove;
  auto word = lx.peek_atom();
  if (text::iequals(word, "FLAGS.SILENT")) out.silent = true;
  else if (!text::iequals(word, "FLAGS")) return lx.fail("Expected FLAGS, +FLAGS or -FLAGS");
  lx.skip(word.size());
  if (!lx.sp()) return false;
  if (lx.peek() == '(') return lx.flag_list(out.flags);
  do {
    if (out.flags.size() == lx.limits().flags) return lx.fail("Too many flags", Code::Limit);
    if (!lx.flag(out.flags.emplace_back())) return false;
  } while (!lx.at_end() && lx.sp());
  return !lx.failed();
}

bool parse_copy_move(Lexer& lx, cmd::CopyMove& out) {
  return lx.sp() && lx.sequence_set(out.set) && lx.sp() && lx.astring(out.mailbox, "mailbox name");
}

}  // namespace valija::imap::proto::detail
