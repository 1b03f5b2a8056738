#include "pop3/proto/stuffing.hpp"

#include <gtest/gtest.h>

#include <random>

namespace valija::pop3::proto {
namespace {

// Splits `msg` into chunks: whole (size 0), one byte at a time (1), or random sizes.
std::vector<std::string_view> split(std::string_view msg, int mode, std::mt19937& rng) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < msg.size()) {
    std::size_t n = mode == 0 ? msg.size() : mode == 1 ? 1 : std::uniform_int_distribution<std::size_t>(1, 9)(rng);
    n = std::min(n, msg.size() - i);
    out.push_back(msg.substr(i, n));
    i += n;
  }
  return out;
}

std::string stuff(std::string_view msg, int mode, std::mt19937& rng) {
  DotStuffer s;
  std::string out;
  for (auto c : split(msg, mode, rng)) s.feed(c, out);
  s.finish(out);
  return out;
}

std::string top(std::string_view msg, std::uint64_t n, int mode, std::mt19937& rng) {
  TopCutter cut(n);
  DotStuffer s;
  std::string out;
  for (auto c : split(msg, mode, rng)) {
    auto keep = cut.feed(c);
    EXPECT_LE(keep, c.size());
    if (keep < c.size()) {
      EXPECT_TRUE(cut.done());
    }
    s.feed(c.substr(0, keep), out);
    if (cut.done()) break;
  }
  EXPECT_EQ(cut.feed("more\r\n"), 0u + (cut.done() ? 0 : 6));
  s.finish(out);
  return out;
}

// What a client does with the response: lines up to the lone ".", unstuffed.
std::string unstuff(std::string_view wire, bool& terminated) {
  std::string out;
  terminated = false;
  std::size_t i = 0;
  while (i < wire.size()) {
    auto e = wire.find("\r\n", i);
    if (e == std::string_view::npos) break;
    auto line = wire.substr(i, e - i);
    i = e + 2;
    if (line == ".") {
      terminated = i == wire.size();
      break;
    }
    if (!line.empty() && line.front() == '.') line.remove_prefix(1);
    out.append(line);
    out += "\r\n";
  }
  return out;
}

TEST(DotStuffer, Table) {
  const std::pair<std::string, std::string> kCases[] = {
      {"", ".\r\n"},
      {"a\r\n", "a\r\n.\r\n"},
      {"a", "a\r\n.\r\n"},                          // last line gets its CRLF
      {"\r\n", "\r\n.\r\n"},
      {".", "..\r\n.\r\n"},
      {".a\r\n", "..a\r\n.\r\n"},                   // the first line counts as a line start
      {"a\r\n.\r\nb\r\n", "a\r\n..\r\nb\r\n.\r\n"},  // an embedded end marker
      {"a\r\n..\r\n", "a\r\n...\r\n.\r\n"},
      {"a.\r\n.b.\r\n", "a.\r\n..b.\r\n.\r\n"},     // only the first octet of a line
      {"a\n.\nb", "a\r\n..\r\nb\r\n.\r\n"},          // bare LF normalised, then stuffed
      {"\n\n", "\r\n\r\n.\r\n"},
      {"a\r", "a\r\n.\r\n"},
      {"a\r.b\r\n", "a\r.b\r\n.\r\n"},              // a bare CR does not start a line
      {"a\r\r\n.", "a\r\r\n..\r\n.\r\n"},
  };
  std::mt19937 rng(7);
  for (const auto& [msg, wire] : kCases) {
    for (int mode = 0; mode < 3; ++mode) EXPECT_EQ(stuff(msg, mode, rng), wire) << "mode " << mode << ": " << msg;
  }
}

TEST(DotStuffer, RandomMessagesRoundTrip) {
  std::mt19937 rng(42);
  const char kAlphabet[] = {'.', '.', '\r', '\n', 'a', ' '};
  for (int iter = 0; iter < 2000; ++iter) {
    std::string msg;
    auto len = std::uniform_int_distribution<int>(0, 40)(rng);
    for (int i = 0; i < len; ++i) msg += kAlphabet[std::uniform_int_distribution<int>(0, 5)(rng)];
    auto whole = stuff(msg, 0, rng);
    EXPECT_EQ(stuff(msg, 1, rng), whole);
    EXPECT_EQ(stuff(msg, 2, rng), whole);
    // The end marker appears exactly once, at the end.
    auto first = whole.find("\r\n.\r\n");
    if (whole == ".\r\n") continue;
    ASSERT_NE(first, std::string::npos) << msg;
    EXPECT_EQ(first + 5, whole.size()) << msg;
    // A client that splits on LF alone never sees a lone "." line before the end either.
    for (std::size_t p = 0; (p = whole.find('\n', p)) != std::string::npos; ++p) {
      if (p + 1 < whole.size() - 3) {
        EXPECT_FALSE(whole.compare(p + 1, 2, ".\n") == 0 || whole.compare(p + 1, 3, ".\r\n") == 0) << msg;
      }
    }
    // Unstuffing gives the message back, line ends normalised to CRLF.
    std::string expect;
    for (std::size_t i = 0; i < msg.size(); ++i) {
      if (msg[i] == '\n' && (i == 0 || msg[i - 1] != '\r')) expect += '\r';
      expect += msg[i];
    }
    if (!expect.empty() && expect.back() != '\n') expect += expect.back() == '\r' ? "\n" : "\r\n";
    bool terminated = false;
    EXPECT_EQ(unstuff(whole, terminated), expect) << msg;
    EXPECT_TRUE(terminated) << msg;
  }
}

