#include "smtp/outbound/deliver.hpp"

#include <fmt/format.h>

#include "mail/dot_stuffer.hpp"
#include "net/connect.hpp"
#include "net/stream.hpp"
#include "smtp/client/reply_reader.hpp"

namespace valija::smtp::outbound {

using net::IoStatus;
namespace {
constexpr std::size_t kChunk = 64 * 1024;
constexpr std::chrono::seconds kWriteTimeout{300};
constexpr std::chrono::seconds kTlsTimeout{60};
}  // namespace

struct Connection::Impl {
  explicit Impl(Settings s) : settings(std::move(s)), session(settings.client) {
    if (!settings.tls && settings.client.tls == client::TlsPolicy::Opportunistic)
      settings.client.tls = client::TlsPolicy::None;
    session = client::ClientSession(settings.client);
  }

  Settings settings;
  Target target;
  std::optional<net::Stream> stream;
  client::ClientSession session;
  client::ReplyReader reader;
  client::Action action = client::act::Wait{};
  std::string error;
  std::string tls;
  std::vector<std::string> transcript;
  bool broken = false;   // the connection is gone or the dialogue failed
  bool closed = false;   // the session said Close

  // Each CRLF line of `wire` into the transcript, after `who` ("C: " or "S: ").
  void note(std::string_view who, std::string_view wire) {
    if (!settings.transcript) return;
    while (!wire.empty()) {
      auto nl = wire.find("\r\n");
      transcript.push_back(fmt::format("{}{}", who, wire.substr(0, nl)));
      if (nl == std::string_view::npos) break;
      wire.remove_prefix(nl + 2);
    }
  }

  void lose(std::string why) {
    error = std::move(why);
    broken = true;
  }

  // Performs actions until the session is Ready for a transaction (true) or the
  // connection ends (false). `message` is the one SendBody sends.
  net::awaitable<bool> drive(const Message* message) {
    char buf[16 * 1024];
    while (true) {
      if (std::holds_alternative<client::act::Close>(action)) {
        closed = true;
        co_return false;
      }
      if (std::holds_alternative<client::act::Ready>(action)) co_return true;
      if (auto* send = std::get_if<client::act::Send>(&action)) {
        if (send->secret) {
          if (settings.transcript) transcript.push_back("C: <credentials, not shown>");
        } else {
          note("C: ", send->bytes);
        }
        std::string bytes = std::move(send->bytes);
        if (co_await stream->write_all(bytes, kWriteTimeout) != IoStatus::Ok) {
          lose(fmt::format("connection to {} lost while sending: {}", target.host, stream->last_error()));
          co_return false;
        }
        action = client::act::Wait{};
        continue;
      }
      if (std::holds_alternative<client::act::StartTls>(action)) {
        if (reader.has_pending()) {  // RFC 3207 §4.2: nothing may arrive before the handshake
          lose("the server sent data after its 220 to STARTTLS");
          co_return false;
        }
        auto st = co_await stream->start_tls_client(settings.tls, target.host, kTlsTimeout);
        if (st == IoStatus::Ok) {
          tls = stream->tls_description();
          if (settings.transcript) transcript.push_back(fmt::format("-- TLS: {}", tls));
          action = session.tls_started();
        } else {
          if (settings.transcript) transcript.push_back(fmt::format("-- TLS failed: {}", stream->last_error()));
          action = session.tls_failed();
        }
        continue;
      }
      if (auto* body = std::get_if<client::act::SendBody>(&action)) {
        const std::string& data = *message->data;
        bool ok = true;
        if (body->chunked) {  // RFC 3030: the octets as they are, counted, no end marker
          std::string head = fmt::format("BDAT {} LAST\r\n", data.size());
          note("C: ", head);
          ok = co_await stream->write_all(head, kWriteTimeout) == IoStatus::Ok;
          for (std::size_t off = 0; off < data.size() && ok; off += kChunk)
            ok = co_await stream->write_all(std::string_view(data).substr(off, kChunk), kWriteTimeout) == IoStatus::Ok;
        } else {
          mail::DotStuffer stuffer;
          std::string out;
          for (std::size_t off = 0; off < data.size() && ok; off += kChunk) {
            out.clear();
            stuffer.feed(std::string_view(data).substr(off, kChunk), out);
            ok = co_await stream->write_all(out, kWriteTimeout) == IoStatus::Ok;
          }
          out.clear();
          stuffer.finish(out);
          if (ok) ok = co_await stream->write_all(out, kWriteTimeout) == IoStatus::Ok;
        }
        if (settings.transcript) transcript.push_back(fmt::format("C: <message, {} octets>", data.size()));
        if (!ok) {
          lose(fmt::format("connection to {} lost while sending the message: {}", target.host, stream->last_error()));
          co_return false;
        }
        action = client::act::Wait{};
        continue;
      }
      // Wait: a reply already read, or more bytes.
      if (auto r = reader.next()) {
        if (!*r) {
          lose(fmt::format("unreadable reply from {}: {}", target.host, r->error().detail));
          co_return false;
        }
        note("S: ", (*r)->wire());
        action = session.on_reply(**r);
        continue;
      }
      std::size_t n = 0;
      auto st = co_await stream->read_some(buf, sizeof buf, n, session.reply_timeout());
      if (st != IoStatus::Ok) {
        lose(st == IoStatus::Timeout
                 ? fmt::format("no reply from {} within {} s", target.host, session.reply_timeout().count())
                 : fmt::format("connection to {} lost: {}", target.host,
                               st == IoStatus::Eof ? "closed by the server" : stream->last_error()));
        co_return false;
      }
      reader.feed(std::string_view(buf, n));
    }
  }

