// CommandReader: the command table through the reader (whole, byte by byte, random
// splits; synchronising and LITERAL+ forms), literal handling, refusals and recovery.
#include "imap/proto/reader.hpp"

#include <gtest/gtest.h>

#include <random>
#include <regex>

#include "imap/proto/command.hpp"
#include "imap/proto/command_table_for_test.hpp"
#include "imap/proto/describe_for_test.hpp"

namespace valija::imap::proto {
namespace {

using namespace std::string_literals;

// The tagged line only; Conn::closed records a BYE.
std::string err(ParseError e) {
  e.close = false;
  auto r = e.render();
  return "ERR " + r.substr(0, r.size() - 2);
}

// A connection around the reader: events as text, APPEND streamed into `message_`.
class Conn {
 public:
  explicit Conn(ParserLimits lim = {}, bool authenticated = true, bool literal_plus = false) : reader_(lim) {
    reader_.set_authenticated(authenticated);
    reader_.set_literal_plus(literal_plus);
  }

  void feed(std::string_view bytes) {
    pending_ += bytes;
    pump();
  }

  CommandReader& reader() { return reader_; }
  std::vector<std::string> events;  // "+", commands as describe(), "ERR ...", "LINE ..."
  bool closed = false;
  bool plus = false;                // a "+" was sent since the flag was cleared
  bool refuse_appends = false;      // answer AppendLiteral with NO
  std::size_t data_events = 0;
  std::size_t buffered_max = 0;     // largest unconsumed input seen

 private:
  void pump() {
    while (!closed) {
      buffered_max = std::max(buffered_max, pending_.size());
      auto step = reader_.feed(pending_);
      ASSERT_LE(step.consumed, pending_.size());
      bool more = handle(step.event);
      pending_.erase(0, step.consumed);
      if (!more) return;
    }
  }

  bool handle(const ReadEvent& ev) {
    if (std::holds_alternative<read::NeedMore>(ev)) return false;
    if (auto* c = std::get_if<read::Command>(&ev)) {
      events.push_back(testing::describe_parse(c->text));
    } else if (auto* l = std::get_if<read::Line>(&ev)) {
      events.push_back("LINE " + std::string(l->text));
    } else if (std::holds_alternative<read::Continue>(ev)) {
      plus = true;
      events.push_back("+");
    } else if (auto* a = std::get_if<read::AppendLiteral>(&ev)) {
      start_append(*a);
    } else if (auto* d = std::get_if<read::LiteralData>(&ev)) {
      EXPECT_TRUE(append_);
      ++data_events;
      message_.append(d->bytes);
    } else if (std::holds_alternative<read::AppendDone>(ev)) {
      EXPECT_TRUE(append_);
      auto& a = std::get<cmd::Append>(append_->args);
      a.message = message_;
      events.push_back(testing::describe(*append_));
      append_.reset();
    } else if (auto* e = std::get_if<read::Error>(&ev)) {
      events.push_back(err(e->error));
      append_.reset();
      closed = e->error.close;
    }
    return true;
  }

  void start_append(const read::AppendLiteral& a) {
    auto c = parse_append_start(a.prefix);
    EXPECT_TRUE(c ? c->tag == a.tag : true);
    if (!c || refuse_appends) {
      events.push_back(c ? "ERR " + c->tag + " NO refused" : err(c.error()));
      reader_.reject_literal();
      return;
    }
    std::get<cmd::Append>(c->args).binary = a.binary;
    append_ = *c;
    message_.clear();
    if (reader_.accept_literal()) {
      plus = true;
      events.push_back("+");
    }
  }

