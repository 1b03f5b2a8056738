#include "base/line_splitter.hpp"

#include <gtest/gtest.h>

#include "base/text.hpp"

namespace valija {
namespace {

TEST(LineSplitter, SplitsCrlfAndLf) {
  LineSplitter s(20);
  s.feed("a\r\nbb\nccc");
  std::string line;
  EXPECT_EQ(s.next(line), LineSplitter::Status::Line);
  EXPECT_EQ(line, "a");
  EXPECT_EQ(s.next(line), LineSplitter::Status::Line);
  EXPECT_EQ(line, "bb");
  EXPECT_EQ(s.next(line), LineSplitter::Status::NeedMore);
  s.feed("\r\n");
  EXPECT_EQ(s.next(line), LineSplitter::Status::Line);
  EXPECT_EQ(line, "ccc");
}

TEST(LineSplitter, TooLongReportedOnceAndBounded) {
  LineSplitter s(10);
  std::string line;
  s.feed(std::string(8, 'x'));
  EXPECT_EQ(s.next(line), LineSplitter::Status::NeedMore);
  s.feed(std::string(100, 'x'));  // now past the cap: dropped
  EXPECT_EQ(s.next(line), LineSplitter::Status::NeedMore);
  s.feed(std::string(100, 'x'));
  EXPECT_EQ(s.next(line), LineSplitter::Status::NeedMore);
  s.feed("xx\r\nok\r\n");
  EXPECT_EQ(s.next(line), LineSplitter::Status::TooLong);
  EXPECT_EQ(s.next(line), LineSplitter::Status::Line);
  EXPECT_EQ(line, "ok");
}

TEST(LineSplitter, LimitIncludesTerminator) {
  LineSplitter s(10);
  std::string line;
  s.feed("12345678\r\n");  // 10 octets with CRLF: allowed
  EXPECT_EQ(s.next(line), LineSplitter::Status::Line);
  s.feed("123456789\r\n");  // 11: too long
  EXPECT_EQ(s.next(line), LineSplitter::Status::TooLong);
}

TEST(LineSplitter, PendingBytesUntouched) {
  LineSplitter s(10);
  std::string line;
  s.feed(std::string("BDAT 3\r\n\x00\xff\n", 11));
  EXPECT_EQ(s.next(line), LineSplitter::Status::Line);
  EXPECT_EQ(s.take_pending(), std::string("\x00\xff\n", 3));
  EXPECT_FALSE(s.has_pending());
}

TEST(LineSplitter, ClearDropsPipelined) {
  LineSplitter s(10);
  std::string line;
  s.feed("A\r\nB\r\n");
  EXPECT_EQ(s.next(line), LineSplitter::Status::Line);
  s.clear();
  EXPECT_EQ(s.next(line), LineSplitter::Status::NeedMore);
}

TEST(Text, ParseU64) {
  EXPECT_EQ(text::parse_u64("0"), 0u);
  EXPECT_EQ(text::parse_u64("18446744073709551615"), UINT64_MAX);
  EXPECT_FALSE(text::parse_u64("18446744073709551616"));
  EXPECT_FALSE(text::parse_u64(""));
  EXPECT_FALSE(text::parse_u64("+1"));
  EXPECT_FALSE(text::parse_u64("1 "));
}

TEST(Text, CaseAndTrim) {
  EXPECT_TRUE(text::iequals("MAIL", "mail"));
  EXPECT_FALSE(text::iequals("MAIL", "mails"));
  EXPECT_TRUE(text::istarts_with("FROM:<a>", "from:"));
  EXPECT_EQ(text::trim(" \ta b\t "), "a b");
  EXPECT_EQ(text::to_lower("AbC"), "abc");
}

}  // namespace
}  // namespace valija
