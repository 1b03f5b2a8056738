// SEARCH programs: structure, nesting and size limits.
#include <gtest/gtest.h>

#include <chrono>

#include "imap/proto/command.hpp"
#include "imap/proto/describe_for_test.hpp"

namespace valija::imap::proto {
namespace {

using testing::describe_parse;

std::string repeat(std::string_view s, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) out += s;
  return out;
}

const SearchKey& program(const tl::expected<Command, ParseError>& c) { return std::get<cmd::Search>(c->args).program; }

TEST(ImapSearch, NotNesting) {
  // 32 levels are fine, the 33rd is refused with [LIMIT].
  auto ok = parse_command("a SEARCH " + repeat("NOT ", 32) + "SEEN");
  ASSERT_TRUE(ok) << ok.error().text;
  const SearchKey* k = &program(ok);
  int depth = 0;
  while (k->op == SearchOp::Not) {
    k = &k->children[0];
    ++depth;
  }
  EXPECT_EQ(depth, 32);
  EXPECT_EQ(k->op, SearchOp::Seen);
  EXPECT_EQ(describe_parse("a SEARCH " + repeat("NOT ", 33) + "SEEN"),
            "ERR a BAD [LIMIT] Search program nested too deeply (limit 32)");
}

TEST(ImapSearch, ParenthesesAndOrNesting) {
  EXPECT_TRUE(parse_command("a SEARCH " + repeat("(", 32) + "ALL" + repeat(")", 32)));
  EXPECT_EQ(describe_parse("a SEARCH " + repeat("(", 33) + "ALL" + repeat(")", 33)),
            "ERR a BAD [LIMIT] Search program nested too deeply (limit 32)");
  EXPECT_TRUE(parse_command("a SEARCH " + repeat("OR ALL ", 32) + "ALL"));  // right-nested chain
  EXPECT_EQ(describe_parse("a SEARCH " + repeat("OR ALL ", 33) + "ALL"),
            "ERR a BAD [LIMIT] Search program nested too deeply (limit 32)");
  EXPECT_TRUE(parse_command("a SEARCH " + repeat("OR ", 32) + "ALL" + repeat(" ALL", 32)));  // left-nested
  // Mixed: each of "(", NOT and OR counts one level.
  EXPECT_TRUE(parse_command("a SEARCH " + repeat("(NOT OR ALL ", 10) + "ALL" + repeat(")", 10) + " ALL"));
  EXPECT_EQ(describe_parse("a SEARCH " + repeat("(NOT OR ALL ", 11) + "ALL" + repeat(")", 11)),
            "ERR a BAD [LIMIT] Search program nested too deeply (limit 32)");
  // Not closed or unbalanced.
  EXPECT_FALSE(parse_command("a SEARCH (ALL"));
  EXPECT_FALSE(parse_command("a SEARCH ALL)"));
  EXPECT_FALSE(parse_command("a SEARCH ()"));
}

TEST(ImapSearch, HugeNestingIsCheap) {
  // A line full of NOTs fails at the limit without recursing further.
  auto start = std::chrono::steady_clock::now();
  auto c = parse_command("a SEARCH " + repeat("NOT ", 16000) + "ALL");
  EXPECT_FALSE(c);
  EXPECT_EQ(c.error().code, Code::Limit);
  c = parse_command("a SEARCH " + repeat("(", 60000));
  EXPECT_EQ(c.error().code, Code::Limit);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
}

TEST(ImapSearch, KeyCount) {
  ParserLimits lim;
  EXPECT_TRUE(parse_command("a SEARCH" + repeat(" SEEN", lim.search_keys), lim));
  EXPECT_EQ(describe_parse("a SEARCH" + repeat(" SEEN", lim.search_keys + 1), lim),
            "ERR a BAD [LIMIT] Too many search keys (limit 1000)");
  // Keys inside OR, NOT and parentheses count too.
  EXPECT_EQ(describe_parse("a SEARCH" + repeat(" (SEEN NOT DRAFT)", 334), lim),
            "ERR a BAD [LIMIT] Too many search keys (limit 1000)");
  lim.search_keys = 3;
  EXPECT_TRUE(parse_command("a SEARCH OR SEEN DRAFT", lim));
  EXPECT_FALSE(parse_command("a SEARCH NOT OR SEEN DRAFT", lim));
}

TEST(ImapSearch, SequenceSetsAsKeys) {
  EXPECT_EQ(describe_parse("a SEARCH 1:* *"), "a SEARCH (and (seq 1:*) (seq *))");
  EXPECT_EQ(describe_parse("a SEARCH 0"), "ERR a BAD 0 is not a valid message number (Syntax: SEARCH [RETURN (options)] [CHARSET charset] keys)");
  EXPECT_EQ(describe_parse("a SEARCH UID 5:3 NOT $"), "a SEARCH (and (uid 5:3) (not (seq $)))");
}

TEST(ImapSearch, ModSeqEntry) {
  EXPECT_EQ(describe_parse("a SEARCH MODSEQ \"/flags/$Junk\" priv 5"), "a SEARCH modseq (modseq <$Junk> priv 5)");
  EXPECT_EQ(describe_parse("a SEARCH MODSEQ \"/flags/\\\\Seen\" SHARED 5"), "a SEARCH modseq (modseq <\\Seen> shared 5)");
  EXPECT_FALSE(parse_command("a SEARCH MODSEQ \"/flags/\" all 5"));
  EXPECT_FALSE(parse_command("a SEARCH MODSEQ \"/x/\\\\Seen\" all 5"));
  EXPECT_FALSE(parse_command("a SEARCH MODSEQ \"/flags/\\\\Seen\" both 5"));
  EXPECT_FALSE(parse_command("a SEARCH MODSEQ \"/flags/\\\\Seen\" all"));
  EXPECT_FALSE(parse_command("a SEARCH MODSEQ -1"));
  EXPECT_FALSE(parse_command("a SEARCH NOT MODSEQ"));
}

TEST(ImapSearch, ArgumentsAreStringsOrAtoms) {
  EXPECT_EQ(describe_parse("a SEARCH SUBJECT {3}\r\na b"), "a SEARCH (subject <a b>)");
  EXPECT_EQ(describe_parse("a SEARCH FROM \"\""), "a SEARCH (from)");
  EXPECT_EQ(describe_parse("a SEARCH LARGER 0 SMALLER 01"), "a SEARCH (and (larger 0) (smaller 1))");
  EXPECT_FALSE(parse_command("a SEARCH LARGER -1"));
  EXPECT_FALSE(parse_command("a SEARCH KEYWORD \\Seen"));
  EXPECT_FALSE(parse_command("a SEARCH BEFORE"));
  EXPECT_FALSE(parse_command("a SEARCH SINCE \"1-Jan-2000"));
  EXPECT_FALSE(parse_command("a SEARCH SEEN  DRAFT"));
  EXPECT_FALSE(parse_command("a SEARCH CHARSET UTF-8"));
  EXPECT_FALSE(parse_command("a SEARCH RETURN (MIN) RETURN (MAX) ALL"));
}

}  // namespace
}  // namespace valija::imap::proto
