#include "smtp/outbound/deliver.hpp"

#include <fmt/format.h>

#include "mail/dot_stuffer.hpp"
#include "net/connect.hpp"
#include "net/stream.hpp"
#include "smtp/client/reply_reader.hpp"

namespace valija::smtp::outbound {
namespace {

using net::IoStatus;
constexpr std::size_t kChunk = 64 * 1024;
constexpr std::chrono::seconds kWriteTimeout{300};
constexpr std::chrono::seconds kTlsTimeout{60};

// Each CRLF line of `wire` into the transcript, after `who` ("C: " or "S: ").
void note(Attempt& a, const Settings& s, std::string_view who, std::string_view wire) {
  if (!s.transcript) return;
  while (!wire.empty()) {
    auto nl = wire.find("\r\n");
    a.transcript.push_back(fmt::format("{}{}", who, wire.substr(0, nl)));
    if (nl == std::string_view::npos) break;
    wire.remove_prefix(nl + 2);
  }
}

// The connection broke: what the session had not decided stays Temporary, with why.
void lost(Attempt& a, const client::ClientSession& session, const std::string& why) {
  a.error = why;
  a.results = session.results();
  for (auto& r : a.results)
    if (r.verdict != client::Verdict::Delivered && r.verdict != client::Verdict::Permanent)
      r = client::RcptResult{client::Verdict::Temporary, proto::Reply(451, "4.4.2", why)};
}

}  // namespace

net::awaitable<Attempt> deliver(Target target, Settings settings, std::optional<Message> message) {
  Attempt a;
  auto executor = co_await asio::this_coro::executor;
  if (!settings.tls && settings.client.tls == client::TlsPolicy::Opportunistic) settings.client.tls = client::TlsPolicy::None;
  auto socket = co_await net::connect(executor, target.ip, target.port, settings.connect_timeout);
  if (!socket) {
    a.error = socket.error().detail;
    if (message)
      a.results.assign(message->envelope.rcpts.size(),
                       client::RcptResult{client::Verdict::Temporary, proto::Reply(451, "4.4.1", a.error)});
    co_return a;
  }
  a.connected = true;
  net::Stream stream(std::move(*socket));
  client::ClientSession session(settings.client);
  client::ReplyReader reader;
  bool began = false;
  char buf[16 * 1024];
  client::Action action = session.start();
  while (true) {
    if (std::holds_alternative<client::act::Close>(action)) break;
    if (auto* send = std::get_if<client::act::Send>(&action)) {
      note(a, settings, "C: ", send->bytes);
      std::string bytes = std::move(send->bytes);
      if (co_await stream.write_all(bytes, kWriteTimeout) != IoStatus::Ok) {
        lost(a, session, fmt::format("connection to {} lost while sending: {}", target.host, stream.last_error()));
        break;
      }
      action = client::act::Wait{};
      continue;
    }
    if (std::holds_alternative<client::act::StartTls>(action)) {
      if (reader.has_pending()) {  // RFC 3207 §4.2: nothing may arrive before the handshake
        lost(a, session, "the server sent data after its 220 to STARTTLS");
        break;
      }
      auto st = co_await stream.start_tls_client(settings.tls, target.host, kTlsTimeout);
      if (st == IoStatus::Ok) {
        a.tls = stream.tls_description();
        if (settings.transcript) a.transcript.push_back(fmt::format("-- TLS: {}", a.tls));
        action = session.tls_started();
      } else {
        if (settings.transcript) a.transcript.push_back(fmt::format("-- TLS failed: {}", stream.last_error()));
        action = session.tls_failed();
      }
      continue;
    }
    if (std::holds_alternative<client::act::SendBody>(action)) {
      mail::DotStuffer stuffer;
      std::string out;
      const std::string& data = *message->data;
      bool ok = true;
      for (std::size_t off = 0; off < data.size() && ok; off += kChunk) {
        out.clear();
        stuffer.feed(std::string_view(data).substr(off, kChunk), out);
        ok = co_await stream.write_all(out, kWriteTimeout) == IoStatus::Ok;
      }
      out.clear();
      stuffer.finish(out);
      if (ok) ok = co_await stream.write_all(out, kWriteTimeout) == IoStatus::Ok;
      if (settings.transcript) a.transcript.push_back(fmt::format("C: <message, {} octets>", data.size()));
      if (!ok) {
        lost(a, session, fmt::format("connection to {} lost while sending the message: {}", target.host, stream.last_error()));
        break;
      }
      action = client::act::Wait{};
      continue;
    }
    if (std::holds_alternative<client::act::Ready>(action)) {
      if (message && !began) {
        began = true;
        action = session.begin(message->envelope);
      } else {
        if (message) a.results = session.results();
        action = session.quit();
      }
      continue;
    }
    // Wait: a reply already read, or more bytes.
    if (auto r = reader.next()) {
      if (!*r) {
        lost(a, session, fmt::format("unreadable reply from {}: {}", target.host, r->error().detail));
        break;
      }
      note(a, settings, "S: ", (*r)->wire());
      action = session.on_reply(**r);
      continue;
    }
    std::size_t n = 0;
    auto st = co_await stream.read_some(buf, sizeof buf, n, session.reply_timeout());
    if (st != IoStatus::Ok) {
      lost(a, session, st == IoStatus::Timeout ? fmt::format("no reply from {} within {} s", target.host,
                                                             session.reply_timeout().count())
                                               : fmt::format("connection to {} lost: {}", target.host,
                                                             st == IoStatus::Eof ? "closed by the server" : stream.last_error()));
      break;
    }
    reader.feed(std::string_view(buf, n));
  }
  a.capabilities = session.capabilities();
  if (session.failure()) a.failure = session.failure();
  if (message && a.results.empty()) a.results = session.results();
  if (message && a.results.size() != message->envelope.rcpts.size()) {
    // The dialogue ended before the transaction (greeting, EHLO, TLS): nobody was tried.
    proto::Reply why = a.failure ? *a.failure : proto::Reply(451, "4.4.2", a.error.empty() ? "not attempted" : a.error);
    a.results.assign(message->envelope.rcpts.size(), client::RcptResult{client::Verdict::Temporary, why});
  }
  co_await stream.shutdown();
  co_return a;
}

}  // namespace valija::smtp::outbound
