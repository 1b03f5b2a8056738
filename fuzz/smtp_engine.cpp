// A whole SMTP session from arbitrary client bytes: the engine must answer every line,
// stay bounded, and never deliver more than once per DATA/BDAT LAST.
#include <cstdint>
#include <string_view>

#include "base/line_splitter.hpp"
#include "smtp/server/engine.hpp"

using namespace valija::smtp::server;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  EngineConfig cfg;
  cfg.starttls_available = true;
  cfg.limits.message_size = 4096;
  Engine e(cfg);
  valija::LineSplitter lines(cfg.limits.smtp_command_line);
  lines.feed(std::string_view(reinterpret_cast<const char*>(data), size));
  Step s = e.start("127.0.0.1");
  for (int guard = 0; guard < 100000; ++guard) {
    if (std::holds_alternative<next::Close>(s.next)) break;
    if (std::holds_alternative<next::CheckMail>(s.next)) { s = e.on_mail_checked(std::nullopt); continue; }
    if (std::holds_alternative<next::CheckRcpt>(s.next)) { s = e.on_rcpt_checked(Reply(250, "2.1.5", "OK"), 1); continue; }
    if (std::holds_alternative<next::Deliver>(s.next)) { s = e.on_delivered(Reply(250, "2.0.0", "OK")); continue; }
    if (std::holds_alternative<next::StartTls>(s.next)) { lines.clear(); s = e.on_tls(true); continue; }
    if (std::holds_alternative<next::ReadData>(s.next)) {
      valija::smtp::proto::DataReader r(cfg.limits.message_size);
      auto pending = lines.take_pending();
      auto used = r.feed(pending);
      if (!r.done()) break;
      lines.feed(std::string_view(pending).substr(used));
      s = e.on_data(r);
      continue;
    }
    if (auto* c = std::get_if<next::ReadChunk>(&s.next)) {
      auto pending = lines.take_pending();
      if (pending.size() < c->size) break;
      lines.feed(std::string_view(pending).substr(c->size));
      s = e.on_chunk(std::string_view(pending).substr(0, c->size), c->keep);
      continue;
    }
    std::string line;
    auto st = lines.next(line);
    if (st == valija::LineSplitter::Status::NeedMore) break;
    s = st == valija::LineSplitter::Status::TooLong ? e.on_line_too_long() : e.on_line(line);
    if (s.out.empty() && std::holds_alternative<next::ReadCommand>(s.next)) __builtin_trap();  // every command answered
  }
  if (e.tx().message.size() > cfg.limits.message_size) __builtin_trap();
  return 0;
}
