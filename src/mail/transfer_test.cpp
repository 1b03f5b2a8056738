#include "mail/transfer.hpp"

#include <gtest/gtest.h>

namespace valija::mail {
namespace {

TEST(Transfer, QuotedPrintable) {
  struct Case {
    const char* in;
    const char* out;
  };
  const Case cases[] = {
      {"Caf=C3=A9", "Caf\xC3\xA9"},
      {"caf=c3=a9", "caf\xC3\xA9"},            // lower-case hex accepted
      {"soft=\r\nbreak", "softbreak"},         // RFC 2045 §6.7 (5)
      {"soft=  \r\nbreak", "softbreak"},       // padding after the soft break
      {"trailing   \r\nnext", "trailing\r\nnext"},  // RFC 2045 §6.7 (3)
      {"bare lf=\nx\ny", "bare lfx\ny"},
      {"=3D=20\r\n", "= \r\n"},
      {"bad =ZZ and =4", "bad =ZZ and =4"},     // malformed: kept
      {"end=", "end"},
      {"", ""},
  };
  for (const auto& c : cases) EXPECT_EQ(decode_quoted_printable(c.in), c.out) << c.in;
  EXPECT_EQ(decode_quoted_printable("abcdef", 3), "abc");
}

TEST(Transfer, Base64) {
  struct Case {
    const char* in;
    const char* out;
  };
  const Case cases[] = {
      {"SGVsbG8=", "Hello"},
      {"SGVs\r\nbG8=\r\n", "Hello"},
      {"S G V s b G 8", "Hello"},        // junk skipped
      {"SGVsbG8=SGVsbG8=", "HelloHello"},  // concatenated encodings
      {"SGVsbA", "Hell"},                 // unpadded final quantum
      {"!!!", ""},
      {"", ""},
  };
  for (const auto& c : cases) EXPECT_EQ(decode_base64(c.in), c.out) << c.in;
  EXPECT_EQ(decode_base64("SGVsbG8=", 2), "He");
}

TEST(Transfer, DecodeBodyAndUnknownEncodings) {
  EXPECT_EQ(decode_body("SGk=", "BASE64").data, "Hi");
  EXPECT_EQ(decode_body("a=3Db", "Quoted-Printable").data, "a=b");
  EXPECT_EQ(decode_body("raw\r\n", "8bit").data, "raw\r\n");
  EXPECT_EQ(decode_body("raw", "").data, "raw");
  EXPECT_EQ(decode_body("raw", "binary").data, "raw");
  auto u = decode_body("begin 644 x", "x-uuencode");
  EXPECT_TRUE(u.unknown_encoding);  // RFC 3516: NO [UNKNOWN-CTE]
  EXPECT_EQ(u.data, "begin 644 x");
  EXPECT_FALSE(decode_body("x", "7BIT").unknown_encoding);
  EXPECT_EQ(parse_transfer_encoding(" base64 "), TransferEncoding::Base64);
}

}  // namespace
}  // namespace valija::mail
