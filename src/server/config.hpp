#pragma once
// The server's configuration: from a TOML file (--config) or local mode defaults.
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/limits.hpp"
#include "base/result.hpp"

namespace valija::server {

enum class Role { Smtp, Submission, Submissions, Pop3, Pop3s, Imap, Imaps };
std::string_view role_name(Role r);
std::uint16_t standard_port(Role r);

struct ListenerSpec {
  std::string address;
  std::uint16_t port = 0;
  Role role = Role::Smtp;
};

// When USER/PASS and password SASL mechanisms are accepted without TLS.
enum class Cleartext { Never, Loopback, Always };

struct Pop3Settings {
  Cleartext cleartext = Cleartext::Loopback;
  std::chrono::seconds idle_timeout{600};  // RFC 1939 §3: at least 10 minutes
  std::chrono::seconds login_timeout{120};  // connect to login, at most
  std::optional<std::chrono::seconds> login_delay;  // RFC 2449 LOGIN-DELAY, enforced
  bool expire_never = false;                        // announce RFC 2449 EXPIRE NEVER
  bool apop = false;  // RFC 1939 APOP for accounts with an APOP secret (valija user apop)
};

struct ImapSettings {
  Cleartext cleartext = Cleartext::Loopback;
  std::chrono::seconds idle_timeout{1800};   // RFC 9051 §5.4: at least 30 minutes
  std::chrono::seconds login_timeout{120};   // connect to login, at most
  std::chrono::seconds idle_keepalive{120};  // "* OK Still here" during IDLE
};

// Outbound connections: STARTTLS when offered (encrypting without verification unless
// verify is set), always (no TLS, no delivery), or never.
enum class OutboundTls { None, Opportunistic, Required };

// A fixed next hop: the relay (smart host) or a per-domain transport.
struct NextHop {
  std::string host;  // a name or an IP address
  std::uint16_t port = 25;
  OutboundTls tls = OutboundTls::Opportunistic;
  std::string user, password;  // AUTH to this hop; password from `password_file` (first line)
};

// [queue]: the outbound queue (docs/queue.md).
struct QueueConfig {
  std::vector<std::chrono::seconds> retry{std::chrono::minutes(5), std::chrono::minutes(10), std::chrono::minutes(20),
                                          std::chrono::minutes(40)};
  std::chrono::seconds retry_every{std::chrono::hours(1)};
  std::chrono::seconds give_up_after{std::chrono::hours(24 * 5)};
  std::chrono::seconds warn_after{std::chrono::hours(4)};  // 0: no delay notices
  std::size_t connections = 20;
  std::size_t connections_per_destination = 4;
  std::size_t messages_per_connection = 100;
  std::chrono::seconds connect_timeout{30};
  std::uint16_t port = 25;  // of exchangers found through MX records
  OutboundTls tls = OutboundTls::Opportunistic;
  bool verify = false;      // check certificates (host name and chain)
  std::string ca_file;      // empty: the system's trust store
  std::optional<NextHop> relay;
  std::map<std::string, NextHop> transports;  // by destination domain
};

// [dns]: the resolver for MX and address lookups.
struct DnsConfig {
  std::vector<std::string> servers;  // "192.0.2.53", "127.0.0.1@5353"; empty: /etc/resolv.conf
  std::chrono::seconds timeout{10};
};

// [smtp]: port 25.
struct SmtpSettings {
  // Clients that may send to other domains through port 25 without AUTH (an application
  // server, an old device): "192.0.2.0/24", "2001:db8::/32". Empty: nobody.
  std::vector<std::string> trusted_networks;
};

// What a check's result does to a message on port 25: record it in Authentication-Results
// (mark), deliver to the recipient's Junk folder (junk), refuse it (reject: for SPF at
// MAIL FROM, 451 4.7.24 for temperror, "defer" in the config), or refuse it only when the
// author domain's DMARC evaluation fails with policy reject, whatever dmarc_reject says
// (dmarc: SPF fail only).
enum class CheckAction { Mark, Junk, Reject, Dmarc };

// [checks]: mail authentication and connection checks on port 25 (docs/authentication.md).
struct ChecksConfig {
  std::string authserv_id;  // of Authentication-Results; empty: the hostname
  // Clients checked by nothing here (besides trusted_networks): local programs.
  std::vector<std::string> exempt_networks{"127.0.0.0/8", "::1"};
  bool spf = true;
  // Per SPF result (RFC 7208 §8); pass does nothing.
  CheckAction spf_fail = CheckAction::Dmarc;
  CheckAction spf_softfail = CheckAction::Mark;
  CheckAction spf_neutral = CheckAction::Mark;
  CheckAction spf_none = CheckAction::Mark;
  CheckAction spf_permerror = CheckAction::Mark;
  CheckAction spf_temperror = CheckAction::Mark;  // Reject: 451 4.7.24 instead of accepting unchecked
  bool dkim = true;
  bool dmarc = true;
  CheckAction dmarc_reject = CheckAction::Reject;       // p=reject
  CheckAction dmarc_quarantine = CheckAction::Junk;     // p=quarantine
  bool iprev_required = false;  // refuse clients without forward-confirmed reverse DNS
  std::vector<std::string> blocklists;  // DNSBL zones (RFC 5782)
  std::uint64_t connections_per_minute = 0;  // per client address (IPv6: per /64); 0: no limit
  std::uint64_t messages_per_hour = 0;       // per client address; 0: no limit
  bool greylist = false;
  std::chrono::seconds greylist_delay{300};
};

// [dkim]: signing (keys are managed with `valija dkim`).
struct DkimConfig {
  bool sign_forwarded = false;  // sign mail forwarded to other domains with the forwarding domain's keys
};

struct SubmissionSettings {
  // RFC 8314: users authenticate over TLS; "loopback" or "always" also offers AUTH
  // without it (a webmail on the same host, a test).
  Cleartext cleartext = Cleartext::Never;
};

struct Config {
  bool local_mode = false;
  std::string hostname = "localhost";
  std::string data_dir = "valija-data";
  // Started as root, serve becomes this user once its ports are bound (a name or a uid).
  // Empty (local mode) or "root": it stays root, with a warning.
  std::string user;
  std::vector<ListenerSpec> listeners;
  std::string tls_cert, tls_key;   // empty: self-signed certificate in <data>/tls
  std::vector<std::string> domains;
  std::string log_level = "info";
  std::size_t io_threads = 0;      // threads serving connections; 0: one per CPU
  Limits limits;
  Pop3Settings pop3;
  ImapSettings imap;
  SmtpSettings smtp;
  SubmissionSettings submission;
  QueueConfig queue;
  DnsConfig dns;
  ChecksConfig checks;
  DkimConfig dkim;
  std::vector<std::string> public_addresses;  // of the mail host, for `valija dns-records`
  std::string source;              // file the config came from, for messages
};

// Local mode: 127.0.0.1, each service on its standard port + port_base.
Config local_config(const std::string& data_dir, std::uint16_t port_base);

// Parses a TOML config. Errors name the file, line and key: "valija.toml:7: listener[1].role: ...".
Result<Config> load_config(const std::string& path);

}  // namespace valija::server
