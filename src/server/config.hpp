#pragma once
// The server's configuration: from a TOML file (--config) or local mode defaults.
#include <chrono>
#include <cstdint>
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

struct Config {
  bool local_mode = false;
  std::string hostname = "localhost";
  std::string data_dir = "valija-data";
  std::vector<ListenerSpec> listeners;
  std::string tls_cert, tls_key;   // empty: self-signed certificate in <data>/tls
  std::vector<std::string> domains;
  std::string log_level = "info";
  std::size_t io_threads = 0;      // threads serving connections; 0: one per CPU
  Limits limits;
  Pop3Settings pop3;
  ImapSettings imap;
  std::string source;              // file the config came from, for messages
};

// Local mode: 127.0.0.1, each service on its standard port + port_base.
Config local_config(const std::string& data_dir, std::uint16_t port_base);

// Parses a TOML config. Errors name the file, line and key: "valija.toml:7: listener[1].role: ...".
Result<Config> load_config(const std::string& path);

}  // namespace valija::server