  CommandReader reader_;
  std::string pending_;
  std::optional<Command> append_;
  std::string message_;
};

// How a client sends a command: up to each synchronising literal, then waits for "+".
std::vector<std::string> client_segments(const std::string& wire) {
  static const std::regex kMarker(R"(~?\{(\d+)(\+?)\}$)");
  std::vector<std::string> segs;
  std::size_t seg_start = 0, pos = 0;
  while (true) {
    auto crlf = wire.find("\r\n", pos);
    if (crlf == std::string::npos) break;
    std::smatch m;
    std::string line = wire.substr(pos, crlf - pos);
    pos = crlf + 2;
    if (!std::regex_search(line, m, kMarker)) continue;
    if (m[2].length() == 0) {
      segs.push_back(wire.substr(seg_start, pos - seg_start));
      seg_start = pos;
    }
    pos += std::stoul(m[1].str());
  }
  segs.push_back(wire.substr(seg_start));
  return segs;
}

std::string make_non_sync(const std::string& wire) {
  static const std::regex kSync(R"(\{(\d+)\}\r\n)");
  return std::regex_replace(wire, kSync, "{$1+}\r\n");
}

// Feeds `wire` as an honest client would, in pieces chosen by `cut`; the result without "+".
std::vector<std::string> run(Conn& conn, const std::string& wire, const std::function<std::size_t(std::size_t)>& cut) {
  auto segs = client_segments(wire);
  for (std::size_t i = 0; i < segs.size(); ++i) {
    if (i > 0 && !conn.plus) break;  // refused: the client does not send the literal
    conn.plus = false;
    std::string_view s = segs[i];
    while (!s.empty()) {
      auto n = std::min(s.size(), std::max<std::size_t>(1, cut(s.size())));
      conn.feed(s.substr(0, n));
      s.remove_prefix(n);
    }
  }
  std::vector<std::string> out;
  for (auto& e : conn.events)
    if (e != "+") out.push_back(e);
  return out;
}

bool reader_compatible(const testing::CommandCase& c) {
  // Texts that are not framed commands (a truncated literal, an empty line) test the parser only.
  return !c.text.empty() && c.text.find("r5 ") != 0;
}

TEST(ImapReader, TableWholeBytewiseAndRandomSplits) {
  std::mt19937 rng(42);
  for (const auto& c : testing::command_cases()) {
    if (!reader_compatible(c)) continue;
    const std::string wire = c.text + "\r\n";
    for (bool plus : {false, true}) {
      const std::string w = plus ? make_non_sync(wire) : wire;
      {
        Conn conn({}, true, plus);
        EXPECT_EQ(run(conn, w, [](std::size_t n) { return n; }), std::vector<std::string>{c.expected}) << w;
      }
      {
        Conn conn({}, true, plus);
        EXPECT_EQ(run(conn, w, [](std::size_t) { return 1; }), std::vector<std::string>{c.expected}) << w;
      }
      for (int k = 0; k < 5; ++k) {
        Conn conn({}, true, plus);
        auto cut = [&](std::size_t n) { return std::uniform_int_distribution<std::size_t>(1, n)(rng); };
        EXPECT_EQ(run(conn, w, cut), std::vector<std::string>{c.expected}) << w;
      }
    }
  }
}

TEST(ImapReader, WholeTablePipelined) {
  // All commands in one stream, non-synchronising, in random splits: framing never slips.
  std::string wire;
  std::vector<std::string> expected;
  for (const auto& c : testing::command_cases()) {
    if (!reader_compatible(c)) continue;
    wire += make_non_sync(c.text + "\r\n");
    expected.push_back(c.expected);
  }
  std::mt19937 rng(7);
  for (int k = 0; k < 20; ++k) {
    Conn conn({}, true, true);
    std::string_view s = wire;
    while (!s.empty()) {
      auto n = std::min(s.size(), std::uniform_int_distribution<std::size_t>(1, 64)(rng));
      conn.feed(s.substr(0, n));
      s.remove_prefix(n);
    }
    EXPECT_EQ(conn.events, expected);
  }
  Conn whole({}, true, true);
  whole.feed(wire);
  EXPECT_EQ(whole.events, expected);
}

TEST(ImapReader, FastPathReturnsViewIntoInput) {
  CommandReader r;
  std::string in = "a1 NOOP\r\na2 NOOP\r\n";
  auto s = r.feed(in);
  auto* c = std::get_if<read::Command>(&s.event);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->text, "a1 NOOP");
  EXPECT_EQ(c->text.data(), in.data());  // no copy
  EXPECT_EQ(s.consumed, 9u);
  s = r.feed(std::string_view(in).substr(9));
  EXPECT_EQ(std::get<read::Command>(s.event).text, "a2 NOOP");
  s = r.feed("");
  EXPECT_TRUE(std::holds_alternative<read::NeedMore>(s.event));
  EXPECT_TRUE(r.at_command_start());
}

TEST(ImapReader, LineEndingsAndStrayLines) {
  Conn conn;
  conn.feed("\r\n\r\na1 NOOP\n\na2 LOGIN {1}\nx y\r\n");
  EXPECT_EQ(conn.events, (std::vector<std::string>{"a1 NOOP", "+", "a2 LOGIN <x> <y>"}));
}

TEST(ImapReader, SynchronisingLiteralAsksForContinuation) {
  Conn conn;
  conn.feed("a LOGIN {5}\r\n");
  EXPECT_EQ(conn.events, (std::vector<std::string>{"+"}));
  conn.feed("alice {6}\r\n");
  EXPECT_EQ(conn.events.size(), 2u);
  conn.feed("secret\r\n");
  EXPECT_EQ(conn.events.back(), "a LOGIN <alice> <secret>");
}

TEST(ImapReader, LiteralMinus) {
  // RFC 7888 §5: without LITERAL+, {n+} is allowed up to 4096 octets.
  Conn ok;
  ok.feed("a LOGIN {4096+}\r\n" + std::string(4096, 'x') + " y\r\n");
  ASSERT_EQ(ok.events.size(), 1u);
  EXPECT_EQ(ok.events[0].substr(0, 9), "a LOGIN <");

  Conn big;
  big.feed("a LOGIN {4097+}\r\n" + std::string(4097, 'x') + " y\r\nb NOOP\r\n");
  EXPECT_EQ(big.events, (std::vector<std::string>{"ERR a BAD [TOOBIG] Non-synchronizing literal over 4096 octets (LITERAL-)",
                                                   "b NOOP"}));
  EXPECT_FALSE(big.closed);

  Conn plus({}, true, true);  // LITERAL+ advertised: accepted up to the literal limit
  plus.feed("a LOGIN {4097+}\r\n" + std::string(4097, 'x') + " y\r\n");
  EXPECT_EQ(plus.events.size(), 1u);
  EXPECT_EQ(plus.events[0].substr(0, 9), "a LOGIN <");
}

TEST(ImapReader, RefusedSynchronisingLiteralEndsTheCommand) {
  Conn conn;
  conn.feed("a LOGIN {70000}\r\n");  // over ParserLimits::literal
  EXPECT_EQ(conn.events, (std::vector<std::string>{"ERR a BAD [TOOBIG] Literal too large (limit 65536 octets)"}));
  EXPECT_FALSE(conn.closed);
  conn.feed("b NOOP\r\n");  // the client did not send the literal
  EXPECT_EQ(conn.events.back(), "b NOOP");

  Conn bin;
  bin.feed("a LOGIN ~{3}\r\nc NOOP\r\n");
  EXPECT_EQ(bin.events, (std::vector<std::string>{"ERR a BAD Binary literals are only allowed for APPEND messages", "c NOOP"}));
}

TEST(ImapReader, RefusedNonSynchronisingLiteralIsSkipped) {
  Conn conn({}, true, true);
  // The literal holds what looks like a command; it must not run.
  std::string lit = "x NOOP\r\n" + std::string(70000, 'x');
  conn.feed("a LOGIN {" + std::to_string(lit.size()) + "+}\r\n" + lit + " {3+}\r\nabc\r\nb NOOP\r\n");
  EXPECT_EQ(conn.events, (std::vector<std::string>{"ERR a BAD [TOOBIG] Literal too large (limit 65536 octets)", "b NOOP"}));

  // Beyond literal_skip the connection closes.
  Conn huge({}, true, true);
  huge.feed("a LOGIN {70000000+}\r\n");
  EXPECT_EQ(huge.events, (std::vector<std::string>{"ERR a BAD [TOOBIG] Literal too large (limit 65536 octets)"}));
  EXPECT_TRUE(huge.closed);
}

TEST(ImapReader, BeforeAuthentication) {
  // {4294967295} before login: BAD and close, nothing read or allocated.
  Conn conn({}, false);
  conn.feed("a LOGIN {4294967295}\r\n");
  EXPECT_EQ(conn.events, (std::vector<std::string>{"ERR a BAD [TOOBIG] Literal too large (limit 4096 octets)"}));
  EXPECT_TRUE(conn.closed);
  auto s = conn.reader().feed("more");
  EXPECT_TRUE(std::holds_alternative<read::NeedMore>(s.event));
  EXPECT_EQ(s.consumed, 4u);

  Conn ok({}, false);
  ok.feed("a LOGIN {4096}\r\n" + std::string(4096, 'p') + " x\r\n");
  EXPECT_EQ(ok.events.size(), 2u);

  Conn over({}, false, true);
  over.feed("a LOGIN {4097+}\r\n");
  EXPECT_TRUE(over.closed);

  // A message literal before login obeys APPENDLIMIT as well as the pre-login bound
  // (fuzz_imap_command found one announced over APPENDLIMIT when that was smaller).
  ParserLimits small;
  small.append = 3000;
  Conn append(small, false, true);
  append.feed("a APPEND Drafts ~{3098+}\r\n");
  EXPECT_EQ(append.events, (std::vector<std::string>{"ERR a BAD [TOOBIG] Literal too large (limit 3000 octets)"}));
  EXPECT_TRUE(append.closed);

  Conn line({}, false);
  line.feed("a LOGIN " + std::string(20000, 'x') + "\r\n");
  EXPECT_EQ(line.events, (std::vector<std::string>{"ERR a BAD [TOOBIG] Command too long (limit 16384 octets)"}));
  EXPECT_TRUE(line.closed);

  Conn bin({}, false);
  bin.feed("a LOGIN ~{1}\r\n");
  EXPECT_TRUE(bin.closed);
}

TEST(ImapReader, LiteralSizeOverflowCloses) {
  for (auto marker : {"{4294967296}", "{99999999999999999999999}", "{4294967296+}"}) {
    Conn conn;
    conn.feed("a LOGIN "s + marker + "\r\n");
    EXPECT_EQ(conn.events, (std::vector<std::string>{"ERR a BAD [TOOBIG] Literal size out of range"})) << marker;
    EXPECT_TRUE(conn.closed);
  }
}

TEST(ImapReader, LineTooLongDropsTheCommand) {
  ParserLimits lim;
  Conn conn(lim, true, true);
  conn.feed("a SEARCH TEXT " + std::string(lim.line, 'x') + "\r\nb NOOP\r\n");
  EXPECT_EQ(conn.events, (std::vector<std::string>{"ERR a BAD [TOOBIG] Command line too long (limit 65536 octets)", "b NOOP"}));
  // The dropped line ends in a non-synchronising literal: its octets are dropped too.
  Conn lit(lim, true, true);
  lit.feed("a SEARCH TEXT " + std::string(lim.line, 'x') + " {8+}\r\nc NOOP\r\n\r\nb NOOP\r\n");
  EXPECT_EQ(lit.events, (std::vector<std::string>{"ERR a BAD [TOOBIG] Command line too long (limit 65536 octets)", "b NOOP"}));
  // Byte by byte, the same.
  Conn slow(lim, true, true);
  std::string wire = "a SEARCH TEXT " + std::string(lim.line, 'x') + " {8+}\r\nc NOOP\r\n\r\nb NOOP\r\n";
  for (char ch : wire) slow.feed(std::string_view(&ch, 1));
  EXPECT_EQ(slow.events, lit.events);
  EXPECT_LT(slow.buffered_max, 2u);
}

TEST(ImapReader, CommandTooLong) {
  ParserLimits lim;
  lim.command = 1000;
  Conn conn(lim, true, true);
  std::string lit(600, 'x');
  conn.feed("a SEARCH TEXT {600+}\r\n" + lit + " TEXT {600+}\r\n" + lit + "\r\nb NOOP\r\n");
  EXPECT_EQ(conn.events, (std::vector<std::string>{"ERR a BAD [TOOBIG] Command too long (limit 1000 octets)", "b NOOP"}));
  Conn lines(lim, true, true);
  lines.feed("a SEARCH TEXT {1+}\r\nx " + std::string(995, 'y') + "\r\nb NOOP\r\n");
  EXPECT_EQ(lines.events, (std::vector<std::string>{"ERR a BAD [TOOBIG] Command too long (limit 1000 octets)", "b NOOP"}));
}

TEST(ImapReader, AppendStreamsTheMessage) {
  ParserLimits lim;
  Conn conn(lim);
  std::string msg(1 << 20, 'm');
  msg[1000] = '\r';
  conn.feed("A APPEND INBOX (\\Seen) {" + std::to_string(msg.size()) + "}\r\n");
  EXPECT_EQ(conn.events, (std::vector<std::string>{"+"}));
  for (std::size_t i = 0; i < msg.size(); i += 4096) conn.feed(std::string_view(msg).substr(i, 4096));
  conn.feed("\r\nB NOOP\r\n");
  ASSERT_EQ(conn.events.size(), 3u);
  EXPECT_EQ(conn.events[1].size(), std::string("A APPEND <INBOX> (\\Seen) msg=<>").size() + msg.size());
  EXPECT_EQ(conn.events[2], "B NOOP");
  EXPECT_GE(conn.data_events, 256u);
  EXPECT_LT(conn.buffered_max, 8192u);  // never held
}

TEST(ImapReader, AppendLiteralViewsPointIntoTheInput) {
  CommandReader r;
  r.set_authenticated(true);
  std::string in = "A APPEND INBOX {3+}\r\nabc\r\n";
  auto s = r.feed(in);
  auto* a = std::get_if<read::AppendLiteral>(&s.event);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->prefix, "A APPEND INBOX ");
  EXPECT_EQ(a->tag, "A");
  EXPECT_EQ(a->size, 3u);
  EXPECT_FALSE(a->synchronizing);
  EXPECT_FALSE(r.accept_literal());
  in.erase(0, s.consumed);
  s = r.feed(in);
  auto* d = std::get_if<read::LiteralData>(&s.event);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->bytes, "abc");
  EXPECT_EQ(d->bytes.data(), in.data());
  in.erase(0, s.consumed);
  s = r.feed(in);
  EXPECT_TRUE(std::holds_alternative<read::AppendDone>(s.event));
  EXPECT_EQ(s.consumed, 2u);
}

