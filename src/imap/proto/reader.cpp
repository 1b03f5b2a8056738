#include "imap/proto/reader.hpp"

#include <algorithm>

#include "base/text.hpp"
#include "imap/proto/lexer.hpp"

namespace valija::imap::proto {
namespace {

// Octets of a dropped line kept to find a literal marker at its end: "~{4294967295+}"
// is 15; longer digit runs are either overflow or padding with zeros.
constexpr std::size_t kTailKeep = 64;

std::string tag_of(std::string_view head) {
  std::size_t n = 0;
  while (n < head.size() && n < 1024 && is_tag_char(head[n])) ++n;
  if (n == 0 || n >= head.size() || head[n] != ' ') return {};
  return std::string(head.substr(0, n));
}

std::string_view strip_cr(std::string_view s) {
  if (!s.empty() && s.back() == '\r') s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<CommandReader::Marker> CommandReader::find_marker(std::string_view line) {
  // RFC 7888 §3: the receiver checks the end of every line for "{" number ["+"] "}".
  if (line.empty() || line.back() != '}') return std::nullopt;
  std::size_t j = line.size() - 1;
  Marker m;
  if (j > 0 && line[j - 1] == '+') {
    m.plus = true;
    --j;
  }
  std::size_t k = j;
  while (k > 0 && line[k - 1] >= '0' && line[k - 1] <= '9') --k;
  if (k == j || k == 0 || line[k - 1] != '{') return std::nullopt;
  for (std::size_t i = k; i < j; ++i) {
    m.size = m.size * 10 + static_cast<std::uint64_t>(line[i] - '0');
    if (m.size > 0xFFFFFFFFull) {
      m.overflow = true;
      m.size = 0xFFFFFFFFull + 1;
      break;
    }
  }
  m.pos = k - 1;
  if (m.pos > 0 && line[m.pos - 1] == '~') {  // RFC 3516 §4.2 literal8
    m.binary = true;
    --m.pos;
  }
  return m;
}

ReadStep CommandReader::feed(std::string_view in) {
  std::size_t pos = 0;
  while (true) {
    State before = state_;
    Event ev;
    switch (state_) {
      case State::Start: ev = start(in, pos); break;
      case State::Line: ev = line(in, pos); break;
      case State::Literal: ev = literal(in, pos); break;
      case State::Decision:  // the caller skipped accept_literal()/reject_literal()
        state_ = State::Closed;
        return {read::Error{{tag_, Status::Bad, Code::None, "Internal error: APPEND literal pending", true}}, pos};
      case State::Stream: ev = stream(in, pos); break;
      case State::Skip: ev = skip(in, pos); break;
      case State::SkipLiteral: ev = skip_literal(in, pos); break;
      case State::RawLine: ev = raw_line(in, pos); break;
      case State::SkipRawLine: ev = skip_raw_line(in, pos); break;
      case State::Closed: return {read::NeedMore{}, in.size()};
    }
    if (ev) return {std::move(*ev), pos};
    if (pos == in.size() && state_ == before) return {read::NeedMore{}, pos};
  }
}

void CommandReader::begin_command() {
  // A big command's buffer is not kept for the small ones that follow.
  if (buf_.capacity() > limits_.line) std::string().swap(buf_);
  buf_.clear();
  line_start_ = 0;
  first_line_ = true;
  tag_.clear();
  append_ = false;
  args_start_ = std::string::npos;
  streamed_ = false;
  nul_ = false;
}

CommandReader::Event CommandReader::start(std::string_view in, std::size_t& pos) {
  if (pos == in.size()) return std::nullopt;
  auto rest = in.substr(pos);
  auto lf = rest.find('\n');
  if (lf != std::string_view::npos) {
    auto text = strip_cr(rest.substr(0, lf));
    if (text.empty()) {  // a stray CRLF between commands is ignored
      pos += lf + 1;
      return std::nullopt;
    }
    // Fast path: the whole line is here and ends in no literal marker.
    if (lf + 1 <= std::min(limits_.line, command_cap()) && text.back() != '}') {
      pos += lf + 1;
      return read::Command{text};
    }
  }
  begin_command();
  state_ = State::Line;
  return std::nullopt;
}

CommandReader::Event CommandReader::line(std::string_view in, std::size_t& pos) {
  auto rest = in.substr(pos);
  auto lf = rest.find('\n');
  auto chunk = lf == std::string_view::npos ? rest : rest.substr(0, lf);
  // Octets that still fit: the line counts its LF, the command only text. The limit a
  // byte-by-byte reader would cross first decides, so the answer never depends on how
  // the input was split.
  std::size_t line_room = limits_.line - (buf_.size() - line_start_);
  std::size_t cmd_room = command_cap() - std::min(buf_.size(), command_cap());
  bool line_over = chunk.size() + (lf == std::string_view::npos ? 0 : 1) > line_room;
  bool cmd_over = chunk.size() > cmd_room;
  if (line_over && (!cmd_over || line_room <= cmd_room))
    return too_long(chunk, "Command line too long (limit " + std::to_string(limits_.line) + " octets)");
  if (cmd_over) return too_long(chunk, "Command too long (limit " + std::to_string(command_cap()) + " octets)");
  buf_.append(chunk);
  pos += chunk.size();
  if (lf == std::string_view::npos) return std::nullopt;
  ++pos;
  if (buf_.size() > line_start_ && buf_.back() == '\r') buf_.pop_back();
  return end_of_line();
}

void CommandReader::analyse_first_line() {
  first_line_ = false;
  tag_ = tag_of(buf_);
  if (tag_.empty()) return;
  std::string_view rest = std::string_view(buf_).substr(tag_.size() + 1);
  // The reader must know APPEND's message literal to stream it; the verb is enough.
  if (text::istarts_with(rest, "APPEND ")) {
    append_ = true;
    args_start_ = tag_.size() + 1 + 7;
  }
}

CommandReader::Event CommandReader::end_of_line() {
  if (first_line_) analyse_first_line();
  std::string_view text = std::string_view(buf_).substr(line_start_);
  auto m = find_marker(text);
  if (!m) {
    if (streamed_) return finish_append(text);
    state_ = State::Start;
    if (buf_.empty()) return std::nullopt;
    return read::Command{buf_};
  }
  m->pos += line_start_;
  return on_marker(*m);
}

CommandReader::Event CommandReader::on_marker(const Marker& m) {
  if (m.overflow) return fatal("Literal size out of range");
  if (streamed_) return refuse(Status::Bad, Code::None, "MULTIAPPEND is not supported", m);
  // The mailbox is APPEND's first argument: any literal after it is the message.
  bool message = append_ && (m.binary || m.pos > args_start_);
  if (m.binary && !message)
    return refuse(Status::Bad, Code::None, "Binary literals are only allowed for APPEND messages", m);
  if (m.plus && !literal_plus_ && m.size > kLiteralMinusMax)  // RFC 7888 §5
    return refuse(Status::Bad, Code::TooBig, "Non-synchronizing literal over 4096 octets (LITERAL-)", m);
  // A message literal obeys APPENDLIMIT before login too (the smaller of the two).
  std::uint64_t limit = message ? limits_.append : limits_.literal;
  if (!authenticated_) limit = std::min(limit, limits_.literal_pre_auth);
  if (m.size > limit) {
    // RFC 7889 §3: a message over APPENDLIMIT gets NO [TOOBIG].
    if (message && authenticated_)
      return refuse(Status::No, Code::TooBig, "Message too large (APPENDLIMIT " + std::to_string(limit) + ")", m);
    return refuse(Status::Bad, Code::TooBig, "Literal too large (limit " + std::to_string(limit) + " octets)", m);
  }
  if (message) {
    buf_.resize(m.pos);
    pending_ = m;
    state_ = State::Decision;
    return read::AppendLiteral{tag_, buf_, m.size, m.binary, !m.plus};
  }
  if (buf_.size() + 2 + m.size > command_cap())
    return refuse(Status::Bad, Code::TooBig, "Command too long (limit " + std::to_string(command_cap()) + " octets)", m);
  buf_ += "\r\n";
  remaining_ = m.size;
  state_ = State::Literal;
  if (m.plus) return std::nullopt;
  return read::Continue{};  // RFC 9051 §7.5
}


CommandReader::Event CommandReader::refuse(Status status, Code code, std::string text, const Marker& m) {
  ParseError e{tag_, status, code, std::move(text), false};
  buf_.clear();
  if (!authenticated_) {
    e.close = true;
    state_ = State::Closed;
  } else if (!m.plus) {
    state_ = State::Start;  // RFC 9051 §7.5: the client will not send a refused literal
  } else if (m.size > limits_.literal_skip) {
    e.close = true;
    state_ = State::Closed;
  } else {
    remaining_ = m.size;  // the octets are on their way: drop them and the rest of the command
    state_ = State::SkipLiteral;
  }
  return read::Error{std::move(e)};
}

CommandReader::Event CommandReader::fatal(std::string text) {
  buf_.clear();
  state_ = State::Closed;
  return read::Error{ParseError{tag_, Status::Bad, Code::TooBig, std::move(text), true}};
}

CommandReader::Event CommandReader::too_long(std::string_view chunk, std::string text) {
  if (first_line_) {
    // Only the octets every split has seen: the first `line` of them.
    std::size_t keep = std::min({limits_.line, command_cap(), std::size_t{1100}});
    std::string head = buf_.substr(0, keep);
    head.append(chunk.substr(0, keep - head.size()));
    tag_ = tag_of(head);
  }
  if (!authenticated_) return fatal(std::move(text));
  // The rest of the command is dropped; the tail of what was read may already hold the
  // start of a literal marker.
  tail_ = buf_.substr(buf_.size() - std::min(buf_.size() - line_start_, kTailKeep));
  tail_cut_ = buf_.size() - line_start_ > kTailKeep;
  buf_.clear();
  state_ = State::Skip;
  return read::Error{ParseError{tag_, Status::Bad, Code::TooBig, std::move(text), false}};
}

CommandReader::Event CommandReader::finish_append(std::string_view tail) {
  state_ = State::Start;
  if (nul_) return read::Error{ParseError{tag_, Status::Bad, Code::None, "NUL octet in a non-binary literal", false}};
  if (!tail.empty())
    return read::Error{ParseError{tag_, Status::Bad, Code::None, "Unexpected text after the message literal", false}};
  return read::AppendDone{};
}

CommandReader::Event CommandReader::literal(std::string_view in, std::size_t& pos) {
  auto n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, in.size() - pos));
  buf_.append(in.substr(pos, n));
  pos += n;
  remaining_ -= n;
  if (remaining_ == 0) {
    line_start_ = buf_.size();
    state_ = State::Line;
  }
  return std::nullopt;
}

CommandReader::Event CommandReader::stream(std::string_view in, std::size_t& pos) {
  auto n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, in.size() - pos));
  if (n == 0) return std::nullopt;
  auto chunk = in.substr(pos, n);
  pos += n;
  remaining_ -= n;
  // RFC 9051 §4.3: a literal's octets are CHAR8; NUL needs literal8 (RFC 3516 §4.2).
  if (!pending_.binary && chunk.find('\0') != std::string_view::npos) nul_ = true;
  if (remaining_ == 0) state_ = State::Line;
  return read::LiteralData{chunk};
}

