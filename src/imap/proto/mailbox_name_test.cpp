#include "imap/proto/mailbox_name.hpp"

#include <gtest/gtest.h>

namespace valija::imap::proto {
namespace {

std::string decode(std::string_view s) {
  auto r = mutf7_decode(s);
  EXPECT_TRUE(r) << s << ": " << (r ? "" : r.error().text);
  return r ? *r : std::string();
}

TEST(Mutf7, RoundTrips) {
  const std::pair<std::string_view, std::string_view> kCases[] = {
      {"Entwürfe", "Entw&APw-rfe"},
      {"台北", "&U,BTFw-"},
      {"&", "&-"},
      {"A&B", "A&-B"},
      {"INBOX", "INBOX"},
      {"~peter/mail/日本語/台北", "~peter/mail/&ZeVnLIqe-/&U,BTFw-"},
      {"😀", "&2D3eAA-"},
      {"", ""},
      {"a\tb", "a&AAk-b"},
  };
  for (const auto& [utf8, wire] : kCases) {
    EXPECT_EQ(mutf7_encode(utf8), wire) << utf8;
    EXPECT_EQ(decode(wire), utf8) << wire;
  }
  EXPECT_EQ(decode("&-&-"), "&&");
  EXPECT_EQ(decode("&U,BTFw-&-"), "台北&");
}

TEST(Mutf7, RejectsMalformedAndNonCanonical) {
  for (std::string_view s : {
           "&AGE-&AGE-",   // encoded ASCII, and two runs in a row
           "&AGE-",        // "a" encoded
           "&U,BTFw-&ZeVnLIqe-",  // adjacent runs: canonical is one run
           "&",            // unterminated
           "&U,BTFw",      // no "-"
           "&U,BTF!-",     // not base64
           "&U/BTFw-",     // "/" is not modified base64
           "&U,BTFx-",     // non-zero padding bits
           "&U,BTFwA-",    // superfluous base64 character
           "&A-",          // 6 bits: nothing
           "&2D0-",        // lone high surrogate
           "&3gA-",        // lone low surrogate
           "&2D3YPQ-",     // high surrogate followed by a high surrogate
           "Entwürfe",     // raw 8-bit
           "a\tb",         // raw control
           "a\x7f",
       }) {
    auto r = mutf7_decode(s);
    ASSERT_FALSE(r) << s;
    EXPECT_EQ(r.error().code, NameErrc::BadMutf7) << s;
    EXPECT_TRUE(r.error().is_encoding());
  }
}

TEST(MailboxName, Validation) {
  ParserLimits lim;
  const std::pair<std::string_view, NameErrc> kBad[] = {
      {"", NameErrc::Empty},
      {"../x", NameErrc::DotComponent},
      {"a/./b", NameErrc::DotComponent},
      {"a/..", NameErrc::DotComponent},
      {"/abs", NameErrc::EmptyComponent},
      {"a//b", NameErrc::EmptyComponent},
      {"a/", NameErrc::EmptyComponent},
      {"/", NameErrc::EmptyComponent},
      {"a\x01", NameErrc::ControlChar},
      {"a\nb", NameErrc::ControlChar},
      {"a\x7f", NameErrc::ControlChar},
      {"a\xc2\x85", NameErrc::ControlChar},  // U+0085 (C1)
      {"a*", NameErrc::Wildcard},
      {"a%b", NameErrc::Wildcard},
      {"\xff", NameErrc::BadUtf8},
      {"\xc3\x28", NameErrc::BadUtf8},
  };
  for (const auto& [name, code] : kBad) {
    auto r = normalize_mailbox_name(name, lim);
    ASSERT_FALSE(r) << name;
    EXPECT_EQ(r.error().code, code) << name;
    EXPECT_FALSE(r.error().text.empty());
  }
  EXPECT_EQ(normalize_mailbox_name(std::string(1025, 'a'), lim).error().code, NameErrc::TooLong);
  EXPECT_EQ(normalize_mailbox_name(std::string(256, 'a'), lim).error().code, NameErrc::ComponentTooLong);
  EXPECT_TRUE(normalize_mailbox_name(std::string(255, 'a') + "/" + std::string(255, 'b'), lim));
  std::string deep;
  for (int i = 0; i < 33; ++i) deep += (i ? "/" : "") + std::string("x");
  EXPECT_EQ(normalize_mailbox_name(deep, lim).error().code, NameErrc::TooDeep);
  EXPECT_TRUE(normalize_mailbox_name(deep.substr(2), lim));
}

TEST(MailboxName, InboxIsCaseInsensitiveInFirstLevelOnly) {
  ParserLimits lim;
  EXPECT_EQ(*normalize_mailbox_name("inbox", lim), "INBOX");
  EXPECT_EQ(*normalize_mailbox_name("InBox/Sub", lim), "INBOX/Sub");
  EXPECT_EQ(*normalize_mailbox_name("a/inbox", lim), "a/inbox");
  EXPECT_EQ(*normalize_mailbox_name("inboxes", lim), "inboxes");
  EXPECT_EQ(*normalize_mailbox_name("Entwürfe", lim), "Entwürfe");
  EXPECT_EQ(*normalize_mailbox_name("a b/ c.d", lim), "a b/ c.d");
}

TEST(MailboxName, FromAndToWire) {
  ParserLimits lim;
  EXPECT_EQ(*mailbox_from_wire("Entw&APw-rfe", false, lim), "Entwürfe");
  EXPECT_EQ(*mailbox_from_wire("Entw&APw-rfe", true, lim), "Entw&APw-rfe");  // UTF8=ACCEPT: "&" is plain
  EXPECT_EQ(*mailbox_from_wire("Entwürfe", true, lim), "Entwürfe");
  EXPECT_EQ(mailbox_from_wire("Entwürfe", false, lim).error().code, NameErrc::BadMutf7);
  EXPECT_EQ(*mailbox_from_wire("inbox/&U,BTFw-", false, lim), "INBOX/台北");
  EXPECT_EQ(mailbox_from_wire("&AAE-", false, lim).error().code, NameErrc::ControlChar);
  EXPECT_EQ(mailbox_from_wire("a/../b", false, lim).error().code, NameErrc::DotComponent);
  EXPECT_EQ(mailbox_from_wire(std::string(5000, 'a'), false, lim).error().code, NameErrc::TooLong);
  EXPECT_EQ(mailbox_to_wire("台北", false), "&U,BTFw-");
  EXPECT_EQ(mailbox_to_wire("台北", true), "台北");
}

TEST(ListPattern, Wildcards) {
  ListPattern all("", "*");
  for (auto n : {"INBOX", "a", "a/b/c"}) EXPECT_TRUE(all.matches(n)) << n;
  ListPattern top("", "%");
  EXPECT_TRUE(top.matches("INBOX"));
  EXPECT_FALSE(top.matches("a/b"));
  ListPattern sub("Archive/", "%");
  EXPECT_TRUE(sub.matches("Archive/2024"));
  EXPECT_FALSE(sub.matches("Archive/2024/Q1"));
  EXPECT_FALSE(sub.matches("Archive"));
  ListPattern mid("", "a%/b*");
  EXPECT_TRUE(mid.matches("ax/b"));
  EXPECT_TRUE(mid.matches("a/bcd/e"));
  EXPECT_FALSE(mid.matches("a/x/b"));
  ListPattern exact("", "Sent");
  EXPECT_TRUE(exact.matches("Sent"));
  EXPECT_FALSE(exact.matches("sent"));
  EXPECT_FALSE(exact.matches("Sent/x"));
  ListPattern empty("", "");
  EXPECT_FALSE(empty.matches("INBOX"));
  EXPECT_TRUE(empty.matches(""));
}

TEST(ListPattern, InboxCaseInsensitive) {
  EXPECT_TRUE(ListPattern("", "inbox").matches("INBOX"));
  EXPECT_TRUE(ListPattern("", "in%").matches("INBOX"));
  EXPECT_TRUE(ListPattern("", "Inbox/%").matches("INBOX/Sub"));
  EXPECT_FALSE(ListPattern("", "Inbox/sub").matches("INBOX/Sub"));
  EXPECT_FALSE(ListPattern("", "in%").matches("Income"));  // only INBOX folds case
}

TEST(ListPattern, NoExponentialBacktracking) {
  std::string pat;
  for (int i = 0; i < 500; ++i) pat += "*a%";
  ListPattern p("", pat + "b");
  std::string name(1000, 'a');
  EXPECT_FALSE(p.matches(name));  // quadratic at worst: returns at once
  EXPECT_EQ(ListPattern("", "**%%*").pattern(), "*");
  EXPECT_EQ(ListPattern("", "%%").pattern(), "%");
  ListPattern long_literal("", std::string(2000, 'a') + "*");
  EXPECT_FALSE(long_literal.matches(std::string(1000, 'a')));
}

}  // namespace
}  // namespace valija::imap::proto