TEST(ImapReader, AppendLimits) {
  ParserLimits lim;
  Conn conn(lim);
  conn.feed("A APPEND INBOX {52428801}\r\nB NOOP\r\n");  // APPENDLIMIT + 1, synchronising
  EXPECT_EQ(conn.events, (std::vector<std::string>{"ERR A NO [TOOBIG] Message too large (APPENDLIMIT 52428800)", "B NOOP"}));

  // Non-synchronising: the octets come anyway and are skipped, the session goes on.
  Conn skip(lim, true, true);
  skip.feed("A APPEND INBOX {52428801+}\r\n");
  static const std::string chunk(1 << 20, 'z');
  std::uint64_t left = 52428801;
  while (left) {
    auto n = std::min<std::uint64_t>(left, chunk.size());
    skip.feed(std::string_view(chunk).substr(0, n));
    left -= n;
  }
  skip.feed("\r\nB NOOP\r\n");
  EXPECT_EQ(skip.events, (std::vector<std::string>{"ERR A NO [TOOBIG] Message too large (APPENDLIMIT 52428800)", "B NOOP"}));
  EXPECT_LT(skip.buffered_max, (2u << 20));

  Conn exact(lim);
  exact.feed("A APPEND INBOX {52428800}\r\n");
  EXPECT_EQ(exact.events, (std::vector<std::string>{"+"}));
}

