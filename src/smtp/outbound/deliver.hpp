#pragma once
// One outbound SMTP connection: connect to one address of an exchanger, run the client
// dialogue (smtp/client/session.hpp) with STARTTLS, send the message dot-stuffed, and
// report each recipient's verdict. Every wait is bounded (RFC 5321 §4.5.3.2 through the
// session's reply timeouts); a lost connection leaves the undecided recipients Temporary.
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "net/asio.hpp"
#include "smtp/client/session.hpp"

namespace valija::smtp::outbound {

struct Target {
  std::string host;  // the exchanger's name: SNI, certificate check, logs
  std::string ip;
  std::uint16_t port = 25;
};

struct Settings {
  client::ClientOptions client;
  std::shared_ptr<asio::ssl::context> tls;  // STARTTLS with this context; null: never
  std::chrono::seconds connect_timeout{30};
  bool transcript = false;  // keep the dialogue (valija smtp-test, debug logs)
};

struct Message {
  client::Envelope envelope;
  std::shared_ptr<const std::string> data;  // CRLF lines, not dot-stuffed
};

struct Attempt {
  std::string error;  // no connection, or the connection was lost: why; empty otherwise
  std::optional<proto::Reply> failure;          // the server or the policy ended the dialogue
  std::vector<client::RcptResult> results;      // per recipient, when a message was given
  client::Capabilities capabilities;
  std::string tls;                              // "TLSv1.3 with cipher ..." or empty
  std::vector<std::string> transcript;          // "S: 220 ...", "C: EHLO ...", "-- TLS ..."
  bool connected = false;
};

// One connection carrying any number of messages (RFC 5321 §3.3: a client may send
// several transactions on one connection). The queue opens one per exchanger and sends
// the messages waiting for that destination one after another.
//
//   Connection c(settings);
//   if (co_await c.open(target)) while (c.usable() && more) results = co_await c.send(m);
//   co_await c.close();
class Connection {
 public:
  explicit Connection(Settings settings);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Connects (on the calling coroutine's executor) and runs the dialogue up to the
  // first transaction: greeting, EHLO, STARTTLS. False: see error() / failure().
  net::awaitable<bool> open(Target target);
  // One transaction; a verdict per recipient, in order. A lost connection or a failed
  // dialogue leaves the undecided ones Temporary, and the connection unusable.
  net::awaitable<std::vector<client::RcptResult>> send(Message message);
  // QUIT (when still usable) and close.
  net::awaitable<void> close();

  bool usable() const;
  bool connected() const;
  const std::string& error() const;                      // why the connection broke
  const std::optional<proto::Reply>& failure() const;    // the server ended the dialogue
  const client::Capabilities& capabilities() const;
  const std::string& tls() const;                        // "TLSv1.3 with cipher ..." or empty
  std::vector<std::string>& transcript();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One connection, at most one message: connects to `target` on the calling coroutine's
// executor. Without a message, the dialogue stops after EHLO (and STARTTLS): a probe.
net::awaitable<Attempt> deliver(Target target, Settings settings, std::optional<Message> message);

}  // namespace valija::smtp::outbound
