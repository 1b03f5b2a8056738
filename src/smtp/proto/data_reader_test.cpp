#include "smtp/proto/data_reader.hpp"

#include <gtest/gtest.h>

#include <random>

namespace valija::smtp::proto {
namespace {

struct Case {
  std::string name;
  std::string in;
  bool done;
  std::string content;
  bool bare;
  std::string rest;  // bytes after the end marker
};

const std::vector<Case>& cases() {
  static const std::vector<Case> c = {
      {"simple", "Subject: x\r\n\r\nhello\r\n.\r\n", true, "Subject: x\r\n\r\nhello\r\n", false, ""},
      {"empty", ".\r\n", true, "", false, ""},
      {"dot-stuffed", "..leading dot\r\n...\r\n.\r\n", true, ".leading dot\r\n..\r\n", false, ""},
      {"pipelined after", "a\r\n.\r\nQUIT\r\n", true, "a\r\n", false, "QUIT\r\n"},
      {"not yet done", "a\r\n.", false, "a\r\n", false, ""},
      {"dot inside line", "a.b\r\n.x\r\n.\r\n", true, "a.b\r\nx\r\n", false, ""},
      // SMTP smuggling: none of these end the data; all are flagged.
      {"lf dot lf", "a\n.\nMAIL FROM:<x@y>\r\n.\r\n", true, "a\n.\nMAIL FROM:<x@y>\r\n", true, ""},
      {"cr dot cr", "a\r.\rMAIL FROM:<x@y>\r\n.\r\n", true, "a\r.\rMAIL FROM:<x@y>\r\n", true, ""},
      {"lf dot crlf", "a\n.\r\nMAIL FROM:<x@y>\r\n.\r\n", true, "a\n.\r\nMAIL FROM:<x@y>\r\n", true, ""},
      {"crlf dot lf", "a\r\n.\nMAIL FROM:<x@y>\r\n.\r\n", true, "a\r\n\nMAIL FROM:<x@y>\r\n", true, ""},
      {"crlf dot cr", "a\r\n.\rX\r\n.\r\n", true, "a\r\n\rX\r\n", true, ""},
      {"bare lf in line", "a\nb\r\n.\r\n", true, "a\nb\r\n", true, ""},
      {"bare cr in line", "a\rb\r\n.\r\n", true, "a\rb\r\n", true, ""},
      {"cr cr lf", "a\r\r\n.\r\n", true, "a\r\r\n", true, ""},
  };
  return c;
}

void check(const Case& c, const std::vector<std::size_t>& splits) {
  DataReader r(1 << 20);
  std::string rest;
  std::size_t pos = 0;
  for (std::size_t i = 0; i <= splits.size(); ++i) {
    std::size_t end = i < splits.size() ? splits[i] : c.in.size();
    if (end < pos) continue;
    std::string_view piece(c.in.data() + pos, end - pos);
    pos = end;
    if (r.done()) {
      rest += piece;
      continue;
    }
    auto used = r.feed(piece);
    if (r.done()) rest += piece.substr(used);
    else EXPECT_EQ(used, piece.size()) << c.name;
  }
  EXPECT_EQ(r.done(), c.done) << c.name;
  EXPECT_EQ(r.content(), c.content) << c.name;
  EXPECT_EQ(r.bare_newline(), c.bare) << c.name;
  EXPECT_EQ(rest, c.rest) << c.name;
}

TEST(DataReader, Whole) {
  for (const auto& c : cases()) check(c, {});
}

TEST(DataReader, ByteAtATime) {
  for (const auto& c : cases()) {
    std::vector<std::size_t> splits;
    for (std::size_t i = 1; i < c.in.size(); ++i) splits.push_back(i);
    check(c, splits);
  }
}

TEST(DataReader, RandomSplits) {
  std::mt19937 rng(42);
  for (int round = 0; round < 200; ++round) {
    for (const auto& c : cases()) {
      std::vector<std::size_t> splits;
      for (std::size_t i = 1; i < c.in.size(); ++i)
        if (rng() % 3 == 0) splits.push_back(i);
      check(c, splits);
    }
  }
}

TEST(DataReader, SizeLimitStopsGrowthButFindsEnd) {
  DataReader r(10);
  std::string big(1000, 'x');
  r.feed(big);
  r.feed("\r\n.\r\n");
  EXPECT_TRUE(r.done());
  EXPECT_TRUE(r.too_big());
  EXPECT_EQ(r.size(), 1002u);
  EXPECT_LE(r.content().size(), 10u);
}

TEST(DataReader, ExactlyAtLimitIsNotTooBig) {
  DataReader r(5);
  r.feed("abc\r\n.\r\n");
  EXPECT_TRUE(r.done());
  EXPECT_FALSE(r.too_big());
  EXPECT_EQ(r.content(), "abc\r\n");
}

TEST(DataReader, DropFreesContentButStillFindsEnd) {
  DataReader r(1000);
  r.feed("Subject: a\r\n\r\nfirst");
  r.drop();
  EXPECT_TRUE(r.dropped());
  EXPECT_TRUE(r.content().empty());
  auto used = r.feed(" line\r\n.\r\nNOOP\r\n");
  EXPECT_TRUE(r.done());
  EXPECT_EQ(used, 10u);
  EXPECT_TRUE(r.content().empty());
  EXPECT_FALSE(r.too_big());
  EXPECT_EQ(r.size(), std::string("Subject: a\r\n\r\nfirst line\r\n").size());
}

TEST(BareNewline, FindsBareCrAndLfOnly) {
  EXPECT_FALSE(has_bare_newline(""));
  EXPECT_FALSE(has_bare_newline("a\r\nb\r\n\r\n"));
  EXPECT_FALSE(has_bare_newline("no line end"));
  EXPECT_TRUE(has_bare_newline("a\nb"));
  EXPECT_TRUE(has_bare_newline("\n"));
  EXPECT_TRUE(has_bare_newline("a\rb"));
  EXPECT_TRUE(has_bare_newline("a\r"));
  EXPECT_TRUE(has_bare_newline("a\r\r\n"));
  EXPECT_TRUE(has_bare_newline("a\r\n\n"));
}

}  // namespace
}  // namespace valija::smtp::proto
