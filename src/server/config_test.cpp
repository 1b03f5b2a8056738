// The TOML configuration: a full valid file, and every error naming file:line and key.
#include "server/config.hpp"
#include "base/testing/temp_dir.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace valija::server {
namespace {

namespace fs = std::filesystem;

struct TempDir : test::TempDir {
  TempDir() : test::TempDir("valija-config") {}
};

class ConfigTest : public testing::Test {
 protected:
  std::string write(const std::string& text) {
    const std::string path = dir_.path() + "/valija" + std::to_string(++n_) + ".toml";
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }

  // Loads text that must fail, and checks the message begins "<file>:<line>: <key>: ".
  std::string fails_at(const std::string& text, int line, const std::string& key) {
    const auto path = write(text);
    auto c = load_config(path);
    EXPECT_FALSE(c) << "accepted:\n" << text;
    if (c) return {};
    EXPECT_EQ(c.error().code, Errc::Invalid);
    const std::string want = path + ":" + std::to_string(line) + ": " + key + ": ";
    const std::string& got = c.error().detail;
    EXPECT_EQ(got.rfind(want, 0), 0u) << "want prefix: " << want << "\n got: " << got;
    return got;
  }

  TempDir dir_;
  int n_ = 0;
};

constexpr const char* kListener = "[[listener]]\nrole = \"smtp\"\n";

TEST_F(ConfigTest, FullValidConfig) {
  const auto path = write(R"toml(# valija example
hostname = "mx.example.org"
data_dir = "/var/lib/valija"
domains = ["Example.ORG", "example.net"]
log_level = "debug"
io_threads = 3

[tls]
cert = "/etc/valija/cert.pem"
key = "/etc/valija/key.pem"

[limits]
message_size = 10485760
recipients_per_message = 50
messages_per_connection = 20
smtp_errors = 5
hop_count = 30
command_timeout = 120
data_timeout = 60
session_timeout = 1800
alias_depth = 5
alias_fanout = 200
connections_total = 500
connections_per_ip = 10

[[listener]]
address = "0.0.0.0"
port = 25
role = "smtp"

[[listener]]
address = "::"
role = "submission"

[[listener]]
role = "imaps"
port = 10993

[[listener]]
role = "pop3"
)toml");
  auto c = load_config(path);
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_FALSE(c->local_mode);
  EXPECT_EQ(c->source, path);
  EXPECT_EQ(c->hostname, "mx.example.org");
  EXPECT_EQ(c->data_dir, "/var/lib/valija");
  EXPECT_EQ(c->domains, (std::vector<std::string>{"example.org", "example.net"}));
  EXPECT_EQ(c->log_level, "debug");
  EXPECT_EQ(c->io_threads, 3u);
  EXPECT_EQ(c->tls_cert, "/etc/valija/cert.pem");
  EXPECT_EQ(c->tls_key, "/etc/valija/key.pem");

  const Limits& l = c->limits;
  EXPECT_EQ(l.message_size, 10485760u);
  EXPECT_EQ(l.bdat_chunk, 10485760u);
  EXPECT_EQ(l.recipients_per_message, 50u);
  EXPECT_EQ(l.messages_per_connection, 20u);
  EXPECT_EQ(l.smtp_errors, 5u);
  EXPECT_EQ(l.hop_count, 30u);
  EXPECT_EQ(l.smtp_greeting_wait, std::chrono::seconds(120));
  EXPECT_EQ(l.smtp_data_block, std::chrono::seconds(60));
  EXPECT_EQ(l.smtp_session, std::chrono::seconds(1800));
  EXPECT_EQ(l.alias_depth, 5u);
  EXPECT_EQ(l.alias_fanout, 200u);
  EXPECT_EQ(l.connections_total, 500u);
  EXPECT_EQ(l.connections_per_ip, 10u);
  // Limits without a config key keep their defaults.
  EXPECT_EQ(l.smtp_command_line, Limits{}.smtp_command_line);
  EXPECT_EQ(l.header_scan, Limits{}.header_scan);

  ASSERT_EQ(c->listeners.size(), 4u);
  EXPECT_EQ(c->listeners[0].address, "0.0.0.0");
  EXPECT_EQ(c->listeners[0].port, 25);
  EXPECT_EQ(c->listeners[0].role, Role::Smtp);
  EXPECT_EQ(c->listeners[1].address, "::");
  EXPECT_EQ(c->listeners[1].port, 587);  // the role's standard port
  EXPECT_EQ(c->listeners[1].role, Role::Submission);
  EXPECT_EQ(c->listeners[2].address, "0.0.0.0");  // default address
  EXPECT_EQ(c->listeners[2].port, 10993);
  EXPECT_EQ(c->listeners[2].role, Role::Imaps);
  EXPECT_EQ(c->listeners[3].port, 110);
  EXPECT_EQ(c->listeners[3].role, Role::Pop3);
}

TEST_F(ConfigTest, MinimalConfigUsesDefaults) {
  auto c = load_config(write(kListener));
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->hostname, "localhost");
  EXPECT_EQ(c->data_dir, "valija-data");
  EXPECT_EQ(c->user, "valija");  // started as root, serve becomes this user
  EXPECT_TRUE(local_config("d", 10000).user.empty());  // local mode stays as it was started
  EXPECT_EQ(c->log_level, "info");
  EXPECT_EQ(c->io_threads, 0u);  // one per CPU
  EXPECT_TRUE(c->domains.empty());
  EXPECT_TRUE(c->tls_cert.empty());
  EXPECT_EQ(c->limits.message_size, Limits{}.message_size);
  EXPECT_EQ(c->limits.alias_depth, Limits{}.alias_depth);
  ASSERT_EQ(c->listeners.size(), 1u);
  EXPECT_EQ(c->listeners[0].address, "0.0.0.0");
  EXPECT_EQ(c->listeners[0].port, 25);
}