  // The verdicts of the transaction just run, for `count` recipients: the session's,
  // with those it did not decide Temporary (the connection broke) and all of them
  // Temporary when the dialogue ended before the transaction.
  std::vector<client::RcptResult> results(std::size_t count) const {
    auto out = session.results();
    if (broken)
      for (auto& r : out)
        if (r.verdict != client::Verdict::Delivered && r.verdict != client::Verdict::Permanent)
          r = client::RcptResult{client::Verdict::Temporary, proto::Reply(451, "4.4.2", error)};
    if (out.size() != count) {
      proto::Reply why = session.failure() ? *session.failure()
                                           : proto::Reply(451, "4.4.2", error.empty() ? "not attempted" : error);
      out.assign(count, client::RcptResult{client::Verdict::Temporary, why});
    }
    return out;
  }
};

Connection::Connection(Settings settings) : impl_(std::make_unique<Impl>(std::move(settings))) {}
Connection::~Connection() = default;

net::awaitable<bool> Connection::open(Target target) {
  auto& d = *impl_;
  d.target = std::move(target);
  auto executor = co_await asio::this_coro::executor;
  auto socket = co_await net::connect(executor, d.target.ip, d.target.port, d.settings.connect_timeout);
  if (!socket) {
    d.lose(socket.error().detail);
    co_return false;
  }
  d.stream.emplace(std::move(*socket));
  d.action = d.session.start();
  co_return co_await d.drive(nullptr);
}

net::awaitable<std::vector<client::RcptResult>> Connection::send(Message message) {
  auto& d = *impl_;
  if (!usable()) co_return d.results(message.envelope.rcpts.size());
  d.action = d.session.begin(message.envelope);
  bool ready = co_await d.drive(&message);
  auto out = d.results(message.envelope.rcpts.size());
  if (!ready && !d.broken && !d.closed) d.broken = true;
  co_return out;
}

net::awaitable<void> Connection::close() {
  auto& d = *impl_;
  if (!d.stream) co_return;
  if (usable()) {
    d.action = d.session.quit();
    (void)co_await d.drive(nullptr);
  }
  co_await d.stream->shutdown();
  d.stream.reset();
}

bool Connection::usable() const {
  return impl_->stream && !impl_->broken && !impl_->closed &&
         std::holds_alternative<client::act::Ready>(impl_->action);
}
bool Connection::connected() const { return impl_->stream.has_value() || impl_->closed; }
const std::string& Connection::error() const { return impl_->error; }
const std::optional<proto::Reply>& Connection::failure() const { return impl_->session.failure(); }
const client::Capabilities& Connection::capabilities() const { return impl_->session.capabilities(); }
const std::string& Connection::tls() const { return impl_->tls; }
std::vector<std::string>& Connection::transcript() { return impl_->transcript; }

net::awaitable<Attempt> deliver(Target target, Settings settings, std::optional<Message> message) {
  Attempt a;
  Connection c(std::move(settings));
  co_await c.open(target);  // a failure shows in connected(), error() and failure()
  a.connected = c.connected();
  if (message) a.results = co_await c.send(*message);  // all Temporary when the connection failed
  a.capabilities = c.capabilities();
  a.failure = c.failure();
  a.tls = c.tls();
  a.error = c.error();
  co_await c.close();
  a.transcript = std::move(c.transcript());
  co_return a;
}

}  // namespace valija::smtp::outbound