CommandReader::Event CommandReader::skip(std::string_view in, std::size_t& pos) {
  auto rest = in.substr(pos);
  auto lf = rest.find('\n');
  auto chunk = lf == std::string_view::npos ? rest : rest.substr(0, lf);
  tail_.append(chunk.substr(chunk.size() - std::min(chunk.size(), kTailKeep)));
  if (chunk.size() > kTailKeep) tail_cut_ = true;
  if (tail_.size() > kTailKeep) {
    tail_.erase(0, tail_.size() - kTailKeep);
    tail_cut_ = true;
  }
  pos += chunk.size();
  if (lf == std::string_view::npos) return std::nullopt;
  ++pos;
  auto t = strip_cr(tail_);
  auto m = find_marker(t);
  // A marker whose "{" fell off the kept tail: only an absurd run of digits does that.
  bool cut = tail_cut_ && !m && !t.empty() && t.back() == '}' && t.find_first_not_of("0123456789+}") == std::string_view::npos;
  tail_cut_ = false;
  state_ = State::Start;
  if (cut) return fatal("Literal too large to skip");
  // A synchronising literal is never sent: the client waits for "+", and has our BAD.
  if (!m || !m->plus) {
    tail_.clear();
    return std::nullopt;
  }
  tail_.clear();
  if (m->overflow || m->size > limits_.literal_skip) return fatal("Literal too large to skip");
  remaining_ = m->size;
  state_ = State::SkipLiteral;
  return std::nullopt;
}

