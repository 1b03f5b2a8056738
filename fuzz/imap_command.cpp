// IMAP commands: the input (after a flags byte) as a client stream through the
// CommandReader, whole and in splits chosen by the flags, then every command through the
// parser. The event sequence must not depend on how the stream was split; every refusal
// carries a one-line text; parsed strings written back by the output helpers parse again
// to the same value; search programs respect the nesting limit.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "imap/proto/command.hpp"
#include "imap/proto/output.hpp"
#include "imap/proto/reader.hpp"

using namespace valija::imap::proto;

namespace {

void check_error(const ParseError& e) {
  if (e.text.empty() || e.text.find_first_of("\r\n") != std::string::npos) __builtin_trap();
  if (e.tag.find_first_of(" \r\n") != std::string::npos) __builtin_trap();
}

std::size_t depth(const SearchKey& k) {
  std::size_t d = 0;
  for (const auto& c : k.children) d = std::max(d, depth(c));
  return d + (k.op == SearchOp::And || k.op == SearchOp::Or || k.op == SearchOp::Not);
}

std::string check_command(std::string_view text, const ParserLimits& lim) {
  auto c = parse_command(text, lim);
  if (!c) {
    check_error(c.error());
    return "E" + c.error().text;
  }
  if (auto* s = std::get_if<cmd::Search>(&c->args); s && depth(s->program) > lim.search_depth + 1) __builtin_trap();
  if (auto* l = std::get_if<cmd::Login>(&c->args)) {
    // Output → parser round trip.
    std::string again = "a LOGIN ";
    write_astring(again, l->user, text.size() & 1);
    again += ' ';
    write_string(again, l->password, text.size() & 2);
    auto back = parse_command(again, lim);
    if (!back || std::get<cmd::Login>(back->args) != *l) __builtin_trap();
  }
  return "C" + c->tag + std::string(verb_name(c->verb));
}

// Runs the stream through a reader, `cut` octets at a time (0: whole), and returns the events.
std::vector<std::string> run(std::string_view in, std::uint8_t flags, std::size_t cut) {
  ParserLimits lim;
  lim.line = 512;  // small limits, so the fuzzer reaches them
  lim.command = 2048;
  lim.command_pre_auth = 1024;
  lim.literal = 600;
  lim.append = 3000;
  lim.literal_skip = 5000;
  CommandReader r(lim);
  r.set_authenticated(flags & 1);
  r.set_literal_plus(flags & 2);
  std::vector<std::string> out;
  std::string buf, message;
  std::size_t fed = 0;
  for (int guard = 0; guard < 100000; ++guard) {
    auto step = r.feed(buf);
    if (step.consumed > buf.size()) __builtin_trap();
    const auto& ev = step.event;
    if (std::holds_alternative<read::NeedMore>(ev)) {
      if (fed == in.size()) break;
      std::size_t n = cut ? std::min(cut, in.size() - fed) : in.size() - fed;
      buf.append(in.substr(fed, n));
      fed += n;
    } else if (auto* c = std::get_if<read::Command>(&ev)) {
      out.push_back(check_command(c->text, lim));
      if (flags & 4 && c->text.size() % 3 == 0) r.expect_line();
    } else if (auto* l = std::get_if<read::Line>(&ev)) {
      out.push_back("L" + std::string(l->text));
    } else if (std::holds_alternative<read::Continue>(ev)) {
      out.push_back("+");
    } else if (auto* a = std::get_if<read::AppendLiteral>(&ev)) {
      if (a->size > lim.append) __builtin_trap();
      auto c = parse_append_start(a->prefix, lim);
      message.clear();
      bool accept = c && !(flags & 8);
      out.push_back(accept ? "A" : "R");
      if (accept) out.push_back(r.accept_literal() ? "+" : "-");
      else r.reject_literal();
    } else if (auto* d = std::get_if<read::LiteralData>(&ev)) {
      message.append(d->bytes);
    } else if (std::holds_alternative<read::AppendDone>(ev)) {
      out.push_back("D" + message);
    } else if (auto* e = std::get_if<read::Error>(&ev)) {
      check_error(e->error);
      out.push_back("X" + e->error.render());
      if (e->error.close) break;
    }
    buf.erase(0, step.consumed);
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t flags = data[0];
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  check_command(in, ParserLimits{});  // the input as one assembled command
  auto whole = run(in, flags, 0);
  if (run(in, flags, 1) != whole) __builtin_trap();
  if (run(in, flags, 1 + (flags >> 4)) != whole) __builtin_trap();
  return 0;
}