TEST(ImapReader, AppendRefusedBySession) {
  Conn conn({}, true, true);
  conn.refuse_appends = true;
  conn.feed("A APPEND Nope {8+}\r\nB NOOP\r\n\r\nC NOOP\r\n");
  EXPECT_EQ(conn.events, (std::vector<std::string>{"ERR A NO refused", "C NOOP"}));
  Conn sync;
  sync.refuse_appends = true;
  sync.feed("A APPEND Nope {8}\r\nC NOOP\r\n");
  EXPECT_EQ(sync.events, (std::vector<std::string>{"ERR A NO refused", "C NOOP"}));
  Conn bad({}, true, true);
  bad.feed("A APPEND INBOX (\\Bogus) {3+}\r\nabc\r\nC NOOP\r\n");
  EXPECT_EQ(bad.events, (std::vector<std::string>{
                            "ERR A BAD Invalid system flag (Syntax: APPEND mailbox [(flags)] [date-time] literal)", "C NOOP"}));
}

TEST(ImapReader, AppendAfterTheMessage) {
  Conn multi({}, true, true);
  multi.feed("A APPEND INBOX {1+}\r\nx {1+}\r\ny\r\nB NOOP\r\n");
  EXPECT_EQ(multi.events, (std::vector<std::string>{"ERR A BAD MULTIAPPEND is not supported", "B NOOP"}));
  Conn tail({}, true, true);
  tail.feed("A APPEND INBOX {1+}\r\nx garbage\r\nB NOOP\r\n");
  EXPECT_EQ(tail.events, (std::vector<std::string>{"ERR A BAD Unexpected text after the message literal", "B NOOP"}));
  Conn nul({}, true, true);
  nul.feed("A APPEND INBOX {3+}\r\na\0b\r\nB APPEND INBOX ~{3+}\r\na\0b\r\n"s);
  EXPECT_EQ(nul.events, (std::vector<std::string>{"ERR A BAD NUL octet in a non-binary literal",
                                                   "B APPEND <INBOX> binary msg=<a\0b>"s}));
}

