#pragma once
// CommandReader: frames IMAP commands out of the byte stream (RFC 9051 §2.2, §4.3, §7.5;
// RFC 7888 LITERAL+/LITERAL-; RFC 3516 literal8). A pure push object: the connection
// feeds what the socket gave, acts on one event per call, and feeds the unconsumed rest
// again:
//
//   for (;;) {
//     auto step = reader.feed(buf);          // buf: bytes read and not yet consumed
//     buf.remove_prefix(step.consumed);
//     if NeedMore: read from the socket, append to buf
//     if Command: parse_command(text), run it        (text is a view: use it first)
//     if Continue: send "+ Ready\r\n"
//     if AppendLiteral: parse_append_start(prefix); then accept_literal() (send "+ Ready"
//        when it returns true) or answer NO/BAD and reject_literal()
//     if LiteralData: write the bytes to the message sink; AppendDone: commit the APPEND
//     if Error: send error.render(); close when error.close (an APPEND in progress fails)
//   }
//
// Views in an event point into `in` or into the reader and stay valid until the next call
// of any reader method. Only the current command is ever buffered: its lines and inline
// literals up to ParserLimits::command. APPEND message literals are never held: they are
// handed out as LiteralData slices of the input, so a 50 MiB message costs no memory
// here. A line without literals that arrives whole is returned without a copy.
//
// Refusals, in the order checked when a line ends in a literal marker:
// - a size over 2^32-1: BAD [TOOBIG] and close (RFC 9051 §9 number is 32-bit);
// - a second message literal after a streamed one (MULTIAPPEND, not offered): BAD;
// - "~{n}" outside APPEND's message: BAD (RFC 3516 §4.2);
// - "{n+}" over 4096 while only LITERAL- is advertised: BAD [TOOBIG] (RFC 7888 §5);
// - APPEND message over ParserLimits::append: NO [TOOBIG] (RFC 7889 §3);
// - other literals over ParserLimits::literal, or the command over ParserLimits::command:
//   BAD [TOOBIG].
// A refused synchronising literal ends the command: the client does not send it (RFC 9051
// §7.5). A refused non-synchronising literal is read and dropped, together with the rest
// of its command, so the next command parses; when larger than literal_skip, the
// connection closes. Before authentication every refusal closes the connection (an
// unauthenticated peer gets no second chance and no memory): literal_pre_auth is 4 KiB.
// A line over ParserLimits::line: BAD [TOOBIG], the rest of the command is dropped.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "imap/proto/error.hpp"
#include "imap/proto/limits.hpp"

namespace valija::imap::proto {

namespace read {
struct NeedMore {};  // everything was consumed: read more
struct Command {     // a whole command (lines and literals) for parse_command()
  std::string_view text;
};
struct Line {  // after expect_line(): one line without CRLF
  std::string_view text;
};
struct Continue {};  // a synchronising literal was accepted: send "+ Ready\r\n"
struct AppendLiteral {
  std::string_view tag;
  std::string_view prefix;  // the command up to the literal, for parse_append_start()
  std::uint64_t size = 0;
  bool binary = false;         // literal8 "~{n}" (RFC 3516)
  bool synchronizing = false;  // accept_literal() will ask for "+ Ready"
};
struct LiteralData {  // the next octets of the accepted APPEND message
  std::string_view bytes;
};
struct AppendDone {};  // the message and its CRLF were read: complete the APPEND
struct Error {
  ParseError error;
};
}  // namespace read

using ReadEvent = std::variant<read::NeedMore, read::Command, read::Line, read::Continue, read::AppendLiteral,
                               read::LiteralData, read::AppendDone, read::Error>;

struct ReadStep {
  ReadEvent event;
  std::size_t consumed = 0;  // octets of the input used; feed the rest again
};

class CommandReader {
 public:
  explicit CommandReader(const ParserLimits& limits = {}) : limits_(limits) {}

  // Larger limits after login (ParserLimits::command, literal, append).
  void set_authenticated(bool on) { authenticated_ = on; }
  // LITERAL+ advertised (RFC 7888 §4); otherwise LITERAL- semantics apply.
  void set_literal_plus(bool on) { literal_plus_ = on; }

  ReadStep feed(std::string_view in);

  // The next event is one raw Line: an AUTHENTICATE response (RFC 9051 §6.2.2) or IDLE's
  // DONE. Literal markers mean nothing there. A line over ParserLimits::line is dropped
  // and reported as an untagged Error when its end arrives.
  void expect_line();
  // After AppendLiteral: take the message. True: send "+ Ready\r\n" first.
  bool accept_literal();
  // After AppendLiteral: the session refused the APPEND (its own NO/BAD). The literal, if
  // the client sends it anyway (non-synchronising), is dropped.
  void reject_literal();
  // Forget everything (STARTTLS: pipelined plaintext must not survive, RFC 9051 §6.2.1).
  void reset();

  // True between commands, with nothing buffered.
  bool at_command_start() const { return state_ == State::Start; }

 private:
  enum class State { Start, Line, Literal, Decision, Stream, Skip, SkipLiteral, RawLine, SkipRawLine, Closed };
  struct Marker {
    std::size_t pos = 0;  // of "{" or "~" in the line
    std::uint64_t size = 0;
    bool overflow = false;  // over 2^32-1
    bool plus = false;
    bool binary = false;
  };
  using Event = std::optional<ReadEvent>;

  Event start(std::string_view in, std::size_t& pos);
  Event line(std::string_view in, std::size_t& pos);
  Event end_of_line();
  Event on_marker(const Marker& m);
  Event finish_append(std::string_view tail);
  Event too_long(std::string_view chunk, std::string text);
  Event literal(std::string_view in, std::size_t& pos);
  Event stream(std::string_view in, std::size_t& pos);
  Event skip(std::string_view in, std::size_t& pos);
  Event skip_literal(std::string_view in, std::size_t& pos);
  Event raw_line(std::string_view in, std::size_t& pos);
  Event skip_raw_line(std::string_view in, std::size_t& pos);
  Event refuse(Status status, Code code, std::string text, const Marker& m);
  Event fatal(std::string text);
  void begin_command();
  void analyse_first_line();
  std::size_t command_cap() const { return authenticated_ ? limits_.command : limits_.command_pre_auth; }
  static std::optional<Marker> find_marker(std::string_view line);

  ParserLimits limits_;
  bool authenticated_ = false;
  bool literal_plus_ = false;
  State state_ = State::Start;
  std::string buf_;             // the current command: lines joined by CRLF, inline literals
  std::size_t line_start_ = 0;  // where the current line starts in buf_
  bool first_line_ = true;
  std::string tag_;
  bool append_ = false;                          // the command is APPEND
  std::size_t args_start_ = std::string::npos;  // in buf_: after "tag APPEND "
  bool streamed_ = false;                        // its message literal was streamed
  bool nul_ = false;                             // a NUL octet in a non-binary message
  Marker pending_;                               // the message literal awaiting a decision
  std::uint64_t remaining_ = 0;                  // octets left in the current literal
  std::string tail_;                             // last octets of a line being dropped
  bool tail_cut_ = false;                        // tail_ lost octets at its front
};

}  // namespace valija::imap::proto
