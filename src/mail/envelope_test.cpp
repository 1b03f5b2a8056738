#include "mail/envelope.hpp"

#include <gtest/gtest.h>

#include "mail/address_list.hpp"

namespace valija::mail {
namespace {

std::string list(std::string_view raw) {
  std::string out;
  append_address_list(out, parse_address_list(raw));
  return out;
}

TEST(AddressList, Table) {
  struct Case {
    const char* in;
    const char* out;
  };
  const Case cases[] = {
      {"a@b", R"(((NIL NIL "a" "b")))"},
      {"", "NIL"},
      {" (only a comment) ", "NIL"},
      {"\"Joe Q. Public\" <john.q.public@example.com>", R"((("Joe Q. Public" NIL "john.q.public" "example.com")))"},
      {"Joe Q. Public <j@x>", R"((("Joe Q. Public" NIL "j" "x")))"},
      {"\"\" <a@b>", R"(((NIL NIL "a" "b")))"},
      {"a@b.c (Comment Name)", R"((("Comment Name" NIL "a" "b.c")))"},
      {"Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>", R"((("Pete" NIL "pete" "silly.test")))"},
      {"\"john doe\"@x.y, \"a\\\"b\"@c", R"(((NIL NIL "john doe" "x.y")(NIL NIL "a\"b" "c")))"},
      {"jdoe@test  . example", R"(((NIL NIL "jdoe" "test.example")))"},
      {"a@[192.0.2.1]", R"(((NIL NIL "a" "[192.0.2.1]")))"},
      // RFC 3501 §7.4.2 group syntax, empty groups, unterminated group
      {"undisclosed-recipients:;", R"(((NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL)))"},
      {"g: a@b, c@d; e@f", R"(((NIL NIL "g" NIL)(NIL NIL "a" "b")(NIL NIL "c" "d")(NIL NIL NIL NIL)(NIL NIL "e" "f")))"},
      {"g: a@b", R"(((NIL NIL "g" NIL)(NIL NIL "a" "b")(NIL NIL NIL NIL)))"},
      {"A Group(Some people):Chris Jones <c@(Chris's host.)public.example>, joe@example.org;",
       R"(((NIL NIL "A Group" NIL)("Chris Jones" NIL "c" "public.example")(NIL NIL "joe" "example.org")(NIL NIL NIL NIL)))"},
      // obsolete routes (RFC 5322 §4.4)
      {"<@a.b,@c.d:e@f>", R"(((NIL "@a.b,@c.d" "e" "f")))"},
      {"Mary <@node.test:mary@example.net>", R"((("Mary" "@node.test" "mary" "example.net")))"},
      {"@a.b:c@d", R"(((NIL "@a.b" "c" "d")))"},
      // malformed, as Dovecot marks it
      {"foo", R"(((NIL NIL "foo" "MISSING_DOMAIN")))"},
      {"<>", R"(((NIL NIL "MISSING_MAILBOX" "MISSING_DOMAIN")))"},
      {"@", R"(((NIL NIL "MISSING_MAILBOX" "MISSING_DOMAIN")))"},
      {"a b c", R"((("a b c" NIL "MISSING_MAILBOX" "MISSING_DOMAIN")))"},
      {"a@", R"(((NIL NIL "a" "MISSING_DOMAIN")))"},
      {"a@b c@d", R"(((NIL NIL "a" "b")))"},
      {"Name <a@b> <c@d>, x@y", R"((("Name" NIL "a" "b")(NIL NIL "x" "y")))"},
      {"a@b, , ,c@d", R"(((NIL NIL "a" "b")(NIL NIL "c" "d")))"},
      {"\"unterminated <a@b>", R"((("unterminated <a@b>" NIL "MISSING_MAILBOX" "MISSING_DOMAIN")))"},
      {"J\xC3\xB6rg <j@x>", "((" "{5}\r\nJ\xC3\xB6rg" R"( NIL "j" "x")))"},
  };
  for (const auto& c : cases) EXPECT_EQ(list(c.in), c.out) << c.in;
}

TEST(AddressList, BoundedAndLinear) {
  std::string many;
  for (int i = 0; i < 50000; ++i) many += "a" + std::to_string(i) + "@b,";
  EXPECT_EQ(parse_address_list(many, 100).size(), 100u);
  std::string parens(100000, '(');
  EXPECT_TRUE(parse_address_list(parens).empty());
  std::string junk(100000, ':');
  parse_address_list(junk);
}

TEST(Envelope, RendersRfc3501Example) {
  std::string header =
      "Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\r\n"
      "From: Terry Gray <gray@cac.washington.edu>\r\n"
      "Subject: IMAP4rev1 WG mtg summary and minutes\r\n"
      "To: imap@cac.washington.edu\r\n"
      "cc: minutes@CNRI.Reston.VA.US,\r\n John Klensin <KLENSIN@MIT.EDU>\r\n"
      "Message-Id: <B27397-0100000@cac.washington.edu>\r\n\r\n";
  // RFC 3501 §6.4.5 FETCH response example.
  EXPECT_EQ(render_envelope(envelope_from_header(header)),
            "(\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" \"IMAP4rev1 WG mtg summary and minutes\" "
            "((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) "
            "((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) "
            "((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) "
            "((NIL NIL \"imap\" \"cac.washington.edu\")) "
            "((NIL NIL \"minutes\" \"CNRI.Reston.VA.US\")(\"John Klensin\" NIL \"KLENSIN\" \"MIT.EDU\")) "
            "NIL NIL \"<B27397-0100000@cac.washington.edu>\")");
}

TEST(Envelope, DefaultsAndDuplicates) {
  auto env = envelope_from_header(
      "From: a@b\r\nSender: \r\nReply-To: (nobody)\r\nSubject: one\r\nSubject:  two \r\n\tlines \r\n"
      "To: x@y\r\nTo: z@w\r\nIn-Reply-To: <p@q>\r\n\r\n");
  EXPECT_EQ(env.subject, "two \tlines ");
  EXPECT_EQ(env.to, "x@y,z@w");
  // Empty Sender and Reply-To fall back to From (RFC 3501 §7.4.2); whitespace collapsed in the subject.
  EXPECT_EQ(render_envelope(env),
            "(NIL \"two lines\" ((NIL NIL \"a\" \"b\")) ((NIL NIL \"a\" \"b\")) ((NIL NIL \"a\" \"b\")) "
            "((NIL NIL \"x\" \"y\")(NIL NIL \"z\" \"w\")) NIL NIL \"<p@q>\" NIL)");
  EXPECT_EQ(render_envelope(Envelope{}), "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
}

TEST(Envelope, FieldValuesAreCapped) {
  std::string header = "Subject: " + std::string(100000, 's') + "\r\n";
  for (int i = 0; i < 1000; ++i) header += "To: " + std::string(100, 't') + "@x\r\n";
  auto env = envelope_from_header(header, 1000);
  EXPECT_EQ(env.subject->size(), 1000u);
  EXPECT_LE(env.to->size(), 1000u);
}

}  // namespace
}  // namespace valija::mail