TEST(ImapReader, RawLines) {
  Conn conn;
  conn.reader().expect_line();
  conn.feed("dGVzdA==\r\n");
  conn.reader().expect_line();
  conn.feed("DONE {5}\r\n");
  conn.feed("a NOOP\r\n");
  EXPECT_EQ(conn.events, (std::vector<std::string>{"LINE dGVzdA==", "LINE DONE {5}", "a NOOP"}));

  ParserLimits lim;
  lim.line = 100;
  Conn big(lim);
  big.reader().expect_line();
  big.feed(std::string(150, 'x'));
  EXPECT_TRUE(big.events.empty());
  big.feed("yyy\r\na NOOP\r\n");
  EXPECT_EQ(big.events, (std::vector<std::string>{"ERR * BAD [TOOBIG] Line too long (limit 100 octets)", "a NOOP"}));
}

TEST(ImapReader, RawLineAfterBufferedCommand) {
  // Fuzzer find: a command assembled in the reader's buffer (split input) was still there
  // when the raw line was read, and prefixed it.
  Conn conn;
  for (char ch : std::string("a IDLE\r\n")) conn.feed(std::string_view(&ch, 1));
  conn.reader().expect_line();
  for (char ch : std::string("DONE\r\n")) conn.feed(std::string_view(&ch, 1));
  EXPECT_EQ(conn.events, (std::vector<std::string>{"a IDLE", "LINE DONE"}));
}

TEST(ImapReader, ResetDropsEverything) {
  CommandReader r;
  r.set_authenticated(true);
  auto s = r.feed("a LOGIN {5}\r\nal");
  EXPECT_TRUE(std::holds_alternative<read::Continue>(s.event));
  r.reset();
  EXPECT_TRUE(r.at_command_start());
  s = r.feed("b NOOP\r\n");
  EXPECT_EQ(std::get<read::Command>(s.event).text, "b NOOP");
}

TEST(ImapReader, DecisionPendingIsAnError) {
  CommandReader r;
  r.set_authenticated(true);
  auto s = r.feed("A APPEND INBOX {3}\r\n");
  ASSERT_TRUE(std::holds_alternative<read::AppendLiteral>(s.event));
  s = r.feed("abc");
  ASSERT_TRUE(std::holds_alternative<read::Error>(s.event));
  EXPECT_TRUE(std::get<read::Error>(s.event).error.close);
}

}  // namespace
}  // namespace valija::imap::proto