TEST_F(ConfigTest, EveryRoleByName) {
  const std::pair<const char*, Role> roles[] = {
      {"smtp", Role::Smtp}, {"submission", Role::Submission}, {"submissions", Role::Submissions},
      {"pop3", Role::Pop3}, {"pop3s", Role::Pop3s},           {"imap", Role::Imap},
      {"imaps", Role::Imaps},
  };
  std::string text;
  for (const auto& [name, role] : roles) text += std::string("[[listener]]\nrole = \"") + name + "\"\n";
  auto c = load_config(write(text));
  ASSERT_TRUE(c) << c.error().message();
  ASSERT_EQ(c->listeners.size(), 7u);
  for (std::size_t i = 0; i < 7; ++i) {
    EXPECT_EQ(c->listeners[i].role, roles[i].second);
    EXPECT_EQ(role_name(roles[i].second), roles[i].first);
    EXPECT_EQ(c->listeners[i].port, standard_port(roles[i].second));
  }
}

TEST_F(ConfigTest, UnknownTopLevelKey) {
  auto msg = fails_at("hostname = \"mx.example.org\"\ncolour = \"blue\"\n" + std::string(kListener), 2, "colour");
  EXPECT_NE(msg.find("unknown key"), std::string::npos) << msg;
}

TEST_F(ConfigTest, ServiceUser) {
  auto c = load_config(write("user = \"mail\"\n" + std::string(kListener)));
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->user, "mail");
  fails_at("user = \"\"\n" + std::string(kListener), 1, "user");
  fails_at("user = 8\n" + std::string(kListener), 1, "user");
}

TEST_F(ConfigTest, UnknownTopLevelTable) {
  fails_at(std::string(kListener) + "\n[smtpd]\nbanner = \"hi\"\n", 4, "smtpd");
}

