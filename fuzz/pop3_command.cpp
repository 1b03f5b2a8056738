// POP3: every line through the parser, the whole input as one session through the
// engine (first byte: configuration and outcomes), and the input as a message through
// the byte-stuffer and the TOP cutter. Every line is answered, the end-of-response
// marker appears only at the end, and nothing is committed except by QUIT.
#include <cstdint>
#include <string_view>

#include "base/line_splitter.hpp"
#include "pop3/proto/command.hpp"
#include "pop3/proto/engine.hpp"
#include "pop3/proto/stuffing.hpp"

using namespace valija::pop3::proto;

namespace {

void check_parser(std::string_view line) {
  auto c = parse_command(line);
  if (!c) {
    const auto& t = c.error().text;
    if (t.empty() || t.find_first_of("\r\n") != std::string::npos) __builtin_trap();
    return;
  }
  if (c->msg && (*c->msg == 0 || *c->msg > kMaxNumber)) __builtin_trap();
  if (c->lines > kMaxNumber) __builtin_trap();
}

// Stuffed output must end with the only CRLF.CRLF (or be just ".\r\n").
void check_stuffed(const std::string& out) {
  auto first = out.find("\r\n.\r\n");
  if (out == ".\r\n") return;
  if (first == std::string::npos || first + 5 != out.size()) __builtin_trap();
}

std::string stream(std::string_view msg, std::optional<std::uint32_t> top, std::size_t cut_at) {
  DotStuffer stuff;
  std::optional<TopCutter> cut;
  if (top) cut.emplace(*top);
  std::string out;
  cut_at = msg.empty() ? 0 : cut_at % msg.size();
  for (auto part : {msg.substr(0, cut_at), msg.substr(cut_at)}) {
    auto keep = cut ? cut->feed(part) : part.size();
    if (keep > part.size()) __builtin_trap();
    stuff.feed(part.substr(0, keep), out);
    if (cut && cut->done()) break;
  }
  stuff.finish(out);
  check_stuffed(out);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t flags = data[0];
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);

  // The input as a message: whole and TOP, split at a point chosen by the flags.
  if (stream(in, std::nullopt, flags) != stream(in, std::nullopt, 0)) __builtin_trap();
  stream(in, flags % 4, flags);

  EngineConfig cfg;
  cfg.cleartext_auth = flags & 1;
  cfg.stls_available = flags & 2;
  cfg.tls_active = flags & 4;
  cfg.apop = flags & 8;
  cfg.limits.messages = 2 + (flags >> 6);
  cfg.limits.sasl.max_response = 64;
  const std::string messages[] = {"Subject: a\r\n\r\n.\r\nx\r\n", "A: b\n\n.x\n", ""};
  std::vector<MaildropEntry> drop;
  for (int i = 0; i < 4; ++i) drop.push_back({messages[i % 3].size(), "u" + std::to_string(i)});

  Engine e(cfg);
  valija::LineSplitter lines(valija::auth::sasl_line_limit(cfg.limits.sasl) + 2);
  lines.feed(in);
  Step s = e.start("tok.1");
  bool committed = false;
  for (int guard = 0; guard < 100000; ++guard) {
    if (std::holds_alternative<next::Close>(s.next)) break;
    if (std::holds_alternative<next::CheckLogin>(s.next) || std::holds_alternative<next::CheckApop>(s.next)) {
      // Bits 4-5 pick the outcome; a refused login succeeds on every other try.
      auto pick = (flags >> 4) & 3;
      auto r = pick == 0 || (pick == 1 && guard % 2) ? LoginResult::Ok
               : pick == 1                           ? LoginResult::BadCredentials
               : pick == 2                           ? LoginResult::InUse
                                                     : LoginResult::TempFail;
      s = e.on_login(r, r == LoginResult::Ok ? drop : std::vector<MaildropEntry>{});
      continue;
    }
    if (auto* snd = std::get_if<next::Send>(&s.next)) {
      if (snd->index >= drop.size()) __builtin_trap();
      if (guard % 7 == 3) {
        s = e.on_send_failed();
      } else {
        stream(messages[snd->index % 3], snd->top_lines, guard);
        s = e.on_sent();
      }
      continue;
    }
    if (std::holds_alternative<next::StartTls>(s.next)) {
      if (cfg.tls_active || !cfg.stls_available || e.authenticated()) __builtin_trap();
      lines.clear();
      s = e.on_tls(true);
      continue;
    }
    if (auto* c = std::get_if<next::Commit>(&s.next)) {
      if (committed || c->deleted.empty()) __builtin_trap();
      for (auto i : c->deleted)
        if (i >= drop.size()) __builtin_trap();
      committed = true;
      s = e.on_commit(flags & 128);
      continue;
    }
    std::string line;
    auto st = lines.next(line);
    if (st == valija::LineSplitter::Status::NeedMore) break;
    if (st == valija::LineSplitter::Status::Line) check_parser(line);
    s = st == valija::LineSplitter::Status::TooLong ? e.on_line_too_long() : e.on_line(line);
    // Every command line is answered (CheckLogin and Commit answer once resolved).
    if (s.out.empty() && std::holds_alternative<next::ReadCommand>(s.next)) __builtin_trap();
    if (!s.out.empty() && (s.out.size() < 3 || s.out.substr(s.out.size() - 2) != "\r\n")) __builtin_trap();
  }
  if (e.errors() > cfg.limits.errors || e.login_failures() > cfg.limits.login_failures) __builtin_trap();
  return 0;
}
