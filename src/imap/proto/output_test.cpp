#include "imap/proto/output.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "imap/proto/command.hpp"

namespace valija::imap::proto {
namespace {

std::string astr(std::string_view s, bool utf8 = false) {
  std::string out;
  write_astring(out, s, utf8);
  return out;
}

std::string str(std::string_view s, bool utf8 = false) {
  std::string out;
  write_string(out, s, utf8);
  return out;
}

TEST(Output, Strings) {
  EXPECT_EQ(astr("INBOX"), "INBOX");
  EXPECT_EQ(astr("a]b"), "a]b");
  EXPECT_EQ(astr(""), "\"\"");
  EXPECT_EQ(astr("NIL"), "\"NIL\"");
  EXPECT_EQ(astr("a b"), "\"a b\"");
  EXPECT_EQ(astr("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(astr("a%"), "\"a%\"");
  EXPECT_EQ(str("abc"), "\"abc\"");
  EXPECT_EQ(str("a\r\nb"), "{4}\r\na\r\nb");
  EXPECT_EQ(str("Grüße"), "{7}\r\nGrüße");
  EXPECT_EQ(str("Grüße", true), "\"Grüße\"");
  EXPECT_EQ(str("\xff", true), "{1}\r\n\xff");  // not UTF-8: literal even with UTF8=ACCEPT
  EXPECT_EQ(str(std::string(kQuotedMax + 1, 'a')).substr(0, 7), "{1025}\r");
  std::string out;
  write_nstring(out, std::nullopt, false);
  out += ' ';
  write_nstring(out, "x", false);
  EXPECT_EQ(out, "NIL \"x\"");
  out.clear();
  write_literal(out, std::string("a\0b", 3), true);
  EXPECT_EQ(out, std::string("~{3}\r\na\0b", 9));
}

TEST(Output, MailboxNames) {
  std::string out;
  write_mailbox(out, "Entwürfe", false);
  EXPECT_EQ(out, "Entw&APw-rfe");
  out.clear();
  write_mailbox(out, "Entwürfe", true);
  EXPECT_EQ(out, "\"Entwürfe\"");
  out.clear();
  write_mailbox(out, "My Mail/台北", false);
  EXPECT_EQ(out, "\"My Mail/&U,BTFw-\"");
}

TEST(Output, FlagsAndDates) {
  std::string out;
  std::vector<std::string> flags = {"\\Seen", "\\Deleted", "$Forwarded"};
  write_flag_list(out, flags);
  EXPECT_EQ(out, "(\\Seen \\Deleted $Forwarded)");
  out.clear();
  write_flag_list(out, std::vector<std::string>{});
  EXPECT_EQ(out, "()");
  out.clear();
  write_date_time(out, 837596665, -420);
  EXPECT_EQ(out, "\"17-Jul-1996 02:44:25 -0700\"");
}

// What the writer produces, the parser reads back.
TEST(Output, RoundTripThroughParser) {
  for (std::string_view s : {"plain", "", "NIL", "with space", "q\"uote\\", "line\r\nbreak", "Grüße", "a]b", "{5}"}) {
    for (bool utf8 : {false, true}) {
      std::string cmd = "a LOGIN ";
      write_astring(cmd, s, utf8);
      cmd += ' ';
      write_string(cmd, s, utf8);
      auto c = parse_command(cmd);
      ASSERT_TRUE(c) << cmd << ": " << c.error().text;
      const auto& l = std::get<cmd::Login>(c->args);
      EXPECT_EQ(l.user, s);
      EXPECT_EQ(l.password, s);
    }
  }
}

TEST(Output, ErrorRendering) {
  ParseError e{"A1", Status::Bad, Code::TooBig, "Literal too large", false};
  EXPECT_EQ(e.render(), "A1 BAD [TOOBIG] Literal too large\r\n");
  e.close = true;
  e.status = Status::No;
  EXPECT_EQ(e.render(), "* BYE Literal too large\r\nA1 NO [TOOBIG] Literal too large\r\n");
  ParseError u{"", Status::Bad, Code::None, "Empty command", false};
  EXPECT_EQ(u.render(), "* BAD Empty command\r\n");
}

}  // namespace
}  // namespace valija::imap::proto