TEST_F(ConfigTest, Pop3SettingsAndAuthLimits) {
  auto c = load_config(write(std::string(kListener)));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->pop3.cleartext, Cleartext::Loopback);
  EXPECT_EQ(c->pop3.idle_timeout, std::chrono::seconds(600));
  EXPECT_EQ(c->limits.auth_failures, 10u);
  c = load_config(write("[pop3]\ncleartext = \"never\"\nidle_timeout = 900\n[limits]\nauth_failures = 3\n"
                        "auth_window = 60\nauth_lockout = 120\nmessage_memory = 2097152\nrcpt_refusals = 5\n" +
                        std::string(kListener)));
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->pop3.cleartext, Cleartext::Never);
  EXPECT_EQ(c->pop3.idle_timeout, std::chrono::seconds(900));
  EXPECT_EQ(c->limits.auth_failures, 3u);
  EXPECT_EQ(c->limits.auth_window, std::chrono::seconds(60));
  EXPECT_EQ(c->limits.auth_lockout, std::chrono::seconds(120));
  EXPECT_EQ(c->limits.message_memory, 2097152u);
  EXPECT_EQ(c->limits.rcpt_refusals, 5u);
  c = load_config(write("[pop3]\ncleartext = \"always\"\nlogin_delay = 300\nexpire = \"never\"\n" + std::string(kListener)));
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->pop3.cleartext, Cleartext::Always);
  EXPECT_EQ(c->pop3.login_delay, std::chrono::seconds(300));
  EXPECT_TRUE(c->pop3.expire_never);
  EXPECT_FALSE(c->pop3.apop);
  EXPECT_TRUE(load_config(write("[pop3]\napop = true\n" + std::string(kListener)))->pop3.apop);
  EXPECT_FALSE(load_config(write(std::string(kListener)))->pop3.login_delay);
}

TEST_F(ConfigTest, Pop3Errors) {
  auto msg = fails_at("[pop3]\ncleartext = \"sometimes\"\n" + std::string(kListener), 2, "pop3.cleartext");
  EXPECT_NE(msg.find("never, loopback or always"), std::string::npos) << msg;
  fails_at("[pop3]\nidle_timeout = 0\n" + std::string(kListener), 2, "pop3.idle_timeout");
  fails_at("[pop3]\napop = \"yes\"\n" + std::string(kListener), 2, "pop3.apop");
  fails_at("[pop3]\nexpire = \"30\"\n" + std::string(kListener), 2, "pop3.expire");
  fails_at("[pop3]\nlogin_delay = 0\n" + std::string(kListener), 2, "pop3.login_delay");
  fails_at("[limits]\nauth_failures = 0\n" + std::string(kListener), 2, "limits.auth_failures");
  fails_at("[limits]\nmessage_memory = 1000\n" + std::string(kListener), 2, "limits.message_memory");
}

TEST_F(ConfigTest, UnknownKeyInLimits) {
  auto msg = fails_at("[limits]\nmessage_size = 1048576\nmax_bananas = 3\n" + std::string(kListener), 3,
                      "limits.max_bananas");
  EXPECT_NE(msg.find("unknown key"), std::string::npos) << msg;
}

TEST_F(ConfigTest, UnknownKeyInListenerAndTls) {
  fails_at("[[listener]]\nrole = \"smtp\"\n\n[[listener]]\nrole = \"imap\"\nprot = 143\n", 6, "listener[1].prot");
  fails_at("[tls]\ncert = \"c\"\nkey = \"k\"\nchain = \"x\"\n" + std::string(kListener), 4, "tls.chain");
}

TEST_F(ConfigTest, BadRole) {
  auto msg = fails_at("[[listener]]\nport = 2525\nrole = \"smtpx\"\n", 3, "listener[0].role");
  EXPECT_NE(msg.find("smtpx"), std::string::npos) << msg;
}

TEST_F(ConfigTest, MissingRole) {
  // No role line: the error points at the listener's table.
  fails_at("hostname = \"mx.example.org\"\n\n[[listener]]\nport = 25\n", 3, "listener[0].role");
}

TEST_F(ConfigTest, ListenerPortOutOfRange) {
  for (const char* port : {"70000", "0", "-1", "65536"}) {
    SCOPED_TRACE(port);
    auto msg = fails_at(std::string("[[listener]]\nrole = \"smtp\"\nport = ") + port + "\n", 3, "listener[0].port");
    EXPECT_NE(msg.find("between 1 and 65535"), std::string::npos) << msg;
  }
  auto ok = load_config(write("[[listener]]\nrole = \"smtp\"\nport = 65535\n"));
  ASSERT_TRUE(ok) << ok.error().message();
  EXPECT_EQ(ok->listeners[0].port, 65535);
}

