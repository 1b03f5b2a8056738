// DKIM: splitting a message, canonicalisation (RFC 6376 §3.4), header selection
// (§5.4.2) and the b= blanking of §3.7.
#include <gtest/gtest.h>

#include "policy/dkim_canon.hpp"

namespace valija::policy::dkim {
namespace {

std::vector<std::string> raws(const MessageParts& m) {
  std::vector<std::string> out;
  for (const auto& f : m.fields) out.emplace_back(f.raw);
  return out;
}

// ---------------- RFC 6376 §3.4.5 ----------------

// The example's header: "A: <SP> X <CRLF> B <SP> : <SP> Y <HTAB><CRLF> <HTAB> Z <SP><SP><CRLF>".
constexpr std::string_view kExample =
    "A: X\r\n"
    "B : Y\t\r\n"
    "\tZ  \r\n"
    "\r\n"
    " C \r\n"
    "D \t E\r\n"
    "\r\n"
    "\r\n";

TEST(DkimCanon, Rfc6376ExampleHeaderRelaxed) {
  auto m = split_message(kExample);
  ASSERT_EQ(m.fields.size(), 2u);
  std::string out;
  for (const auto& f : m.fields) append_canon_header(out, Canon::Relaxed, f.raw);
  EXPECT_EQ(out, "a:X\r\nb:Y Z\r\n");
}

TEST(DkimCanon, Rfc6376ExampleHeaderSimple) {
  auto m = split_message(kExample);
  std::string out;
  for (const auto& f : m.fields) append_canon_header(out, Canon::Simple, f.raw);
  EXPECT_EQ(out, "A: X\r\nB : Y\t\r\n\tZ  \r\n");
}

TEST(DkimCanon, Rfc6376ExampleBody) {
  auto m = split_message(kExample);
  EXPECT_EQ(canon_body(Canon::Relaxed, m.body), " C\r\nD E\r\n");
  EXPECT_EQ(canon_body(Canon::Simple, m.body), " C \r\nD \t E\r\n");
}

// ---------------- body edge cases ----------------

TEST(DkimCanon, EmptyBodyIsCrlfWhenSimpleAndEmptyWhenRelaxed) {
  EXPECT_EQ(canon_body(Canon::Simple, ""), "\r\n");  // §3.4.3
  EXPECT_EQ(canon_body(Canon::Relaxed, ""), "");     // §3.4.4
  EXPECT_EQ(canon_body(Canon::Simple, "\r\n\r\n\r\n"), "\r\n");
  EXPECT_EQ(canon_body(Canon::Relaxed, "\r\n\r\n\r\n"), "");
}

TEST(DkimCanon, TrailingWhitespaceLinesAreEmptyOnlyWhenRelaxed) {
  EXPECT_EQ(canon_body(Canon::Relaxed, "a\r\n \t\r\n  \r\n"), "a\r\n");
  EXPECT_EQ(canon_body(Canon::Simple, "a\r\n \t\r\n  \r\n"), "a\r\n \t\r\n  \r\n");
}

TEST(DkimCanon, EmptyLinesInsideTheBodyStay) {
  EXPECT_EQ(canon_body(Canon::Simple, "a\r\n\r\n\r\nb\r\n\r\n"), "a\r\n\r\n\r\nb\r\n");
  EXPECT_EQ(canon_body(Canon::Relaxed, "a\r\n \r\n\r\nb\r\n"), "a\r\n\r\n\r\nb\r\n");
}

TEST(DkimCanon, LastLineWithoutLineEndGetsOne) {
  EXPECT_EQ(canon_body(Canon::Simple, "abc"), "abc\r\n");
  EXPECT_EQ(canon_body(Canon::Relaxed, "abc  "), "abc\r\n");
  EXPECT_EQ(canon_body(Canon::Relaxed, "abc\r\n  "), "abc\r\n");
}

TEST(DkimCanon, RelaxedBodyKeepsOneLeadingSpaceAndOtherOctets) {
  EXPECT_EQ(canon_body(Canon::Relaxed, "\t\t x\t \ty \r\n"), " x y\r\n");
  // Only SP and HTAB are WSP: a bare CR or a NUL is content.
  EXPECT_EQ(canon_body(Canon::Relaxed, std::string_view("a\r b\0c\r\n", 8)), std::string("a\r b\0c\r\n", 8));
}

TEST(DkimCanon, BareLfIsALineEnd) {
  EXPECT_EQ(canon_body(Canon::Simple, "a\nb \n\n"), "a\r\nb \r\n");
  EXPECT_EQ(canon_body(Canon::Relaxed, "a\nb \n\n"), "a\r\nb\r\n");
  EXPECT_EQ(canon_header(Canon::Simple, "Subject: a\n b"), "Subject: a\r\n b\r\n");
  EXPECT_EQ(canon_header(Canon::Relaxed, "Subject: a\n b"), "subject:a b\r\n");
}

// ---------------- header fields ----------------

TEST(DkimCanon, RelaxedHeaderLowersTheNameOnly) {
  EXPECT_EQ(canon_header(Canon::Relaxed, "SUBJECT:  Hello   World  "), "subject:Hello World\r\n");
  EXPECT_EQ(canon_header(Canon::Relaxed, "X-Mixed-Case: MiXeD"), "x-mixed-case:MiXeD\r\n");
  EXPECT_EQ(canon_header(Canon::Relaxed, "To:\r\n\tbo@example.net,\r\n  cy@example.net\t"),
            "to:bo@example.net, cy@example.net\r\n");
  EXPECT_EQ(canon_header(Canon::Relaxed, "Empty:   "), "empty:\r\n");
  EXPECT_EQ(canon_header(Canon::Simple, "SUBJECT:  Hello "), "SUBJECT:  Hello \r\n");
}

TEST(DkimSplit, FieldsBodyAndFolding) {
  auto m = split_message("From: a\r\nSubject: one\r\n two\r\n\tthree\r\nTo: b\r\n\r\nbody\r\n");
  EXPECT_EQ(raws(m), (std::vector<std::string>{"From: a", "Subject: one\r\n two\r\n\tthree", "To: b"}));
  EXPECT_EQ(m.fields[1].name, "Subject");
  EXPECT_EQ(m.body, "body\r\n");
  EXPECT_FALSE(m.too_many_fields);
}

TEST(DkimSplit, LinesThatAreNotFieldsHaveNoName) {
  auto m = split_message(" lead: x\r\nno colon here\r\nBad Name: x\r\nB : y\r\n\r\n");
  ASSERT_EQ(m.fields.size(), 4u);
  EXPECT_EQ(m.fields[0].name, "");
  EXPECT_EQ(m.fields[1].name, "");
  EXPECT_EQ(m.fields[2].name, "");
  EXPECT_EQ(m.fields[3].name, "B");  // obs-optional: WSP before the colon
}

TEST(DkimSplit, HeaderOnlyMessagesAndOddEndings) {
  auto m = split_message("From: a\r\nTo: b");
  EXPECT_EQ(raws(m), (std::vector<std::string>{"From: a", "To: b"}));
  EXPECT_EQ(m.body, "");
  m = split_message("From: a\n\nbody");
  EXPECT_EQ(raws(m), (std::vector<std::string>{"From: a"}));
  EXPECT_EQ(m.body, "body");
  m = split_message("\r\nbody only");
  EXPECT_TRUE(m.fields.empty());
  EXPECT_EQ(m.body, "body only");
  EXPECT_TRUE(split_message("").fields.empty());
}

TEST(DkimSplit, TooManyFields) {
  std::string msg;
  for (int i = 0; i < 11; ++i) msg += "X-N: " + std::to_string(i) + "\r\n";
  msg += "\r\nbody";
  EXPECT_FALSE(split_message(msg, 11).too_many_fields);
  auto m = split_message(msg, 10);
  EXPECT_TRUE(m.too_many_fields);
  EXPECT_EQ(m.fields.size(), 10u);
}

// ---------------- §5.4.2 header selection ----------------

TEST(DkimSelect, FromTheBottomEachInstanceOnceOversignedContributesNothing) {
  auto m = split_message("Received: 1\r\nX-A: top\r\nFrom: f\r\nx-a: bottom\r\n\r\n");
  std::vector<std::string> names = {"x-a", "from", "x-a", "x-a", "subject"};
  auto chosen = select_headers(m, names, nullptr);
  ASSERT_EQ(chosen.size(), 3u);
  EXPECT_EQ(chosen[0]->raw, "x-a: bottom");
  EXPECT_EQ(chosen[1]->raw, "From: f");
  EXPECT_EQ(chosen[2]->raw, "X-A: top");
}

TEST(DkimSelect, ExcludedFieldIsNeverChosen) {
  auto m = split_message("DKIM-Signature: old\r\nDKIM-Signature: self\r\nFrom: f\r\n\r\n");
  std::vector<std::string> names = {"dkim-signature", "dkim-signature"};
  auto chosen = select_headers(m, names, &m.fields[1]);
  ASSERT_EQ(chosen.size(), 1u);
  EXPECT_EQ(chosen[0]->raw, "DKIM-Signature: old");
}

// ---------------- §3.7 b= blanking ----------------

TEST(DkimBlank, RemovesTheValueOfBAndNothingElse) {
  EXPECT_EQ(blank_b_value("DKIM-Signature: v=1; bh=abc=; b=xyz\r\n abc=="), "DKIM-Signature: v=1; bh=abc=; b=");
  EXPECT_EQ(blank_b_value("DKIM-Signature: b = xyz ; bh=abc; d=x"), "DKIM-Signature: b =; bh=abc; d=x");
  EXPECT_EQ(blank_b_value("DKIM-Signature: v=1;\r\n\tb=xyz;\r\n\td=x"), "DKIM-Signature: v=1;\r\n\tb=;\r\n\td=x");
  EXPECT_EQ(blank_b_value("DKIM-Signature: v=1; bh=abc"), "DKIM-Signature: v=1; bh=abc");
  EXPECT_EQ(blank_b_value("no colon"), "no colon");
}

}  // namespace
}  // namespace valija::policy::dkim
