#include "mail/address.hpp"

#include <gtest/gtest.h>

namespace valija::mail {
namespace {

struct PathCase {
  std::string in;
  bool ok;
  std::string local, domain;
  AddressError err = AddressError::Syntax;
};

std::string repeat(char c, std::size_t n) { return std::string(n, c); }

TEST(Address, PathTable) {
  const std::vector<PathCase> cases = {
      {"<ana@example.org>", true, "ana", "example.org"},
      {"<Ana.Maria@Example.ORG>", true, "Ana.Maria", "example.org"},
      {"<\"ana maria\"@example.org>", true, "ana maria", "example.org"},
      {"<\"a\\\"b\"@example.org>", true, "a\"b", "example.org"},
      {"<\"user@foreign\"@example.org>", true, "user@foreign", "example.org"},
      {"<user%foreign@example.org>", true, "user%foreign", "example.org"},
      {"<foreign!user@example.org>", true, "foreign!user", "example.org"},
      {"<@relay.example,@b.example:ana@example.org>", true, "ana", "example.org"},
      {"<ana@[127.0.0.1]>", true, "ana", "[127.0.0.1]"},
      {"<ana@[IPv6:::1]>", true, "ana", "[IPv6:::1]"},
      {"<ana@[IPv6:2001:db8::1]>", true, "ana", "[IPv6:2001:db8::1]"},
      {"<ana@[300.0.0.1]>", false, "", ""},
      {"<ana@[foo:bar]>", false, "", ""},
      {"<ana>", false, "", ""},
      {"<@example.org>", false, "", ""},
      {"<ana@>", false, "", ""},
      {"<.ana@example.org>", false, "", ""},
      {"<ana.@example.org>", false, "", ""},
      {"<a..b@example.org>", false, "", ""},
      {"<ana@-example.org>", false, "", ""},
      {"<ana@example..org>", false, "", ""},
      {"<ana@exa_mple.org>", false, "", ""},
      {"ana@example.org", false, "", ""},
      {"<ana@example.org", false, "", ""},
      {"<ana b@example.org>", false, "", ""},
      {"<\"unterminated@example.org>", false, "", ""},
      {"<@relay.example:>", false, "", ""},
      {"<ana@example.org\x01>", false, "", ""},
  };
  AddressLimits limits;
  for (const auto& c : cases) {
    std::string_view rest;
    auto r = parse_path(c.in, false, true, limits, rest);
    EXPECT_EQ(r.has_value(), c.ok) << c.in;
    if (r && c.ok) {
      EXPECT_EQ(r->local, c.local) << c.in;
      EXPECT_EQ(r->domain, c.domain) << c.in;
      EXPECT_TRUE(rest.empty()) << c.in;
    }
  }
}

TEST(Address, NullPathOnlyWhenAllowed) {
  std::string_view rest;
  auto r = parse_path("<>", true, false, {}, rest);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->empty());
  EXPECT_FALSE(parse_path("<>", false, false, {}, rest));
}

TEST(Address, RestAfterPath) {
  std::string_view rest;
  auto r = parse_path("<a@b.c> SIZE=10", false, false, {}, rest);
  ASSERT_TRUE(r);
  EXPECT_EQ(rest, " SIZE=10");
  // '>' inside a quoted local part does not end the path.
  r = parse_path("<\"a>b\"@b.c> X", false, false, {}, rest);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->local, "a>b");
  EXPECT_EQ(rest, " X");
}

TEST(Address, LengthLimits) {
  AddressLimits limits;
  std::string_view rest;
  auto local64 = repeat('a', 64);
  EXPECT_TRUE(parse_path("<" + local64 + "@example.org>", false, false, limits, rest));
  auto r = parse_path("<" + repeat('a', 65) + "@example.org>", false, false, limits, rest);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), AddressError::LocalTooLong);
  // Quoted local part: the limit applies to its content.
  r = parse_path("<\"" + repeat('a', 65) + "\"@example.org>", false, false, limits, rest);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), AddressError::LocalTooLong);
  // Domain of 4 x 63-octet labels = 255 octets: allowed by the domain limit, but the
  // path (with "<a@" and ">") is then longer than 256.
  std::string label = repeat('d', 63);
  std::string domain255 = label + "." + label + "." + label + "." + label;
  ASSERT_EQ(domain255.size(), 255u);
  r = parse_path("<a@" + domain255 + ">", false, false, limits, rest);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), AddressError::PathTooLong);
  auto mb = parse_mailbox("a@" + domain255, false, limits);
  EXPECT_TRUE(mb);
  mb = parse_mailbox("a@" + domain255 + "x", false, limits);
  ASSERT_FALSE(mb);
  EXPECT_EQ(mb.error(), AddressError::DomainTooLong);
  // Labels longer than 63 octets are not a domain.
  EXPECT_FALSE(parse_mailbox("a@" + repeat('d', 64) + ".org", false, limits));
}

TEST(Address, Utf8NeedsSmtpUtf8) {
  std::string_view rest;
  auto r = parse_path("<jos\xc3\xa9@example.org>", false, false, {}, rest);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), AddressError::Utf8NotAllowed);
  r = parse_path("<jos\xc3\xa9@ex\xc3\xa4mple.org>", false, true, {}, rest);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->utf8);
  EXPECT_EQ(r->local, "jos\xc3\xa9");
  // Malformed UTF-8 (truncated sequence, overlong, surrogate) is refused even with SMTPUTF8.
  EXPECT_FALSE(parse_path("<jos\xc3@example.org>", false, true, {}, rest));
  EXPECT_FALSE(parse_path("<a\xc0\xaf@example.org>", false, true, {}, rest));
  EXPECT_FALSE(parse_path("<a\xed\xa0\x80@example.org>", false, true, {}, rest));
}

TEST(Address, StrQuotesWhenNeeded) {
  Mailbox m{"ana", "example.org"};
  EXPECT_EQ(m.str(), "ana@example.org");
  m.local = "ana maria";
  EXPECT_EQ(m.str(), "\"ana maria\"@example.org");
  m.local = "a\"b";
  EXPECT_EQ(m.str(), "\"a\\\"b\"@example.org");
  EXPECT_EQ(Mailbox{}.str(), "");
}

TEST(Address, DomainGrammar) {
  EXPECT_TRUE(is_domain("example.org", false));
  EXPECT_TRUE(is_domain("a-b.example", false));
  EXPECT_TRUE(is_domain("localhost", false));
  EXPECT_FALSE(is_domain("", false));
  EXPECT_FALSE(is_domain("a-.example", false));
  EXPECT_FALSE(is_domain("example.org.", false));
  EXPECT_FALSE(is_domain("ex ample.org", false));
}

}  // namespace
}  // namespace valija::mail