TEST_F(ConfigTest, WrongTypes) {
  fails_at("[[listener]]\nrole = \"smtp\"\nport = \"25\"\n", 3, "listener[0].port");
  fails_at("hostname = 42\n" + std::string(kListener), 1, "hostname");
  fails_at("data_dir = [\"a\"]\n" + std::string(kListener), 1, "data_dir");
  fails_at("domains = \"example.org\"\n" + std::string(kListener), 1, "domains");
  fails_at("domains = [\"example.org\", 7]\n" + std::string(kListener), 1, "domains[1]");
  fails_at(std::string(kListener) + "[limits]\nmessage_size = \"50M\"\n", 4, "limits.message_size");
  fails_at("limits = 5\n" + std::string(kListener), 1, "limits");
  fails_at("tls = \"yes\"\n" + std::string(kListener), 1, "tls");
  fails_at("[[listener]]\nrole = 25\n", 2, "listener[0].role");
}

// TOML has distinct integer, float and boolean types: a boolean or a float where an
// integer belongs is a mistake to report, not a value to convert (true would be 1).
TEST_F(ConfigTest, BooleansAndFloatsAreNotIntegers) {
  auto msg = fails_at("[[listener]]\nrole = \"smtp\"\nport = true\n", 3, "listener[0].port");
  EXPECT_NE(msg.find("integer"), std::string::npos) << msg;
  fails_at(std::string(kListener) + "[limits]\nalias_depth = true\n", 4, "limits.alias_depth");
  fails_at("[[listener]]\nrole = \"smtp\"\nport = 25.0\n", 3, "listener[0].port");
  fails_at(std::string(kListener) + "[limits]\nmessage_size = 1e7\n", 4, "limits.message_size");
}

TEST_F(ConfigTest, LimitOutOfRange) {
  auto msg = fails_at(std::string(kListener) + "[limits]\nalias_depth = 0\n", 4, "limits.alias_depth");
  EXPECT_NE(msg.find("between 1 and 100"), std::string::npos) << msg;
  fails_at(std::string(kListener) + "[limits]\nmessage_size = 100\n", 4, "limits.message_size");
  fails_at(std::string(kListener) + "[limits]\nconnections_per_ip = -5\n", 4, "limits.connections_per_ip");
  fails_at("io_threads = 1000\n" + std::string(kListener), 1, "io_threads");
}

TEST_F(ConfigTest, DuplicateListener) {
  auto msg = fails_at(
      "[[listener]]\naddress = \"127.0.0.1\"\nport = 2525\nrole = \"smtp\"\n\n"
      "[[listener]]\naddress = \"127.0.0.1\"\nport = 2525\nrole = \"submission\"\n",
      6, "listener[1]");
  EXPECT_NE(msg.find("127.0.0.1:2525"), std::string::npos) << msg;
  // The same port through the role's default.
  fails_at("[[listener]]\nrole = \"smtp\"\n[[listener]]\nrole = \"smtp\"\n", 3, "listener[1]");
  // Another address on the same port is fine.
  auto ok = load_config(write("[[listener]]\naddress = \"127.0.0.1\"\nrole = \"smtp\"\n"
                              "[[listener]]\naddress = \"192.0.2.1\"\nrole = \"smtp\"\n"));
  EXPECT_TRUE(ok) << ok.error().message();
}

TEST_F(ConfigTest, InvalidHostname) {
  for (const char* h : {"not a host", "mx..example.org", "-mx.example.org", "mx_example!org", ""}) {
    SCOPED_TRACE(h);
    fails_at(std::string("\nhostname = \"") + h + "\"\n" + kListener, 2, "hostname");
  }
}

TEST_F(ConfigTest, InvalidDomain) {
  fails_at("domains = [\"example.org\", \"bad domain\"]\n" + std::string(kListener), 1, "domains[1]");
}

TEST_F(ConfigTest, BadLogLevel) {
  fails_at("log_level = \"verbose\"\n" + std::string(kListener), 1, "log_level");
}

TEST_F(ConfigTest, TlsNeedsCertAndKey) {
  fails_at("\n[tls]\ncert = \"/c.pem\"\n" + std::string(kListener), 2, "tls");
}

TEST_F(ConfigTest, NoListener) {
  // No line to point at: the message names the file and the key.
  const auto path = write("hostname = \"mx.example.org\"\n");
  auto c = load_config(path);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, Errc::Invalid);
  EXPECT_EQ(c.error().detail.rfind(path + ": listener: ", 0), 0u) << c.error().detail;
  // An empty array of listeners is no better.
  fails_at("listener = []\n", 1, "listener");
}

