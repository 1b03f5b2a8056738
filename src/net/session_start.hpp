#pragma once
// The first and the TLS steps every protocol's connection takes the same way: admission
// (limits per address and in total), the implicit-TLS handshake (RFC 8314), and the
// STARTTLS upgrade with its logging.
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "net/asio.hpp"
#include "net/listener.hpp"
#include "net/stream.hpp"
#include "net/tls.hpp"

namespace valija::net {

struct SessionStart {
  std::string_view protocol;  // "smtp", "pop3", "imap": the log events' prefix
  std::string_view service;   // the listener's role, for the log
  std::string_view conn_id;
  bool implicit_tls = false;
  TlsContexts* tls = nullptr;  // null: no certificate
  // The cleartext line that turns a client away ("421 4.7.0 ..."), given the reason. Not
  // sent on an implicit-TLS listener: it would be garbage to a TLS client.
  std::function<std::string(const std::string& reason)> refusal;
};

// Admits the connection into `slot` and, on an implicit-TLS listener, does the handshake.
// false: the connection is over (refused, or the handshake failed; logged, shut down).
awaitable<bool> open_session(Stream& stream, Connections& connections, std::optional<ConnectionSlot>& slot,
                             const SessionStart& how);

// Before each command: a connection over [limits] commands_per_second waits its turn
// (each command is answered, later), its replies so far sent first (`flush`); the first
// wait is logged. false: the flush failed (the connection is over).
awaitable<bool> pace_command(ConnectionSlot& slot, std::string_view protocol, std::string_view conn_id,
                             const std::function<awaitable<bool>()>& flush);

// STARTTLS after the protocol's go-ahead was flushed; logs a failed handshake.
awaitable<IoStatus> upgrade_to_tls(Stream& stream, TlsContexts& tls, std::string_view conn_id);

}  // namespace valija::net
