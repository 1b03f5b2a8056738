#include "imap/proto/command.hpp"

#include <gtest/gtest.h>

#include "imap/proto/command_table_for_test.hpp"
#include "imap/proto/describe_for_test.hpp"

namespace valija::imap::proto {
namespace {

using testing::describe_parse;

TEST(ImapCommand, Table) {
  for (const auto& c : testing::command_cases()) EXPECT_EQ(describe_parse(c.text), c.expected) << c.text;
}

TEST(ImapCommand, EveryVerbHasAName) {
  for (int v = 0; v <= static_cast<int>(Verb::SetQuota); ++v) EXPECT_NE(verb_name(static_cast<Verb>(v)), "?") << v;
  EXPECT_EQ(verb_name(Verb::UidFetch), "UID FETCH");
  EXPECT_EQ(verb_name(Verb::Examine), "EXAMINE");
}

// The UID forms must say so in their arguments: the session resolves their sets as UIDs.
TEST(ImapCommand, UidFormsAreMarked) {
  auto uid_of = [](std::string_view line) {
    auto c = parse_command(line);
    EXPECT_TRUE(c) << line;
    if (!c) return -1;
    return std::visit(
        [](const auto& a) -> int {
          if constexpr (requires { a.uid; }) return a.uid ? 1 : 0;
          return -1;
        },
        c->args);
  };
  EXPECT_EQ(uid_of("a UID STORE 5 +FLAGS (\\Seen)"), 1);
  EXPECT_EQ(uid_of("a STORE 5 +FLAGS (\\Seen)"), 0);
  EXPECT_EQ(uid_of("a UID COPY 5 Archive"), 1);
  EXPECT_EQ(uid_of("a COPY 5 Archive"), 0);
  EXPECT_EQ(uid_of("a UID MOVE 5 Archive"), 1);
  EXPECT_EQ(uid_of("a MOVE 5 Archive"), 0);
  EXPECT_EQ(uid_of("a UID FETCH 5 FLAGS"), 1);
  EXPECT_EQ(uid_of("a FETCH 5 FLAGS"), 0);
  EXPECT_EQ(uid_of("a UID SEARCH ALL"), 1);
  EXPECT_EQ(uid_of("a SEARCH ALL"), 0);
}

TEST(ImapCommand, EmptyCommand) { EXPECT_EQ(describe_parse(""), "ERR * BAD Empty command"); }

TEST(ImapCommand, ErrorsNeverEchoArguments) {
  for (std::string_view line : {"a LOGIN alice s3cr3t extra", "a LOGIN alice \"s3cr3t", "a LOGIN alice s3cr3t(",
                                "a AUTHENTICATE PLAIN s3cr3t", "a LOGIN alice {6}\r\ns3cr3"}) {
    auto c = parse_command(line);
    ASSERT_FALSE(c) << line;
    EXPECT_EQ(c.error().text.find("s3cr3"), std::string::npos) << line;
    EXPECT_EQ(c.error().tag, "a");
    EXPECT_FALSE(c.error().close);
  }
}

TEST(ImapCommand, AppendStart) {
  auto c = parse_append_start("A1 APPEND Drafts (\\Seen) \"17-Jul-1996 02:44:25 -0700\" ");
  ASSERT_TRUE(c) << c.error().text;
  EXPECT_EQ(c->verb, Verb::Append);
  const auto& a = std::get<cmd::Append>(c->args);
  EXPECT_EQ(a.mailbox, "Drafts");
  EXPECT_EQ(a.flags, std::vector<std::string>{"\\Seen"});
  ASSERT_TRUE(a.date);
  EXPECT_FALSE(a.message);
  EXPECT_TRUE(parse_append_start("A1 APPEND {5}\r\nINBOX "));
  EXPECT_EQ(parse_append_start("A1 APPEND INBOX").error().text,
            "Missing arguments (Syntax: APPEND mailbox [(flags)] [date-time] literal)");
  EXPECT_EQ(parse_append_start("A1 APPEND INBOX x ").error().text,
            "Unexpected characters after the arguments (Syntax: APPEND mailbox [(flags)] [date-time] literal)");
  EXPECT_EQ(parse_append_start("A1 NOOP ").error().text, "Not an APPEND command");
}

TEST(ImapCommand, IdleDone) {
  EXPECT_TRUE(is_idle_done("DONE"));
  EXPECT_TRUE(is_idle_done("done"));
  EXPECT_FALSE(is_idle_done("DONE "));
  EXPECT_FALSE(is_idle_done("a1 DONE"));
}

TEST(ImapCommand, Numbers) {
  EXPECT_EQ(describe_parse("a FETCH 4294967295 UID"), "a FETCH 4294967295 UID");
  EXPECT_EQ(describe_parse("a FETCH 4294967296 UID"), "ERR a BAD Invalid sequence set (Syntax: FETCH set items [(modifiers)])");
  EXPECT_EQ(describe_parse("a SEARCH MODSEQ 9223372036854775807"), "a SEARCH modseq (modseq 9223372036854775807)");
  EXPECT_EQ(describe_parse("a SEARCH MODSEQ 9223372036854775808"),
            "ERR a BAD Number out of range: mod-sequence (Syntax: SEARCH [RETURN (options)] [CHARSET charset] keys)");
  EXPECT_EQ(describe_parse("a SELECT x (QRESYNC (4294967296 1))"),
            "ERR a BAD Number out of range: UIDVALIDITY (Syntax: SELECT mailbox [(CONDSTORE | QRESYNC (...))])");
  EXPECT_EQ(describe_parse("a LOGIN {99999999999}\r\nx y"),
            "ERR a BAD Number out of range: literal size (Syntax: LOGIN user password)");
}

// Each limit of ParserLimits that the parser enforces, crossed by one.
TEST(ImapCommand, ListLimits) {
  ParserLimits lim;
  std::string set;
  for (std::size_t i = 1; i <= lim.sequence_ranges; ++i) set += (i > 1 ? "," : "") + std::to_string(i * 2);
  EXPECT_EQ(describe_parse("a COPY " + set + " x").substr(0, 6), "a COPY");
  EXPECT_EQ(describe_parse("a COPY " + set + ",1 x"), "ERR a BAD [LIMIT] Too many ranges in sequence set (limit 10000)");

  auto many = [](std::string_view item, std::size_t n, std::string_view sep = " ") {
    std::string out;
    for (std::size_t i = 0; i < n; ++i) out += (i ? std::string(sep) : "") + std::string(item);
    return out;
  };
  EXPECT_EQ(describe_parse("a STORE 1 FLAGS (" + many("x", 256) + ")").substr(0, 7), "a STORE");
  EXPECT_EQ(describe_parse("a STORE 1 FLAGS (" + many("x", 257) + ")"), "ERR a BAD [LIMIT] Too many flags (limit 256)");
  EXPECT_EQ(describe_parse("a STORE 1 FLAGS " + many("x", 257)), "ERR a BAD [LIMIT] Too many flags");
  EXPECT_EQ(describe_parse("a LIST \"\" (" + many("%", 64) + ")").substr(0, 6), "a LIST");
  EXPECT_EQ(describe_parse("a LIST \"\" (" + many("%", 65) + ")"), "ERR a BAD [LIMIT] Too many LIST patterns");
  EXPECT_EQ(describe_parse("a ENABLE " + many("X", 65)), "ERR a BAD [LIMIT] Too many capabilities");
  EXPECT_EQ(describe_parse("a CREATE x (USE (" + many("\\Junk", 65) + "))"), "ERR a BAD [LIMIT] Too many USE attributes");
  EXPECT_EQ(describe_parse("a SETQUOTA x (" + many("S 1", 65) + ")"), "ERR a BAD [LIMIT] Too many quota resources");
  EXPECT_EQ(describe_parse("a ID (" + many("\"k\" \"v\"", 30) + ")").substr(0, 4), "a ID");
  EXPECT_EQ(describe_parse("a ID (" + many("\"k\" \"v\"", 31) + ")"), "ERR a BAD [LIMIT] Too many ID fields (RFC 2971 §3.3)");
  EXPECT_EQ(describe_parse("a ID (\"" + std::string(31, 'k') + "\" NIL)"), "ERR a BAD [LIMIT] ID field name too long (RFC 2971 §3.3)");
  EXPECT_EQ(describe_parse("a ID (\"k\" \"" + std::string(1025, 'v') + "\")"), "ERR a BAD [LIMIT] ID value too long (RFC 2971 §3.3)");
  EXPECT_EQ(describe_parse("a ID (\"" + std::string(30, 'k') + "\" \"" + std::string(1024, 'v') + "\")").substr(0, 4), "a ID");
}

}  // namespace
}  // namespace valija::imap::proto