TEST_F(ConfigTest, SyntaxError) {
  const auto path = write("hostname = \"mx.example.org\"\ndata_dir = \"unterminated\n" + std::string(kListener));
  auto c = load_config(path);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, Errc::Invalid);
  EXPECT_EQ(c.error().detail.rfind(path + ":2:", 0), 0u) << c.error().detail;
}

TEST_F(ConfigTest, DuplicateKeyIsSyntaxError) {
  const auto path = write("hostname = \"a.example\"\nhostname = \"b.example\"\n" + std::string(kListener));
  auto c = load_config(path);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().detail.rfind(path + ":2:", 0), 0u) << c.error().detail;
}

TEST_F(ConfigTest, MissingFile) {
  const std::string path = dir_.path() + "/nope.toml";
  auto c = load_config(path);
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().detail.find(path), std::string::npos) << c.error().detail;
}

TEST(LocalConfig, StandardPortsPlusBase) {
  auto c = local_config("/tmp/data", 20000);
  EXPECT_TRUE(c.local_mode);
  EXPECT_EQ(c.data_dir, "/tmp/data");
  EXPECT_EQ(c.hostname, "localhost");
  EXPECT_EQ(c.domains, std::vector<std::string>{"localhost"});
  std::map<Role, std::uint16_t> ports;
  for (const auto& l : c.listeners) {
    EXPECT_EQ(l.address, "127.0.0.1");
    EXPECT_TRUE(ports.emplace(l.role, l.port).second) << role_name(l.role) << " listed twice";
  }
  const std::map<Role, std::uint16_t> want{
      {Role::Smtp, 20025}, {Role::Submission, 20587}, {Role::Submissions, 20465}, {Role::Pop3, 20110},
      {Role::Pop3s, 20995}, {Role::Imap, 20143},     {Role::Imaps, 20993},
  };
  EXPECT_EQ(ports, want);
  EXPECT_EQ(c.limits.message_size, Limits{}.message_size);
}

TEST(LocalConfig, BaseZeroIsStandardPorts) {
  auto c = local_config("d", 0);
  for (const auto& l : c.listeners) EXPECT_EQ(l.port, standard_port(l.role)) << role_name(l.role);
}

TEST(LocalConfig, HighestBaseThatFits) {
  // 995 (pop3s) is the highest standard port: base + 995 must still be a port.
  constexpr std::uint16_t kBase = 65535 - 995;
  auto c = local_config("d", kBase);
  for (const auto& l : c.listeners) EXPECT_EQ(l.port, kBase + standard_port(l.role)) << role_name(l.role);
}

}  // namespace
}  // namespace valija::server