CommandReader::Event CommandReader::skip_literal(std::string_view in, std::size_t& pos) {
  auto n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, in.size() - pos));
  pos += n;
  remaining_ -= n;
  if (remaining_ == 0) state_ = State::Skip;
  return std::nullopt;
}

void CommandReader::expect_line() {
  if (state_ != State::Start) return;
  begin_command();  // the last command may still sit in buf_
  state_ = State::RawLine;
}

CommandReader::Event CommandReader::raw_line(std::string_view in, std::size_t& pos) {
  auto rest = in.substr(pos);
  auto lf = rest.find('\n');
  if (buf_.empty() && lf != std::string_view::npos && lf + 1 <= limits_.line) {
    pos += lf + 1;
    state_ = State::Start;
    return read::Line{strip_cr(rest.substr(0, lf))};
  }
  auto chunk = lf == std::string_view::npos ? rest : rest.substr(0, lf);
  if (buf_.size() + chunk.size() + (lf == std::string_view::npos ? 0 : 1) > limits_.line) {
    buf_.clear();
    state_ = State::SkipRawLine;
    return std::nullopt;
  }
  buf_.append(chunk);
  pos += chunk.size();
  if (lf == std::string_view::npos) return std::nullopt;
  ++pos;
  state_ = State::Start;
  auto text = strip_cr(buf_);
  return read::Line{text};
}

CommandReader::Event CommandReader::skip_raw_line(std::string_view in, std::size_t& pos) {
  auto lf = in.substr(pos).find('\n');
  if (lf == std::string_view::npos) {
    pos = in.size();
    return std::nullopt;
  }
  pos += lf + 1;
  state_ = State::Start;
  return read::Error{ParseError{"", Status::Bad, Code::TooBig, "Line too long (limit " + std::to_string(limits_.line) + " octets)", false}};
}

bool CommandReader::accept_literal() {
  if (state_ != State::Decision) return false;
  buf_.clear();
  line_start_ = 0;
  streamed_ = true;
  nul_ = false;
  remaining_ = pending_.size;
  state_ = remaining_ ? State::Stream : State::Line;
  return !pending_.plus;
}

void CommandReader::reject_literal() {
  if (state_ != State::Decision) return;
  buf_.clear();
  if (!pending_.plus) {
    state_ = State::Start;
    return;
  }
  remaining_ = pending_.size;
  state_ = State::SkipLiteral;
}

void CommandReader::reset() {
  begin_command();
  std::string().swap(buf_);
  state_ = State::Start;
  remaining_ = 0;
  tail_.clear();
  tail_cut_ = false;
}

}  // namespace valija::imap::proto
