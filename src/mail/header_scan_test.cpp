#include "mail/header_scan.hpp"

#include <gtest/gtest.h>

namespace valija::mail {
namespace {

TEST(HeaderScan, CountsReceivedAndFindsEnd) {
  std::string msg =
      "Received: from a\r\n\tby b\r\nreceived: from c\r\nSubject: Hello\r\n there\r\nMessage-ID: <x@y>\r\n\r\nbody\r\nReceived: not a header\r\n";
  auto s = scan_headers(msg, 1 << 20);
  EXPECT_EQ(s.received, 2u);
  EXPECT_TRUE(s.complete);
  EXPECT_EQ(msg.substr(s.header_bytes), "body\r\nReceived: not a header\r\n");
  EXPECT_EQ(s.subject, "Hello there");
  EXPECT_EQ(s.message_id, "<x@y>");
}

TEST(HeaderScan, BareLfAndNoBody) {
  auto s = scan_headers("A: b\nReceived: x\n", 1 << 20);
  EXPECT_EQ(s.received, 1u);
  EXPECT_FALSE(s.complete);
}

TEST(HeaderScan, NonHeaderLineEndsHeaders) {
  auto s = scan_headers("A: b\r\nthis is body\r\nReceived: x\r\n", 1 << 20);
  EXPECT_EQ(s.received, 0u);
  EXPECT_TRUE(s.complete);
  EXPECT_EQ(s.header_bytes, 6u);
}

TEST(HeaderScan, BoundedByMaxScan) {
  std::string msg;
  for (int i = 0; i < 100; ++i) msg += "Received: x\r\n";
  auto s = scan_headers(msg, 13 * 10);
  EXPECT_EQ(s.received, 10u);
}

}  // namespace
}  // namespace valija::mail
