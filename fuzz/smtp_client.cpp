// SMTP client: any bytes a remote server sends, as replies to a client session that
// starts a transaction whenever it is ready. Replies stay bounded, the session never
// crashes, every recipient ends with a verdict of its own and the session asks only for
// the actions its state allows.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "smtp/client/reply_reader.hpp"
#include "smtp/client/session.hpp"

using namespace valija::smtp::client;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  ClientOptions opt{"fuzz.example", static_cast<TlsPolicy>(data[0] % 3), (data[0] & 0x10) != 0};
  ClientSession s(opt);
  ReplyReader reader(ReplyLimits{512, 32});
  reader.feed(std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1));
  Envelope e;
  e.from = "a@example.org";
  e.rcpts = {{"b@example.net", " NOTIFY=NEVER"}, {"c@example.net", ""}, {"d@example.net", ""}};
  e.size = 100 + data[0];
  e.eight_bit = data[0] & 0x20;
  e.requiretls = data[0] & 0x40;
  e.smtputf8 = data[0] & 0x80;
  int transactions = 0;
  Action a = s.start();
  while (true) {
    if (std::holds_alternative<act::Close>(a)) break;
    if (std::holds_alternative<act::Ready>(a)) {
      if (!s.results().empty() && s.results().size() != e.rcpts.size()) std::abort();
      a = ++transactions <= 3 ? s.begin(e) : s.quit();
      continue;
    }
    if (std::holds_alternative<act::StartTls>(a)) {
      a = (data[0] & 0x08) ? s.tls_failed() : s.tls_started();
      continue;
    }
    auto r = reader.next();
    if (!r || !*r) break;  // out of input, or unreadable: the connection would close
    if ((*r)->lines.size() > 32) std::abort();
    a = s.on_reply(**r);
  }
  return 0;
}