namespace valija::server {
namespace {

class OutboundConfigTest : public testing::Test {
 protected:
  std::string write(const std::string& text) {
    const std::string path = dir_.path() + "/q" + std::to_string(++n_) + ".toml";
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  test::TempDir dir_{"valija-config-q"};
  int n_ = 0;
  static constexpr const char* kListen = "[[listener]]\naddress = \"127.0.0.1\"\nport = 2525\nrole = \"smtp\"\n";
};

TEST_F(OutboundConfigTest, QueueDnsRelayTransportsSubmissionSmtp) {
  const std::string secret = dir_.path() + "/relay.secret";
  std::ofstream(secret) << "s3cret\n";
  auto c = load_config(write(std::string(kListen) + R"(
[queue]
retry = [60, 120]
retry_every = 600
give_up_after = 86400
warn_after = 0
connections = 50
connections_per_destination = 10
messages_per_connection = 20
connect_timeout = 15
port = 2526
tls = "required"
verify = true
[dns]
servers = ["127.0.0.1@5353", "::1"]
timeout = 5
[relay]
host = "smtp.provider.example"
port = 587
tls = "required"
user = "me@provider.example"
password_file = ")" + secret + R"("
[[transport]]
domain = "Partner.Example"
host = "192.0.2.80"
tls = "none"
[submission]
cleartext = "loopback"
[smtp]
trusted_networks = ["192.0.2.0/24", "2001:db8::/32", "198.51.100.7"]
)"));
  ASSERT_TRUE(c) << c.error().detail;
  EXPECT_EQ(c->queue.retry, (std::vector<std::chrono::seconds>{std::chrono::seconds(60), std::chrono::seconds(120)}));
  EXPECT_EQ(c->queue.retry_every.count(), 600);
  EXPECT_EQ(c->queue.give_up_after.count(), 86400);
  EXPECT_EQ(c->queue.warn_after.count(), 0);
  EXPECT_EQ(c->queue.connections, 50u);
  EXPECT_EQ(c->queue.connections_per_destination, 10u);
  EXPECT_EQ(c->queue.messages_per_connection, 20u);
  EXPECT_EQ(c->queue.port, 2526);
  EXPECT_EQ(c->queue.tls, OutboundTls::Required);
  EXPECT_TRUE(c->queue.verify);
  EXPECT_EQ(c->dns.servers, (std::vector<std::string>{"127.0.0.1@5353", "::1"}));
  EXPECT_EQ(c->dns.timeout.count(), 5);
  ASSERT_TRUE(c->queue.relay);
  EXPECT_EQ(c->queue.relay->host, "smtp.provider.example");
  EXPECT_EQ(c->queue.relay->port, 587);
  EXPECT_EQ(c->queue.relay->user, "me@provider.example");
  EXPECT_EQ(c->queue.relay->password, "s3cret");
  ASSERT_EQ(c->queue.transports.count("partner.example"), 1u);
  EXPECT_EQ(c->queue.transports.at("partner.example").tls, OutboundTls::None);
  EXPECT_EQ(c->queue.transports.at("partner.example").port, 25);
  EXPECT_EQ(c->submission.cleartext, Cleartext::Loopback);
  EXPECT_EQ(c->smtp.trusted_networks.size(), 3u);
}

TEST_F(OutboundConfigTest, ChecksAndPublicAddresses) {
  auto d = load_config(write(kListen));
  ASSERT_TRUE(d) << d.error().detail;
  EXPECT_TRUE(d->checks.spf);
  EXPECT_EQ(d->checks.spf_fail, CheckAction::Dmarc);  // the issue's default: reject when DMARC says reject
  for (auto a : {d->checks.spf_softfail, d->checks.spf_neutral, d->checks.spf_none, d->checks.spf_permerror,
                 d->checks.spf_temperror})
    EXPECT_EQ(a, CheckAction::Mark);
  EXPECT_EQ(d->checks.dmarc_reject, CheckAction::Reject);
  EXPECT_EQ(d->checks.dmarc_quarantine, CheckAction::Junk);
  EXPECT_EQ(d->checks.exempt_networks, (std::vector<std::string>{"127.0.0.0/8", "::1"}));
  EXPECT_FALSE(d->checks.greylist);
  auto c = load_config(write("public_addresses = [\"203.0.113.25\", \"2001:db8::25\"]\n" + std::string(kListen) + R"(
[checks]
authserv_id = "mx.example.org"
exempt_networks = []
spf_fail = "reject"
spf_softfail = "junk"
spf_neutral = "reject"
spf_none = "junk"
spf_permerror = "reject"
spf_temperror = "defer"
dkim = false
dmarc_reject = "junk"
dmarc_quarantine = "mark"
iprev = "require"
blocklists = ["BL.Example", "bl2.example"]
connections_per_minute = 30
messages_per_hour = 500
greylist = true
greylist_delay = 60
)"));
  ASSERT_TRUE(c) << c.error().detail;
  EXPECT_EQ(c->public_addresses.size(), 2u);
  EXPECT_EQ(c->checks.authserv_id, "mx.example.org");
  EXPECT_TRUE(c->checks.exempt_networks.empty());
  EXPECT_EQ(c->checks.spf_fail, CheckAction::Reject);
  EXPECT_EQ(c->checks.spf_softfail, CheckAction::Junk);
  EXPECT_EQ(c->checks.spf_neutral, CheckAction::Reject);
  EXPECT_EQ(c->checks.spf_none, CheckAction::Junk);
  EXPECT_EQ(c->checks.spf_permerror, CheckAction::Reject);
  EXPECT_EQ(c->checks.spf_temperror, CheckAction::Reject);  // "defer": 451 4.7.24
  EXPECT_FALSE(c->checks.dkim);
  EXPECT_EQ(c->checks.dmarc_reject, CheckAction::Junk);
  EXPECT_EQ(c->checks.dmarc_quarantine, CheckAction::Mark);
  EXPECT_TRUE(c->checks.iprev_required);
  EXPECT_EQ(c->checks.blocklists, (std::vector<std::string>{"bl.example", "bl2.example"}));
  EXPECT_EQ(c->checks.connections_per_minute, 30u);
  EXPECT_EQ(c->checks.messages_per_hour, 500u);
  EXPECT_TRUE(c->checks.greylist);
  EXPECT_EQ(c->checks.greylist_delay.count(), 60);
  for (const char* bad : {"[checks]\nspf_fail = \"maybe\"\n", "[checks]\nspf_softfail = \"dmarc\"\n",
                          "[checks]\ndmarc_quarantine = \"reject\"\n", "[checks]\niprev = \"strict\"\n",
                          "[checks]\nblocklists = [\"not a zone\"]\n", "[checks]\nexempt_networks = [\"0.0.0.0/0\"]\n",
                          "[checks]\ngreylist = \"yes\"\n", "[checks]\nspam = 1\n"}) {
    auto e = load_config(write(std::string(kListen) + bad));
    EXPECT_FALSE(e) << bad;
  }
  EXPECT_FALSE(load_config(write("public_addresses = [\"mx.example\"]\n" + std::string(kListen))));
}

TEST_F(OutboundConfigTest, SpfActionPerResult) {
  auto c = load_config(write(std::string(kListen) + "[checks]\nspf_fail = \"mark\"\nspf_temperror = \"accept\"\n"));
  ASSERT_TRUE(c) << c.error().detail;
  EXPECT_EQ(c->checks.spf_fail, CheckAction::Mark);  // no longer decided by DMARC
  EXPECT_EQ(c->checks.spf_temperror, CheckAction::Mark);  // "accept": the first name of "mark"
  for (const char* ok : {"mark", "junk", "defer"}) {
    auto t = load_config(write(std::string(kListen) + "[checks]\nspf_temperror = \"" + ok + "\"\n"));
    EXPECT_TRUE(t) << ok;
  }
  // "dmarc" is for fail only; a temporary error is deferred, never rejected; "defer" is for temperror only.
  for (const char* bad : {"spf_neutral = \"dmarc\"", "spf_none = \"dmarc\"", "spf_permerror = \"dmarc\"",
                          "spf_temperror = \"reject\"", "spf_temperror = \"dmarc\"", "spf_permerror = \"defer\"",
                          "spf_fail = \"defer\"", "spf_none = \"maybe\"", "spf_pass = \"reject\""}) {
    auto e = load_config(write(std::string(kListen) + "[checks]\n" + bad + "\n"));
    ASSERT_FALSE(e) << bad;
    EXPECT_NE(e.error().detail.find("checks.spf_"), std::string::npos) << e.error().detail;
  }
}

TEST_F(OutboundConfigTest, Errors) {
  for (const char* bad : {
           "[queue]\nretry = []\n", "[queue]\nretry = [0]\n", "[queue]\ntls = \"sometimes\"\n",
           "[queue]\ncolour = 1\n", "[dns]\nservers = [\"dns.example\"]\n", "[dns]\nservers = [\"127.0.0.1@x\"]\n",
           "[relay]\nport = 25\n", "[relay]\nhost = \"a.example\"\nuser = \"u\"\n",
           "[relay]\nhost = \"a.example\"\nuser = \"u\"\npassword_file = \"/nonexistent/x\"\n",
           "[[transport]]\nhost = \"a.example\"\n",
           "[[transport]]\ndomain = \"p.example\"\nhost = \"a.example\"\n[[transport]]\ndomain = \"p.example\"\nhost = \"b.example\"\n",
           "[submission]\ncleartext = \"sometimes\"\n", "[smtp]\ntrusted_networks = [\"0.0.0.0/0\"]\n",
           "[smtp]\ntrusted_networks = [\"::/0\"]\n", "[smtp]\ntrusted_networks = [\"10.0.0.0/33\"]\n",
           "[smtp]\ntrusted_networks = [\"example.org\"]\n", "[smtp]\nopen = true\n"}) {
    auto c = load_config(write(std::string(kListen) + bad));
    EXPECT_FALSE(c) << bad;
  }
}

}  // namespace
}  // namespace valija::server

