#include "mail/mime.hpp"

#include <chrono>
#include <filesystem>

#include <gtest/gtest.h>

#include "mail/bodystructure.hpp"
#include "mail/header.hpp"
#include "mail/mime_cache.hpp"
#include "mail/mime_test_util.hpp"
#include "mail/section.hpp"

namespace valija::mail::mime {
namespace {

std::string slice(const std::string& msg, std::uint64_t b, std::uint64_t e) { return msg.substr(b, e - b); }

std::string section(const std::string& msg, const Part& root, std::vector<std::uint32_t> path,
                    SectionPart what = SectionPart::Whole) {
  auto r = find_section(root, path, what);
  if (!r) return "<not found>";
  return slice(msg, r->begin, r->end);
}

TEST(MimeParse, SimpleMultipartOffsets) {
  std::string msg =
      "Content-Type: multipart/mixed; boundary=b\r\n\r\npre\r\n--b\r\n\r\nhello\r\n--b\r\n"
      "Content-Type: text/html\r\n\r\n<p>\r\n\r\n--b--\r\nepi\r\n";
  Part p = parse(msg);
  ASSERT_EQ(p.children.size(), 2u);
  EXPECT_EQ(slice(msg, p.header_begin, p.body_begin), "Content-Type: multipart/mixed; boundary=b\r\n\r\n");
  EXPECT_EQ(slice(msg, p.body_begin, p.body_end), msg.substr(msg.find("pre")));
  const Part& a = p.children[0];
  EXPECT_EQ(slice(msg, a.header_begin, a.body_begin), "\r\n");
  EXPECT_EQ(slice(msg, a.body_begin, a.body_end), "hello");  // the CRLF belongs to the delimiter
  EXPECT_EQ(a.body_lines, 0u);
  const Part& b = p.children[1];
  EXPECT_EQ(b.subtype, "html");
  EXPECT_EQ(slice(msg, b.body_begin, b.body_end), "<p>\r\n");
  EXPECT_EQ(b.body_lines, 1u);
}

std::string shape(const Part& p) {
  std::string s = p.type + "/" + p.subtype + "[";
  for (const auto& c : p.children) s += shape(c);
  return s + "]";
}

TEST(MimeParse, BareLfAndCrlfGiveTheSameStructure) {
  for (const char* name : {"nested_3deep", "rfc822_attachment", "digest", "mixed_attachments"}) {
    std::string crlf = testing::corpus(name);
    std::string lf;
    for (char c : crlf)
      if (c != '\r') lf += c;
    Part a = parse(crlf), b = parse(lf);
    EXPECT_EQ(shape(a), shape(b)) << name;
    EXPECT_EQ(a.body_lines, b.body_lines) << name;
  }
}

TEST(MimeParse, HeaderEndsAtDelimiterWithoutBlankLine) {
  std::string msg = "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/html\r\n--b--\r\n";
  Part p = parse(msg);
  ASSERT_EQ(p.children.size(), 1u);
  const Part& c = p.children[0];
  EXPECT_EQ(c.subtype, "html");
  EXPECT_EQ(slice(msg, c.header_begin, c.body_begin), "Content-Type: text/html");
  EXPECT_EQ(c.body_begin, c.body_end);
}

TEST(MimeParse, BlankLineRightBeforeDelimiterStaysWithTheHeader) {
  // Found by fuzz/mime.cpp (fuzz/corpus/mime/crash-blank-line-before-delimiter): the
  // encapsulated message ended after its blank line, its parent before it.
  std::string msg =
      "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: message/rfc822\r\n\r\n"
      "Subject: x\r\n\r\n--b--\r\n";
  Part p = parse(msg);
  const Part& m = p.children.at(0);
  EXPECT_EQ(slice(msg, m.body_begin, m.body_end), "Subject: x\r\n\r\n");  // Dovecot: 14 octets, 2 lines
  EXPECT_EQ(m.body_lines, 2u);
  EXPECT_EQ(m.children.at(0).body_begin, m.body_end);
  auto back = decode(encode(p));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, p);
}

TEST(MimeParse, EveryFuzzCorpusInputRoundTrips) {
  for (const char* dir : {"/fuzz/corpus/mime"}) {
    for (const auto& e : std::filesystem::directory_iterator(std::string(VALIJA_SOURCE_DIR) + dir)) {
      SCOPED_TRACE(e.path().string());
      std::string msg = testing::read_file(e.path().string());
      Part p = parse(msg);
      EXPECT_FALSE(body_structure(p).empty());
      auto back = decode(encode(p));
      ASSERT_TRUE(back);
      EXPECT_EQ(*back, p);
    }
  }
}

TEST(MimeParse, NoBlankLineMeansAllHeader) {
  std::string msg = "Subject: x\r\nthis is no header\r\n";
  Part p = parse(msg);
  EXPECT_EQ(p.body_begin, msg.size());
  EXPECT_EQ(p.body_end, msg.size());
}

TEST(MimeParse, DigestDefaultsAndUppercase) {
  Part p = parse(testing::corpus("digest"));
  ASSERT_EQ(p.children.size(), 3u);
  EXPECT_EQ(p.children[0].type, "message");
  EXPECT_EQ(p.children[0].subtype, "rfc822");
  ASSERT_EQ(p.children[0].children.size(), 1u);
  EXPECT_EQ(p.children[0].children[0].envelope->subject, "first message");
  EXPECT_EQ(p.children[2].type, "text");
  Part u = parse(testing::corpus("uppercase_types"));
  EXPECT_TRUE(u.is_multipart());
  EXPECT_EQ(u.subtype, "MIXED");
  EXPECT_EQ(u.children.size(), 2u);
}

TEST(MimeParse, MessageGlobalInImap4rev2) {
  Part p = parse(testing::corpus("message_global"));
  ASSERT_EQ(p.children.size(), 1u);
  ASSERT_EQ(p.children[0].children.size(), 1u);  // parsed as a message in any case
  std::string rev2 = body_structure(p, true);
  EXPECT_NE(rev2.find("\"message\" \"global\" NIL NIL NIL \"7bit\" 111 (NIL"), std::string::npos) << rev2;
  EXPECT_EQ(body_structure(p, false).find("(NIL"), std::string::npos);
}

TEST(MimeSection, NumberingPerRfc3501) {
  std::string msg = testing::corpus("rfc822_attachment");
  Part p = parse(msg);
  EXPECT_EQ(section(msg, p, {}), msg);
  EXPECT_EQ(section(msg, p, {1}), "See below.\r\n");
  EXPECT_EQ(section(msg, p, {1}, SectionPart::Mime), "Content-Type: text/plain\r\n\r\n");
  EXPECT_EQ(section(msg, p, {2}, SectionPart::Mime),
            "Content-Type: message/rfc822\r\nContent-Disposition: attachment\r\n\r\n");
  std::string inner = section(msg, p, {2});
  EXPECT_EQ(inner.substr(0, 40), "From: Original Sender <orig@example.org>");
  EXPECT_TRUE(inner.ends_with("--orig-alt--\r\n"));
  auto h = section(msg, p, {2}, SectionPart::Header);
  EXPECT_TRUE(h.starts_with("From: Original Sender")) << h;
  EXPECT_TRUE(h.ends_with("boundary=\"orig-alt\"\r\n\r\n"));
  EXPECT_TRUE(section(msg, p, {2}, SectionPart::Text).starts_with("--orig-alt\r\n"));
  EXPECT_EQ(section(msg, p, {2, 1}), "original text");
  EXPECT_EQ(section(msg, p, {2, 2}), "<p>original text</p>");
  EXPECT_EQ(section(msg, p, {2, 2}, SectionPart::Mime), "Content-Type: text/html\r\n\r\n");
  EXPECT_EQ(section(msg, p, {2, 3}), "<not found>");
  EXPECT_EQ(section(msg, p, {3}), "<not found>");
  EXPECT_EQ(section(msg, p, {0}), "<not found>");
  EXPECT_EQ(section(msg, p, {1, 1}), "<not found>");
  EXPECT_EQ(section(msg, p, {1}, SectionPart::Header), "<not found>");  // not a message/rfc822
  EXPECT_EQ(section(msg, p, {}, SectionPart::Mime), "<not found>");
  EXPECT_TRUE(section(msg, p, {}, SectionPart::Header).ends_with("boundary=\"fwd\"\r\n\r\n"));
}

TEST(MimeSection, SinglePartMessages) {
  std::string msg = "Subject: x\r\n\r\nbody\r\n";
  Part p = parse(msg);
  EXPECT_EQ(section(msg, p, {1}), "body\r\n");
  EXPECT_EQ(section(msg, p, {1}, SectionPart::Mime), "Subject: x\r\n\r\n");
  EXPECT_EQ(section(msg, p, {2}), "<not found>");
  EXPECT_EQ(section(msg, p, {1, 1}), "<not found>");
  EXPECT_EQ(section(msg, p, {}, SectionPart::Text), "body\r\n");
  // A top-level message/rfc822: part 1 is the encapsulated message, 1.1 its body.
  std::string fwd = "Content-Type: message/rfc822\r\n\r\nSubject: in\r\n\r\ninner\r\n";
  Part q = parse(fwd);
  EXPECT_EQ(section(fwd, q, {1}), "Subject: in\r\n\r\ninner\r\n");
  EXPECT_EQ(section(fwd, q, {1}, SectionPart::Header), "Subject: in\r\n\r\n");
  EXPECT_EQ(section(fwd, q, {1, 1}), "inner\r\n");
}

TEST(MimeSection, NestedThreeDeep) {
  std::string msg = testing::corpus("nested_3deep");
  Part p = parse(msg);
  EXPECT_EQ(section(msg, p, {1, 1}), "plain version");
  EXPECT_EQ(section(msg, p, {1, 2, 1}), "<img src=\"cid:logo\">");
  EXPECT_EQ(section(msg, p, {1, 2, 2}), "R0lGODlhAQABAAAAACw=");
  EXPECT_EQ(section(msg, p, {2}), "AAECAwQF");
  EXPECT_EQ(find_part(p, std::vector<std::uint32_t>{1, 2, 2})->id, "<logo>");
}

TEST(MimeSection, HeaderFieldsFromTheSectionBlock) {
  std::string msg = testing::corpus("rfc822_attachment");
  Part p = parse(msg);
  auto r = find_section(p, std::vector<std::uint32_t>{2}, SectionPart::Header);
  ASSERT_TRUE(r);
  std::string_view block = std::string_view(msg).substr(r->begin, r->end - r->begin);
  std::vector<std::string_view> names = {"subject", "FROM"};
  EXPECT_EQ(select_fields(block, names, false),
            "From: Original Sender <orig@example.org>\r\nSubject: the original\r\n\r\n");
}

// --- limits: every case must finish quickly and stay inside MimeLimits ---

std::size_t count_parts(const Part& p) {
  std::size_t n = 1;
  for (const auto& c : p.children) n += count_parts(c);
  return n;
}

std::size_t depth(const Part& p) {
  std::size_t d = 0;
  for (const auto& c : p.children) d = std::max(d, depth(c) + 1);
  return d;
}

template <class F>
long long millis(F&& f) {
  auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
}

// Parse, render, encode and decode; all under a second.
void exercise(const std::string& msg, std::size_t* parts = nullptr, std::size_t* dep = nullptr) {
  auto ms = millis([&] {
    Part p = parse(msg);
    std::string bs = body_structure(p);
    EXPECT_FALSE(bs.empty());
    auto back = decode(encode(p));
    ASSERT_TRUE(back) << back.error().message();
    EXPECT_TRUE(*back == p);
    if (parts) *parts = count_parts(p);
    if (dep) *dep = depth(p);
  });
  EXPECT_LT(ms, 1000);
}

TEST(MimeLimits, TenThousandNestedMultiparts) {
  std::string msg;
  for (int i = 0; i < 10000; ++i)
    msg += "Content-Type: multipart/mixed; boundary=b" + std::to_string(i) + "\r\n\r\n--b" + std::to_string(i) + "\r\n";
  msg += "\r\nleaf\r\n";
  for (int i = 9999; i >= 0; --i) msg += "--b" + std::to_string(i) + "--\r\n";
  std::size_t parts = 0, d = 0;
  exercise(msg, &parts, &d);
  EXPECT_EQ(d, MimeLimits{}.max_depth);
}

TEST(MimeLimits, TenThousandNestedMessages) {
  std::string msg;
  for (int i = 0; i < 10000; ++i) msg += "Content-Type: message/rfc822\r\n\r\n";
  msg += "Subject: bottom\r\n\r\nleaf\r\n";
  std::size_t d = 0;
  exercise(msg, nullptr, &d);
  EXPECT_EQ(d, MimeLimits{}.max_depth);
}

TEST(MimeLimits, HundredThousandParts) {
  std::string msg = "Content-Type: multipart/mixed; boundary=p\r\n\r\n";
  for (int i = 0; i < 100000; ++i) msg += "--p\r\nContent-Type: text/plain\r\n\r\nx\r\n";
  msg += "--p--\r\n";
  std::size_t parts = 0;
  exercise(msg, &parts);
  EXPECT_EQ(parts, MimeLimits{}.max_parts);
}

TEST(MimeLimits, FiveMegabyteHeaderLine) {
  std::string msg = "Subject: " + std::string(5 << 20, 'a') + "\r\nTo: " + std::string(1 << 20, 'b') +
                    "@x\r\nContent-Type: text/plain; name=\"" + std::string(1 << 20, 'n') + "\"\r\n\r\nbody\r\n";
  exercise(msg);
  Part p = parse(msg);
  EXPECT_EQ(p.envelope->subject->size(), MimeLimits{}.max_field_value);
  EXPECT_LE(render_envelope(*p.envelope).size(), 3 * MimeLimits{}.max_field_value);
}

TEST(MimeLimits, NoLineBreakAtAll) {
  exercise(std::string(5 << 20, 'x'));
  exercise("Content-Type: multipart/mixed; boundary=q" + std::string(5 << 20, 'x'));
}

TEST(MimeLimits, Nuls) {
  exercise(std::string(2 << 20, '\0'));
  std::string msg = "Content-Type: multipart/mixed; boundary=\"a\0b\"\r\n\r\n--a\0b\r\n\0\0\r\n\r\n\0\r\n--a\0b--\r\n";
  exercise(msg);
}

TEST(MimeLimits, ManyDelimiterLookAlikesUnderDeepNesting) {
  // 100 nested boundaries of the longest length sharing a prefix, then lines that almost match
  // each of them: boundary matching must not cost O(depth x length) per line.
  std::string prefix(197, 'z');  // boundaries of 199 octets, under MimeLimits::max_boundary
  std::string msg;
  for (int i = 0; i < 100; ++i)
    msg += "Content-Type: multipart/mixed; boundary=\"" + prefix + char('A' + i % 26) + std::to_string(i / 26) +
           "\"\r\n\r\n--" + prefix + char('A' + i % 26) + std::to_string(i / 26) + "\r\n";
  std::string line = "--" + prefix + "~~\r\n";
  while (msg.size() < (8u << 20)) msg += line;
  std::size_t d = 0;
  exercise(msg, nullptr, &d);
  EXPECT_EQ(d, 100u);
}

TEST(MimeLimits, CustomLimitsAreHonoured) {
  MimeLimits l;
  l.max_depth = 2;
  l.max_parts = 3;
  Part p = parse(testing::corpus("nested_3deep"), l);
  EXPECT_LE(count_parts(p), 3u);
  EXPECT_LE(depth(p), 2u);
  auto enc = encode(parse(testing::corpus("nested_3deep")));
  EXPECT_FALSE(decode(enc, l));  // deeper than the decoder's limits: refused
}

}  // namespace
}  // namespace valija::mail::mime
