#pragma once
// Every limit valija enforces, with its default and why. Config keys under [limits]
// carry the same names (docs/configuration.md).
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace valija {

struct Limits {
  // --- SMTP (RFC 5321 §4.5.3.1) ---
  // Command line including CRLF; RFC 5321 §4.5.3.1.4 says 512.
  std::size_t smtp_command_line = 512;
  // Largest message accepted (SIZE, RFC 1870); enforced while reading.
  std::uint64_t message_size = 50 * 1024 * 1024;
  // Recipients per transaction; RFC 5321 §4.5.3.1.8 requires accepting at least 100.
  std::size_t recipients_per_message = 100;
  // Recipients one authenticated user (submission) may send to per hour, from any number
  // of connections; beyond, RCPT gets 451 4.7.1 until the hour slides on. Caps what a
  // stolen password can send before anybody notices. 0: no limit.
  std::size_t recipients_per_hour = 5000;
  // Transactions per connection (RFC 9422 MAILMAX).
  std::size_t messages_per_connection = 1000;
  // Syntax/sequence errors before 421 and close.
  std::size_t smtp_errors = 20;
  // Received headers above which a message is a loop (RFC 5321 §6.3).
  std::size_t hop_count = 50;
  // Header section scanned for Received headers and trace info.
  std::size_t header_scan = 1024 * 1024;
  // Message content held in memory by all connections together (octets of content);
  // beyond it a transaction gets 452 4.3.1 and the sender retries later.
  std::uint64_t message_memory = 512ull * 1024 * 1024;
  // Refused recipients (unknown user, relay denied...) in one session: from half of it
  // each refusal is delayed by a second (slows address harvesting), at the limit the
  // session ends with 421 (as Postfix's smtpd_soft/hard_error_limit).
  std::size_t rcpt_refusals = 20;
  // BDAT chunk size accepted in one command.
  std::uint64_t bdat_chunk = 50 * 1024 * 1024;

  // RFC 5321 §4.5.3.2 timeouts.
  std::chrono::seconds smtp_greeting_wait{300};   // waiting for a command (§4.5.3.2.7: 5 min)
  std::chrono::seconds smtp_data_block{180};      // each DATA block (§4.5.3.2.6: 3 min)
  std::chrono::seconds smtp_session{3600};        // whole session

  // --- Delivery ---
  // Depth of alias chains before the expansion is a loop.
  std::size_t alias_depth = 10;
  // Mailboxes one recipient may expand to.
  std::size_t alias_fanout = 1000;

  // --- Authentication (every protocol that takes a password) ---
  // Failed logins from one client address within auth_window before it is locked out
  // for auth_lockout (even with the right password). Each failure is answered after a
  // delay that doubles from half a second up to 8 s.
  std::size_t auth_failures = 10;
  // Failed logins for one account (from anywhere) within auth_window before the account
  // is locked out for auth_lockout: slows an attack spread over many addresses, at the
  // price of keeping the owner out too for that time. 0: not counted.
  std::size_t auth_account_failures = 30;
  std::chrono::seconds auth_window{900};
  std::chrono::seconds auth_lockout{900};
  // A password verified against its Argon2id hash is remembered (as an HMAC under a
  // per-process key) this long, so frequent logins skip the deliberately slow hash.
  // 0: every login pays Argon2id.
  std::chrono::seconds auth_cache_ttl{3600};

  // --- Connections ---
  std::size_t connections_total = 10000;
  std::size_t connections_per_ip = 100;
  // Commands per second per connection, every protocol (bursts of a second's worth);
  // beyond it each command waits its turn. 0: no limit.
  std::size_t commands_per_second = 1000;
  // Logged-in IMAP sessions of one account at once (desktop, phone, webmail and their
  // parallel connections fit; Dovecot's mail_max_userip_connections is 10 per address).
  // Beyond it LOGIN answers NO [LIMIT].
  std::size_t imap_sessions_per_account = 50;
};

}  // namespace valija
