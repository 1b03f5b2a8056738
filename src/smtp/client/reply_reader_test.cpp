#include "smtp/client/reply_reader.hpp"

#include <gtest/gtest.h>

#include "smtp/client/capabilities.hpp"

namespace valija::smtp::client {
namespace {

std::vector<Result<proto::Reply>> all(ReplyReader& r) {
  std::vector<Result<proto::Reply>> out;
  while (auto x = r.next()) {
    bool bad = !*x;
    out.push_back(std::move(*x));
    if (bad) break;
  }
  return out;
}

TEST(ReplyReader, SingleAndMultiLine) {
  ReplyReader r;
  r.feed("220 mx.example.org ESMTP ready\r\n250-mx.example.org hello\r\n250-PIPELINING\r\n250 SIZE 1000\r\n");
  auto got = all(r);
  ASSERT_EQ(got.size(), 2u);
  ASSERT_TRUE(got[0]);
  EXPECT_EQ(got[0]->code, 220);
  EXPECT_EQ(got[0]->lines, std::vector<std::string>{"mx.example.org ESMTP ready"});
  ASSERT_TRUE(got[1]);
  EXPECT_EQ(got[1]->code, 250);
  EXPECT_EQ(got[1]->lines, (std::vector<std::string>{"mx.example.org hello", "PIPELINING", "SIZE 1000"}));
  EXPECT_FALSE(r.has_pending());
}

TEST(ReplyReader, EnhancedStatusTakenOff) {
  ReplyReader r;
  r.feed("550-5.1.1 The email account that you tried to reach does not exist.\r\n550 5.1.1 Please check.\r\n"
         "250 2.0.0\r\n451 4.7.1 Greylisted\r\n");
  auto got = all(r);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0]->status, "5.1.1");
  EXPECT_EQ(got[0]->lines.back(), "Please check.");
  EXPECT_EQ(got[0]->summary(), "550 5.1.1 The email account that you tried to reach does not exist.");
  EXPECT_EQ(got[1]->status, "2.0.0");
  EXPECT_EQ(got[2]->status, "4.7.1");
  EXPECT_TRUE(got[2]->transient());
  // A class that does not match the reply, or no dots, is text.
  EXPECT_EQ(enhanced_status("5.1.1 x", 250), "");
  EXPECT_EQ(enhanced_status("2.1 x", 250), "");
  EXPECT_EQ(enhanced_status("2.1.5000 x", 250), "");
  EXPECT_EQ(enhanced_status("2.10.15 ok", 250), "2.10.15");
}

TEST(ReplyReader, ByteByByteAndBareLf) {
  std::string wire = "250-first\n250-second\r\n250 third\r\n";
  ReplyReader r;
  std::vector<proto::Reply> got;
  for (char c : wire) {
    r.feed(std::string_view(&c, 1));
    while (auto x = r.next()) {
      ASSERT_TRUE(*x);
      got.push_back(std::move(**x));
    }
  }
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].lines, (std::vector<std::string>{"first", "second", "third"}));
}

TEST(ReplyReader, CodeOnlyLines) {
  ReplyReader r;
  r.feed("250\r\n354 \r\n");
  auto got = all(r);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0]->code, 250);
  EXPECT_EQ(got[0]->lines, std::vector<std::string>{""});
  EXPECT_EQ(got[1]->code, 354);
}

TEST(ReplyReader, Malformed) {
  for (std::string bad : {"25 short\r\n", "abc hello\r\n", "650 bad class\r\n", "260 bad second digit\r\n",
                          "250_x\r\n", "250-a\r\n251 b\r\n"}) {
    ReplyReader r;
    r.feed(bad);
    auto got = all(r);
    ASSERT_FALSE(got.empty()) << bad;
    EXPECT_FALSE(got.back()) << bad;
    // Once broken, always broken.
    r.feed("250 ok\r\n");
    auto again = r.next();
    ASSERT_TRUE(again);
    EXPECT_FALSE(*again);
  }
}

TEST(ReplyReader, Bounds) {
  ReplyReader r(ReplyLimits{100, 5});
  r.feed("250 " + std::string(200, 'x'));  // no newline yet, already too long
  auto a = r.next();
  ASSERT_TRUE(a);
  EXPECT_FALSE(*a);
  ReplyReader m(ReplyLimits{100, 5});
  std::string many;
  for (int i = 0; i < 10; ++i) many += "250-line\r\n";
  m.feed(many);
  auto b = all(m);
  ASSERT_FALSE(b.empty());
  EXPECT_FALSE(b.back());
}

TEST(ReplyReader, PartialIsPending) {
  ReplyReader r;
  r.feed("250-first\r\n");
  EXPECT_FALSE(r.next());
  EXPECT_TRUE(r.has_pending());
  r.feed("250 last\r\n220 extra");
  auto x = r.next();
  ASSERT_TRUE(x && *x);
  EXPECT_TRUE(r.has_pending());  // "220 extra" without its end
}

TEST(Capabilities, FromEhlo) {
  ReplyReader r;
  r.feed("250-mx.example.org Hello [127.0.0.1]\r\n250-PIPELINING\r\n250-SIZE 35882577\r\n250-8BITMIME\r\n"
         "250-STARTTLS\r\n250-AUTH LOGIN PLAIN XOAUTH2 plain\r\n250-AUTH=LOGIN\r\n250-ENHANCEDSTATUSCODES\r\n"
         "250-chunking\r\n250-SMTPUTF8\r\n250-DSN\r\n250 REQUIRETLS\r\n");
  auto x = r.next();
  ASSERT_TRUE(x && *x);
  auto c = parse_ehlo(**x);
  EXPECT_EQ(c.greeting, "mx.example.org Hello [127.0.0.1]");
  EXPECT_TRUE(c.pipelining && c.eight_bit_mime && c.starttls && c.enhanced_status && c.chunking && c.smtputf8 &&
              c.dsn && c.requiretls);
  EXPECT_FALSE(c.binary_mime);
  ASSERT_TRUE(c.size);
  EXPECT_EQ(*c.size, 35882577u);
  EXPECT_EQ(c.auth, (std::vector<std::string>{"LOGIN", "PLAIN", "XOAUTH2"}));
  EXPECT_TRUE(c.offers_auth("plain"));
  EXPECT_FALSE(c.offers_auth("CRAM-MD5"));
}

TEST(Capabilities, SizeWithoutLimitAndHeloOnly) {
  auto c = parse_ehlo(proto::Reply(250, "", "x"));
  EXPECT_FALSE(c.size);
  proto::Reply r;
  r.code = 250;
  r.lines = {"x", "SIZE"};
  c = parse_ehlo(r);
  ASSERT_TRUE(c.size);
  EXPECT_EQ(*c.size, 0u);
  auto helo = parse_ehlo(proto::Reply(502, "5.5.1", "Command not implemented"));
  EXPECT_FALSE(helo.pipelining);
  EXPECT_TRUE(helo.greeting.empty());
}

}  // namespace
}  // namespace valija::smtp::client
