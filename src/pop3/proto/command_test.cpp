#include "pop3/proto/command.hpp"

#include <gtest/gtest.h>

namespace valija::pop3::proto {
namespace {

using namespace std::string_literals;

Command ok(std::string_view line) {
  auto c = parse_command(line);
  EXPECT_TRUE(c) << "line: " << line << " error: " << (c ? "" : c.error().text);
  return c ? *c : Command{};
}

ParseError bad(std::string_view line) {
  auto c = parse_command(line);
  EXPECT_FALSE(c) << "line: " << line;
  return c ? ParseError{} : c.error();
}

TEST(Pop3Command, EveryVerbCaseInsensitive) {
  const std::pair<std::string_view, Verb> kLines[] = {
      {"USER alice", Verb::User}, {"pass x", Verb::Pass},   {"APOP a 0123456789abcdef0123456789abcdef", Verb::Apop},
      {"AuTh", Verb::Auth},       {"capa", Verb::Capa},     {"Stls", Verb::Stls},
      {"utf8", Verb::Utf8},       {"stat", Verb::Stat},     {"list", Verb::List},
      {"retr 1", Verb::Retr},     {"dele 1", Verb::Dele},   {"noop", Verb::Noop},
      {"rset", Verb::Rset},       {"top 1 0", Verb::Top},   {"uidl", Verb::Uidl},
      {"QUIT", Verb::Quit},
  };
  for (const auto& [line, verb] : kLines) {
    EXPECT_EQ(ok(line).verb, verb) << line;
    EXPECT_FALSE(verb_name(verb).empty());
  }
  EXPECT_EQ(verb_name(Verb::Top), "TOP");
  EXPECT_EQ(verb_name(Verb::Utf8), "UTF8");
}

TEST(Pop3Command, UnknownIsNotSyntax) {
  for (std::string_view line : {"XTND XMIT", "HELO x", "STATS", "ST", "LAST", "RPOP x", "USERS a", "LANG", "\xff\xfe",
                                "ST\x01T", "STAT\t"}) {
    auto e = bad(line);
    EXPECT_EQ(e.code, ParseErrc::Unknown) << line;
    EXPECT_FALSE(e.verb) << line;
    EXPECT_EQ(e.text, "Unknown command");
  }
}

TEST(Pop3Command, NoArgumentCommands) {
  for (std::string_view v : {"CAPA", "STLS", "UTF8", "STAT", "NOOP", "RSET", "QUIT"}) {
    EXPECT_TRUE(parse_command(v)) << v;
    EXPECT_TRUE(parse_command(std::string(v) + " ")) << v;  // trailing space tolerated
    auto e = bad(std::string(v) + " x");
    EXPECT_EQ(e.code, ParseErrc::Syntax) << v;
    ASSERT_TRUE(e.verb);
  }
}

TEST(Pop3Command, Separators) {
  EXPECT_EQ(bad(" STAT").code, ParseErrc::Syntax);        // empty keyword
  EXPECT_EQ(bad("").code, ParseErrc::Syntax);
  EXPECT_EQ(bad("LIST  1").code, ParseErrc::Syntax);     // two spaces
  EXPECT_EQ(bad("TOP 1  2").code, ParseErrc::Syntax);
  EXPECT_EQ(bad("LIST\t1").code, ParseErrc::Unknown);    // tab is not a separator
  EXPECT_EQ(ok("LIST 1 ").msg, 1u);                      // trailing spaces dropped
  EXPECT_EQ(ok("TOP 1 2   ").lines, 2u);
  EXPECT_EQ(bad("TOP 1 2 3").code, ParseErrc::Syntax);
  EXPECT_EQ(bad("TOP 1 2 3 4 5 6 7").code, ParseErrc::Syntax);
}

TEST(Pop3Command, ControlCharactersRefused) {
  for (auto line : {"STAT\0"s, "LIST 1\r"s, "US\nER a"s, "USER a\0b"s, "PASS a\0b"s, "PASS a\rb"s, "PASS \n"s}) {
    auto e = bad(line);
    EXPECT_EQ(e.code, ParseErrc::Syntax);
  }
}

TEST(Pop3Command, MessageNumbers) {
  EXPECT_EQ(ok("RETR 1").msg, 1u);
  EXPECT_EQ(ok("RETR 2147483647").msg, 2147483647u);
  EXPECT_EQ(ok("DELE 0007").msg, 7u);  // leading zeros are still decimal
  EXPECT_EQ(ok("LIST 00000000000000000000000000001").msg, 1u);
  EXPECT_FALSE(ok("LIST").msg);
  EXPECT_FALSE(ok("UIDL").msg);
  EXPECT_EQ(ok("UIDL 3").msg, 3u);

  for (std::string_view line : {"RETR 0", "RETR 2147483648", "RETR 4294967296", "RETR 99999999999999999999999",
                                "LIST 0", "UIDL 000", "DELE 4294967295", "TOP 0 1"}) {
    auto e = bad(line);
    EXPECT_EQ(e.code, ParseErrc::Range) << line;
    EXPECT_EQ(e.text, "Invalid message number") << line;
  }
  for (std::string_view line : {"RETR", "DELE", "RETR -1", "RETR +1", "RETR 1a", "RETR 0x10", "RETR 1.0", "RETR 1 2",
                                "LIST a", "UIDL -0", "RETR \xd9\xa1"}) {
    auto e = bad(line);
    EXPECT_EQ(e.code, ParseErrc::Syntax) << line;
    EXPECT_TRUE(e.verb) << line;
  }
}

TEST(Pop3Command, Top) {
  auto c = ok("TOP 3 0");
  EXPECT_EQ(c.msg, 3u);
  EXPECT_EQ(c.lines, 0u);
  EXPECT_EQ(ok("TOP 1 2147483647").lines, 2147483647u);
  EXPECT_EQ(bad("TOP 1 2147483648").code, ParseErrc::Range);
  EXPECT_EQ(bad("TOP 1 2147483648").text, "Invalid line count");
  EXPECT_EQ(bad("TOP 1").code, ParseErrc::Syntax);
  EXPECT_EQ(bad("TOP").code, ParseErrc::Syntax);
  EXPECT_EQ(bad("TOP 1 -1").code, ParseErrc::Syntax);
  EXPECT_EQ(bad("TOP x 1").code, ParseErrc::Syntax);
}

TEST(Pop3Command, User) {
  EXPECT_EQ(ok("USER alice@example.org").arg, "alice@example.org");
  EXPECT_EQ(ok("USER j\xc3\xb6rg").arg, "j\xc3\xb6rg");  // RFC 6856 UTF-8 user names
  EXPECT_EQ(ok("USER bob ").arg, "bob");
  EXPECT_EQ(bad("USER").code, ParseErrc::Syntax);
  EXPECT_EQ(bad("USER ").code, ParseErrc::Syntax);
  EXPECT_EQ(bad("USER a b").code, ParseErrc::Syntax);
  EXPECT_EQ(bad("USER \xff").code, ParseErrc::Syntax);          // not UTF-8
  EXPECT_EQ(bad("USER \xc0\xaf").code, ParseErrc::Syntax);      // overlong
  EXPECT_EQ(bad("USER a\x7f").code, ParseErrc::Syntax);
  EXPECT_EQ(bad("USER a\tb").code, ParseErrc::Syntax);
  EXPECT_EQ(bad("USER a b").verb, Verb::User);
}

TEST(Pop3Command, PassKeepsSpacesAndNeverEchoes) {
  EXPECT_EQ(ok("PASS secret").arg, "secret");
  EXPECT_EQ(ok("PASS my secret pass ").arg, "my secret pass ");  // RFC 1939 §7
  EXPECT_EQ(ok("PASS  lead").arg, " lead");
  EXPECT_EQ(ok("PASS p\xc3\xa4ss").arg, "p\xc3\xa4ss");
  EXPECT_EQ(ok("PASS caf\xe9").arg, "caf\xe9");  // legacy 8-bit passwords
  EXPECT_EQ(bad("PASS").code, ParseErrc::Syntax);
  EXPECT_EQ(bad("PASS ").code, ParseErrc::Syntax);
  auto e = bad("PASS hunter2\x01");
  EXPECT_EQ(e.code, ParseErrc::Syntax);
  EXPECT_EQ(e.verb, Verb::Pass);
  EXPECT_EQ(e.text.find("hunter2"), std::string::npos);
  EXPECT_EQ(bad("PASS a\tb").code, ParseErrc::Syntax);
}

TEST(Pop3Command, Apop) {
  auto c = ok("APOP mrose c4c9334bac560ecc979e58001b3e22fb");  // RFC 1939 §7 example
  EXPECT_EQ(c.arg, "mrose");
  EXPECT_EQ(c.digest, "c4c9334bac560ecc979e58001b3e22fb");
  EXPECT_EQ(ok("APOP mrose C4C9334BAC560ECC979E58001B3E22FB").digest, "c4c9334bac560ecc979e58001b3e22fb");
  for (std::string_view line : {"APOP", "APOP mrose", "APOP mrose c4c9334bac560ecc979e58001b3e22f",
                                "APOP mrose c4c9334bac560ecc979e58001b3e22fbb", "APOP mrose g4c9334bac560ecc979e58001b3e22fb",
                                "APOP mrose c4c9334bac560ecc979e58001b3e22fb x", "APOP \xff c4c9334bac560ecc979e58001b3e22fb"}) {
    EXPECT_EQ(bad(line).code, ParseErrc::Syntax) << line;
  }
}

TEST(Pop3Command, Auth) {
  auto bare = ok("AUTH");
  EXPECT_TRUE(bare.arg.empty());
  EXPECT_FALSE(bare.initial_response);
  auto m = ok("AUTH plain");
  EXPECT_EQ(m.arg, "plain");
  EXPECT_FALSE(m.initial_response);
  auto ir = ok("AUTH PLAIN AGJvYgBzZWNyZXQ=");
  EXPECT_EQ(ir.initial_response, "AGJvYgBzZWNyZXQ=");
  EXPECT_EQ(ok("AUTH PLAIN =").initial_response, "=");  // RFC 5034 §4 empty initial response
  EXPECT_EQ(ok("AUTH SCRAM-SHA-256").arg, "SCRAM-SHA-256");  // the engine decides what is supported
  EXPECT_EQ(ok("AUTH X_Y-1 *").initial_response, "*");       // the SASL module refuses it
  for (std::string_view line : {"AUTH PL@IN", "AUTH ABCDEFGHIJKLMNOPQRSTU", "AUTH PLAIN a b", "AUTH PLAIN \xc3\xa9",
                                "AUTH PLAIN a\x7f", "AUTH  PLAIN"}) {
    auto e = bad(line);
    EXPECT_EQ(e.code, ParseErrc::Syntax) << line;
    EXPECT_EQ(e.verb, Verb::Auth);
  }
}

TEST(Pop3Command, LineLimit) {
  // 512 octets with CRLF: a 510-octet line is the longest accepted.
  std::string user = "USER " + std::string(505, 'a');
  ASSERT_EQ(user.size(), 510u);
  EXPECT_TRUE(parse_command(user));
  auto e = bad(user + "a");
  EXPECT_EQ(e.code, ParseErrc::TooLong);
  EXPECT_NE(e.text.find("512"), std::string::npos);
  // The RFC 2449 limit, if a stricter server wants it.
  EXPECT_TRUE(parse_command(std::string(253, 'x').replace(0, 5, "USER "), 255));
  EXPECT_EQ(parse_command(std::string(254, 'x').replace(0, 5, "USER "), 255).error().code, ParseErrc::TooLong);
  // Long garbage is TooLong before anything else is looked at.
  EXPECT_EQ(bad(std::string(100000, '\0')).code, ParseErrc::TooLong);
}

}  // namespace
}  // namespace valija::pop3::proto
