#include "mail/header.hpp"

#include <gtest/gtest.h>

#include "mail/imap_string.hpp"

namespace valija::mail {
namespace {

TEST(Header, ReaderGivesRawFieldsWithOffsets) {
  std::string block = "Subject: a\r\n b\r\nX-Empty:\r\nFrom : me\r\nno colon here\r\n\r\nbody: no\r\n";
  HeaderReader r(block);
  auto f = r.next();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->name, "Subject");
  EXPECT_EQ(f->value, " a\r\n b");
  EXPECT_EQ(f->begin, 0u);
  EXPECT_EQ(f->end, 16u);
  f = r.next();
  EXPECT_EQ(f->name, "X-Empty");
  EXPECT_EQ(f->value, "");
  f = r.next();
  EXPECT_EQ(f->name, "From");  // WSP before the colon (RFC 5322 §4.5.3)
  EXPECT_EQ(f->value, " me");
  f = r.next();
  EXPECT_EQ(f->name, "no colon here");
  EXPECT_EQ(f->value, "");
  EXPECT_FALSE(r.next());
  EXPECT_EQ(block.substr(r.position(), 2), "\r\n");
}

TEST(Header, BareLfAndNoFinalLineBreak) {
  HeaderReader r("A: 1\n\tcont\nB: 2");
  auto a = r.next();
  EXPECT_EQ(a->value, " 1\n\tcont");
  auto b = r.next();
  EXPECT_EQ(b->name, "B");
  EXPECT_EQ(b->value, " 2");
  EXPECT_EQ(b->end, 15u);
  EXPECT_FALSE(r.next());
}

TEST(Header, Unfold) {
  EXPECT_EQ(unfold(" a\r\n b\r\n\tc"), " a b\tc");
  EXPECT_EQ(unfold_trim_leading(" \t a\n b "), "a b ");
  EXPECT_EQ(collapse_whitespace("  a \t\r\n  b  "), "a b");
  EXPECT_EQ(find_field("A: 1\r\nb: 2\r\nB: 3\r\n\r\n", "B"), " 2");
  EXPECT_FALSE(find_field("A: 1\r\n\r\nB: 3\r\n", "B"));
}

TEST(Header, SelectFields) {
  std::string block = "From: a\r\nTo: b,\r\n c\r\nSubject: s\r\nto: d\r\n\r\n";
  std::vector<std::string_view> to = {"TO"};
  EXPECT_EQ(select_fields(block, to, false), "To: b,\r\n c\r\nto: d\r\n\r\n");
  EXPECT_EQ(select_fields(block, to, true), "From: a\r\nSubject: s\r\n\r\n");
  std::vector<std::string_view> none = {"X-None"};
  EXPECT_EQ(select_fields(block, none, false), "\r\n");  // the blank line is always included
  // RFC 3501 §6.4.5: no blank line when the message has none.
  EXPECT_EQ(select_fields("From: a\r\nTo: b", to, false), "To: b\r\n");
  EXPECT_EQ(select_fields("From: a\nTo: b\n\n", to, false), "To: b\n\n");
}

TEST(ImapString, QuotedOrLiteral) {
  EXPECT_EQ(imap_string("plain"), "\"plain\"");
  EXPECT_EQ(imap_string(""), "\"\"");
  EXPECT_EQ(imap_string("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(imap_string("line\r\nbreak"), "{11}\r\nline\r\nbreak");
  EXPECT_EQ(imap_string("a\xC3\xB1o"), "{4}\r\na\xC3\xB1o");
  EXPECT_EQ(imap_string(std::string("n\0l", 3)), "{5}\r\nn\xEF\xBF\xBDl");
  std::string long_value(kImapMaxQuoted + 1, 'x');
  EXPECT_EQ(imap_string(long_value), "{1025}\r\n" + long_value);
  EXPECT_EQ(imap_string(std::string(kImapMaxQuoted, 'y')), "\"" + std::string(kImapMaxQuoted, 'y') + "\"");
  EXPECT_EQ(imap_nstring(std::nullopt), "NIL");
  EXPECT_EQ(imap_nstring(std::string("NIL")), "\"NIL\"");
}

}  // namespace
}  // namespace valija::mail