TEST(DotStuffer, ReusableAfterFinish) {
  DotStuffer s;
  std::string out;
  s.feed("x", out);
  s.finish(out);
  s.feed(".y\r\n", out);
  s.finish(out);
  EXPECT_EQ(out, "x\r\n.\r\n..y\r\n.\r\n");
}

const std::string kMsg =
    "From: a@example.org\r\n"
    "Subject: hi\r\n"
    "\r\n"
    "line 1\r\n"
    ".line 2\r\n"
    "\r\n"
    "line 4\r\n";

TEST(TopCutter, HeaderAndLines) {
  const std::pair<std::uint64_t, std::string> kCases[] = {
      {0, "From: a@example.org\r\nSubject: hi\r\n\r\n.\r\n"},
      {1, "From: a@example.org\r\nSubject: hi\r\n\r\nline 1\r\n.\r\n"},
      {2, "From: a@example.org\r\nSubject: hi\r\n\r\nline 1\r\n..line 2\r\n.\r\n"},
      {3, "From: a@example.org\r\nSubject: hi\r\n\r\nline 1\r\n..line 2\r\n\r\n.\r\n"},  // empty lines count
      {4, "From: a@example.org\r\nSubject: hi\r\n\r\nline 1\r\n..line 2\r\n\r\nline 4\r\n.\r\n"},
      {5, "From: a@example.org\r\nSubject: hi\r\n\r\nline 1\r\n..line 2\r\n\r\nline 4\r\n.\r\n"},
      {UINT64_MAX, "From: a@example.org\r\nSubject: hi\r\n\r\nline 1\r\n..line 2\r\n\r\nline 4\r\n.\r\n"},
  };
  std::mt19937 rng(3);
  for (const auto& [n, wire] : kCases)
    for (int mode = 0; mode < 3; ++mode) EXPECT_EQ(top(kMsg, n, mode, rng), wire) << "n=" << n << " mode " << mode;
}

TEST(TopCutter, EdgeShapes) {
  std::mt19937 rng(5);
  for (int mode = 0; mode < 3; ++mode) {
    // No blank line: the whole message is header, all of it is sent.
    EXPECT_EQ(top("A: b\r\nC: d\r\n", 0, mode, rng), "A: b\r\nC: d\r\n.\r\n");
    EXPECT_EQ(top("A: b", 0, mode, rng), "A: b\r\n.\r\n");
    // Empty header (message starts with the blank line).
    EXPECT_EQ(top("\r\nbody\r\nmore\r\n", 1, mode, rng), "\r\nbody\r\n.\r\n");
    EXPECT_EQ(top("\r\nbody\r\n", 0, mode, rng), "\r\n.\r\n");
    // Bare LF line ends are recognised (and normalised by the stuffer).
    EXPECT_EQ(top("A: b\n\nx\ny\n", 1, mode, rng), "A: b\r\n\r\nx\r\n.\r\n");
    // "\r\r\n" is not a blank line.
    EXPECT_EQ(top("A: b\r\r\nx\r\n\r\nbody\r\n", 0, mode, rng), "A: b\r\r\nx\r\n\r\n.\r\n");
    // Last body line without CRLF.
    EXPECT_EQ(top("A: b\r\n\r\nx", 5, mode, rng), "A: b\r\n\r\nx\r\n.\r\n");
    // Empty message.
    EXPECT_EQ(top("", 3, mode, rng), ".\r\n");
    // A header line that is only "." is stuffed.
    EXPECT_EQ(top(".\r\n\r\n.\r\n", 1, mode, rng), "..\r\n\r\n..\r\n.\r\n");
  }
}

TEST(TopCutter, StopsInsideAChunkAndStaysDone) {
  TopCutter cut(1);
  std::string_view chunk = "H: v\r\n\r\nb1\r\nb2\r\n";
  EXPECT_EQ(cut.feed(chunk), 12u);  // through "b1\r\n"
  EXPECT_TRUE(cut.done());
  EXPECT_EQ(cut.feed("b3\r\n"), 0u);
  TopCutter zero(0);
  EXPECT_EQ(zero.feed("H: v\r\n"), 6u);
  EXPECT_FALSE(zero.done());
  EXPECT_EQ(zero.feed("\r\nbody"), 2u);
  EXPECT_TRUE(zero.done());
}

TEST(TopCutter, LargeBodyInBigChunks) {
  std::string msg = "Subject: x\r\n\r\n";
  for (int i = 0; i < 10000; ++i) msg += "0123456789012345678901234567890123456789\r\n";
  TopCutter cut(5000);
  std::size_t kept = 0;
  for (std::size_t i = 0; i < msg.size() && !cut.done(); i += 4096) kept += cut.feed(std::string_view(msg).substr(i, 4096));
  EXPECT_TRUE(cut.done());
  EXPECT_EQ(kept, 14u + 5000u * 42u);
}

}  // namespace
}  // namespace valija::pop3::proto
