#include "server/config.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <array>
#include <fstream>
#include <set>

#include "base/text.hpp"
#include "mail/address.hpp"
#include "server/config_parser.hpp"

namespace valija::server {
namespace {

struct RoleInfo {
  Role role;
  std::string_view name;
  std::uint16_t port;
};
constexpr std::array<RoleInfo, 7> kRoles{{
    {Role::Smtp, "smtp", 25}, {Role::Submission, "submission", 587}, {Role::Submissions, "submissions", 465},
    {Role::Pop3, "pop3", 110}, {Role::Pop3s, "pop3s", 995}, {Role::Imap, "imap", 143}, {Role::Imaps, "imaps", 993},
}};

Result<void> parse_limits(const Parser& p, const toml::table& t, Limits& l) {
  auto r = p.known(t, "limits.",
                   {"message_size", "recipients_per_message", "recipients_per_hour", "messages_per_connection", "smtp_errors", "hop_count",
                    "command_timeout", "data_timeout", "session_timeout", "alias_depth", "alias_fanout",
                    "connections_total", "connections_per_ip", "commands_per_second", "message_memory", "rcpt_refusals", "auth_failures", "auth_account_failures",
                    "auth_window", "auth_lockout", "auth_cache_ttl", "imap_sessions_per_account"});
  if (!r) return r;
  constexpr std::uint64_t kMax = 1ull << 40;
  TRY_ASSIGN(l.message_size, p.num(t, "message_size", "limits.message_size", l.message_size, 1024, kMax));
  l.bdat_chunk = l.message_size;
  TRY_ASSIGN(l.message_memory, p.num(t, "message_memory", "limits.message_memory", l.message_memory, 1024 * 1024, kMax));
  TRY_ASSIGN(l.rcpt_refusals, p.num(t, "rcpt_refusals", "limits.rcpt_refusals", l.rcpt_refusals, 1, 100000));
  TRY_ASSIGN(l.auth_failures, p.num(t, "auth_failures", "limits.auth_failures", l.auth_failures, 1, 100000));
  TRY_ASSIGN(l.auth_account_failures, p.num(t, "auth_account_failures", "limits.auth_account_failures",
                                            l.auth_account_failures, 0, 100000));
  {
    std::uint64_t s = 0;
    TRY_ASSIGN(s, p.num(t, "auth_window", "limits.auth_window", l.auth_window.count(), 1, 7 * 86400));
    l.auth_window = std::chrono::seconds(s);
    TRY_ASSIGN(s, p.num(t, "auth_lockout", "limits.auth_lockout", l.auth_lockout.count(), 1, 7 * 86400));
    l.auth_lockout = std::chrono::seconds(s);
    TRY_ASSIGN(s, p.num(t, "auth_cache_ttl", "limits.auth_cache_ttl", l.auth_cache_ttl.count(), 0, 7 * 86400));
    l.auth_cache_ttl = std::chrono::seconds(s);
  }
  TRY_ASSIGN(l.recipients_per_message, p.num(t, "recipients_per_message", "limits.recipients_per_message", l.recipients_per_message, 1, 100000));
  TRY_ASSIGN(l.recipients_per_hour, p.num(t, "recipients_per_hour", "limits.recipients_per_hour", l.recipients_per_hour, 0, 10000000));
  TRY_ASSIGN(l.messages_per_connection, p.num(t, "messages_per_connection", "limits.messages_per_connection", l.messages_per_connection, 1, 1000000));
  TRY_ASSIGN(l.smtp_errors, p.num(t, "smtp_errors", "limits.smtp_errors", l.smtp_errors, 1, 1000));
  TRY_ASSIGN(l.hop_count, p.num(t, "hop_count", "limits.hop_count", l.hop_count, 1, 1000));
  std::uint64_t secs = 0;
  TRY_ASSIGN(secs, p.num(t, "command_timeout", "limits.command_timeout", l.smtp_greeting_wait.count(), 1, 86400));
  l.smtp_greeting_wait = std::chrono::seconds(secs);
  TRY_ASSIGN(secs, p.num(t, "data_timeout", "limits.data_timeout", l.smtp_data_block.count(), 1, 86400));
  l.smtp_data_block = std::chrono::seconds(secs);
  TRY_ASSIGN(secs, p.num(t, "session_timeout", "limits.session_timeout", l.smtp_session.count(), 1, 7 * 86400));
  l.smtp_session = std::chrono::seconds(secs);
  TRY_ASSIGN(l.alias_depth, p.num(t, "alias_depth", "limits.alias_depth", l.alias_depth, 1, 100));
  TRY_ASSIGN(l.alias_fanout, p.num(t, "alias_fanout", "limits.alias_fanout", l.alias_fanout, 1, 100000));
  TRY_ASSIGN(l.connections_total, p.num(t, "connections_total", "limits.connections_total", l.connections_total, 1, 1000000));
  TRY_ASSIGN(l.connections_per_ip, p.num(t, "connections_per_ip", "limits.connections_per_ip", l.connections_per_ip, 1, 1000000));
  TRY_ASSIGN(l.commands_per_second,
             p.num(t, "commands_per_second", "limits.commands_per_second", l.commands_per_second, 0, 1000000));
  TRY_ASSIGN(l.imap_sessions_per_account, p.num(t, "imap_sessions_per_account", "limits.imap_sessions_per_account",
                                                l.imap_sessions_per_account, 1, 100000));
  return {};
}

}  // namespace

std::string_view role_name(Role r) {
  for (const auto& i : kRoles)
    if (i.role == r) return i.name;
  return "?";
}

std::uint16_t standard_port(Role r) {
  for (const auto& i : kRoles)
    if (i.role == r) return i.port;
  return 0;
}

Config local_config(const std::string& data_dir, std::uint16_t port_base) {
  Config c;
  c.local_mode = true;
  c.hostname = "localhost";
  c.data_dir = data_dir;
  c.domains = {"localhost"};
  for (const auto& i : kRoles)
    c.listeners.push_back(ListenerSpec{"127.0.0.1", static_cast<std::uint16_t>(port_base + i.port), i.role});
  c.source = "local mode";
  return c;
}

// [pop3] and [imap] cleartext = "never" | "loopback" | "always".
static Result<Cleartext> parse_cleartext(Parser& p, const toml::table& t, std::string_view key) {
  std::string mode;
  TRY_ASSIGN(mode, p.str(t, "cleartext", key, "loopback"));
  if (mode == "never") return Cleartext::Never;
  if (mode == "loopback") return Cleartext::Loopback;
  if (mode == "always") return Cleartext::Always;
  return tl::unexpected(p.err(t.get("cleartext"), key, "expected never, loopback or always"));
}

static Result<OutboundTls> parse_outbound_tls(const Parser& p, const toml::table& t, std::string_view path) {
  std::string mode;
  TRY_ASSIGN(mode, p.str(t, "tls", path, "opportunistic"));
  if (mode == "none") return OutboundTls::None;
  if (mode == "opportunistic") return OutboundTls::Opportunistic;
  if (mode == "required") return OutboundTls::Required;
  return tl::unexpected(p.err(t.get("tls"), path, "expected none, opportunistic or required"));
}

static Result<NextHop> parse_next_hop(const Parser& p, const toml::table& t, const std::string& prefix,
                                      std::initializer_list<std::string_view> keys) {
  auto k = p.known(t, prefix + ".", keys);
  if (!k) return tl::unexpected(k.error());
  NextHop h;
  TRY_ASSIGN(h.host, p.str(t, "host", prefix + ".host", ""));
  if (!is_ip_address(h.host) && !mail::is_domain(h.host, false))
    return tl::unexpected(p.err(t.get("host") ? t.get("host") : &t, prefix + ".host", "expected a host name or IP address"));
  TRY_ASSIGN(h.port, p.num(t, "port", prefix + ".port", 25, 1, 65535));
  TRY_ASSIGN(h.tls, parse_outbound_tls(p, t, prefix + ".tls"));
  TRY_ASSIGN(h.user, p.str(t, "user", prefix + ".user", ""));
  std::string file;
  TRY_ASSIGN(file, p.str(t, "password_file", prefix + ".password_file", ""));
  if (h.user.empty() != file.empty())
    return tl::unexpected(p.err(&t, prefix, "user and password_file go together"));
  if (!file.empty()) {
    // The secret lives in a file of its own (mode 0600), not in the config.
    std::ifstream in(file);
    if (!in || !std::getline(in, h.password) || h.password.empty())
      return tl::unexpected(p.err(t.get("password_file"), prefix + ".password_file",
                                  fmt::format("cannot read a password from {}", file)));
    if (!h.password.empty() && h.password.back() == '\r') h.password.pop_back();
  }
  return h;
}

static Result<void> parse_queue(const Parser& p, const toml::table& t, QueueConfig& q) {
  auto k = p.known(t, "queue.",
                   {"retry", "retry_every", "give_up_after", "warn_after", "connections", "connections_per_destination",
                    "messages_per_connection", "connect_timeout", "port", "tls", "verify", "ca_file"});
  if (!k) return k;
  if (const toml::node* n = t.get("retry")) {
    const toml::array* arr = n->as_array();
    if (!arr || arr->empty() || arr->size() > 20)
      return tl::unexpected(p.err(n, "queue.retry", "expected a list of 1 to 20 waits in seconds"));
    q.retry.clear();
    for (std::size_t i = 0; i < arr->size(); ++i) {
      auto v = (*arr)[i].value_exact<std::int64_t>();
      if (!v || *v < 1 || *v > 7 * 86400)
        return tl::unexpected(p.err(&(*arr)[i], fmt::format("queue.retry[{}]", i), "expected seconds, 1 to 604800"));
      q.retry.push_back(std::chrono::seconds(*v));
    }
  }
  std::uint64_t v = 0;
  TRY_ASSIGN(v, p.num(t, "retry_every", "queue.retry_every", q.retry_every.count(), 1, 7 * 86400));
  q.retry_every = std::chrono::seconds(v);
  TRY_ASSIGN(v, p.num(t, "give_up_after", "queue.give_up_after", q.give_up_after.count(), 1, 30 * 86400));
  q.give_up_after = std::chrono::seconds(v);
  TRY_ASSIGN(v, p.num(t, "warn_after", "queue.warn_after", q.warn_after.count(), 0, 30 * 86400));
  q.warn_after = std::chrono::seconds(v);
  TRY_ASSIGN(q.connections, p.num(t, "connections", "queue.connections", q.connections, 1, 10000));
  TRY_ASSIGN(q.connections_per_destination, p.num(t, "connections_per_destination", "queue.connections_per_destination",
                                                  q.connections_per_destination, 1, 1000));
  TRY_ASSIGN(q.messages_per_connection, p.num(t, "messages_per_connection", "queue.messages_per_connection",
                                              q.messages_per_connection, 1, 100000));
  TRY_ASSIGN(v, p.num(t, "connect_timeout", "queue.connect_timeout", q.connect_timeout.count(), 1, 600));
  q.connect_timeout = std::chrono::seconds(v);
  TRY_ASSIGN(q.port, p.num(t, "port", "queue.port", q.port, 1, 65535));
  TRY_ASSIGN(q.tls, parse_outbound_tls(p, t, "queue.tls"));
  if (const toml::node* n = t.get("verify")) {
    auto b = n->value_exact<bool>();
    if (!b) return tl::unexpected(p.err(n, "queue.verify", "expected true or false"));
    q.verify = *b;
  }
  TRY_ASSIGN(q.ca_file, p.str(t, "ca_file", "queue.ca_file", ""));
  return {};
}

static Result<void> parse_dns(const Parser& p, const toml::table& t, DnsConfig& d) {
  auto k = p.known(t, "dns.", {"servers", "timeout"});
  if (!k) return k;
  if (const toml::node* n = t.get("servers")) {
    const toml::array* arr = n->as_array();
    if (!arr) return tl::unexpected(p.err(n, "dns.servers", "expected a list of addresses"));
    for (std::size_t i = 0; i < arr->size(); ++i) {
      auto v = (*arr)[i].value<std::string>();
      auto at = v ? v->find('@') : std::string::npos;
      if (!v || !is_ip_address(v->substr(0, at)) ||
          (at != std::string::npos && !text::parse_u64(v->substr(at + 1))))
        return tl::unexpected(p.err(&(*arr)[i], fmt::format("dns.servers[{}]", i), "expected an IP address, optionally @port"));
      d.servers.push_back(*v);
    }
  }
  std::uint64_t v = 0;
  TRY_ASSIGN(v, p.num(t, "timeout", "dns.timeout", d.timeout.count(), 1, 300));
  d.timeout = std::chrono::seconds(v);
  return {};
}

Result<Config> load_config(const std::string& path) {
  Parser p(path);
  auto parsed = toml::parse_file(path);
  if (!parsed) {
    const auto& e = parsed.error();
    return fail(Errc::Invalid, fmt::format("{}:{}:{}: {}", path, e.source().begin.line, e.source().begin.column,
                                           e.description()));
  }
  const toml::table& t = parsed.table();
  Config c;
  c.source = path;
  auto r = p.known(t, "", {"hostname", "data_dir", "user", "domains", "log_level", "io_threads", "tls", "listener", "limits", "pop3", "imap", "queue", "dns", "relay", "transport", "submission", "smtp", "checks", "dkim", "public_addresses"});
  if (!r) return tl::unexpected(r.error());
  TRY_ASSIGN(c.hostname, p.str(t, "hostname", "hostname", "localhost"));
  if (!mail::is_domain(c.hostname, false)) return tl::unexpected(p.err(t.get("hostname"), "hostname", "not a valid host name"));
  TRY_ASSIGN(c.data_dir, p.str(t, "data_dir", "data_dir", c.data_dir));
  TRY_ASSIGN(c.user, p.str(t, "user", "user", "valija"));
  if (c.user.empty()) return tl::unexpected(p.err(t.get("user"), "user", "expected a user name (or \"root\")"));
  TRY_ASSIGN(c.log_level, p.str(t, "log_level", "log_level", "info"));
  if (c.log_level != "debug" && c.log_level != "info" && c.log_level != "warn" && c.log_level != "error")
    return tl::unexpected(p.err(t.get("log_level"), "log_level", "expected debug, info, warn or error"));
  TRY_ASSIGN(c.io_threads, p.num(t, "io_threads", "io_threads", 0, 0, 256));
  if (const toml::node* d = t.get("domains")) {
    const toml::array* arr = d->as_array();
    if (!arr) return tl::unexpected(p.err(d, "domains", "expected an array of domain names"));
    for (std::size_t i = 0; i < arr->size(); ++i) {
      auto v = (*arr)[i].value<std::string>();
      auto key = fmt::format("domains[{}]", i);
      if (!v || !mail::is_domain(*v, true)) return tl::unexpected(p.err(&(*arr)[i], key, "not a valid domain name"));
      c.domains.push_back(text::to_lower(*v));
    }
  }
  if (const toml::node* n = t.get("tls")) {
    const toml::table* tls = n->as_table();
    if (!tls) return tl::unexpected(p.err(n, "tls", "expected a table with cert and key"));
    auto k = p.known(*tls, "tls.", {"cert", "key"});
    if (!k) return tl::unexpected(k.error());
    TRY_ASSIGN(c.tls_cert, p.str(*tls, "cert", "tls.cert", ""));
    TRY_ASSIGN(c.tls_key, p.str(*tls, "key", "tls.key", ""));
    if (c.tls_cert.empty() || c.tls_key.empty())
      return tl::unexpected(p.err(n, "tls", "both cert and key are required"));
  }
  if (const toml::node* n = t.get("limits")) {
    const toml::table* lt = n->as_table();
    if (!lt) return tl::unexpected(p.err(n, "limits", "expected a table"));
    auto lr = parse_limits(p, *lt, c.limits);
    if (!lr) return tl::unexpected(lr.error());
  }
  if (const toml::node* n = t.get("pop3")) {
    const toml::table* pt = n->as_table();
    if (!pt) return tl::unexpected(p.err(n, "pop3", "expected a table"));
    auto k = p.known(*pt, "pop3.", {"cleartext", "idle_timeout", "login_timeout", "login_delay", "expire", "apop"});
    if (!k) return tl::unexpected(k.error());
    TRY_ASSIGN(c.pop3.cleartext, parse_cleartext(p, *pt, "pop3.cleartext"));
    std::uint64_t secs = 0;
    TRY_ASSIGN(secs, p.num(*pt, "idle_timeout", "pop3.idle_timeout", c.pop3.idle_timeout.count(), 1, 86400));
    c.pop3.idle_timeout = std::chrono::seconds(secs);
    TRY_ASSIGN(secs, p.num(*pt, "login_timeout", "pop3.login_timeout", c.pop3.login_timeout.count(), 1, 86400));
    c.pop3.login_timeout = std::chrono::seconds(secs);
    if (pt->get("login_delay")) {
      TRY_ASSIGN(secs, p.num(*pt, "login_delay", "pop3.login_delay", 0, 1, 86400));
      c.pop3.login_delay = std::chrono::seconds(secs);
    }
    if (pt->get("expire")) {
      std::string expire;
      TRY_ASSIGN(expire, p.str(*pt, "expire", "pop3.expire", ""));
      if (expire != "never")
        return tl::unexpected(p.err(pt->get("expire"), "pop3.expire",
                                    "only \"never\" is supported (valija does not delete retrieved mail by itself)"));
      c.pop3.expire_never = true;
    }
    if (const toml::node* a = pt->get("apop")) {
      auto v = a->value_exact<bool>();
      if (!v) return tl::unexpected(p.err(a, "pop3.apop", "expected true or false"));
      c.pop3.apop = *v;
    }
  }
  if (const toml::node* n = t.get("imap")) {
    const toml::table* it = n->as_table();
    if (!it) return tl::unexpected(p.err(n, "imap", "expected a table"));
    auto k = p.known(*it, "imap.", {"cleartext", "idle_timeout", "login_timeout", "idle_keepalive"});
    if (!k) return tl::unexpected(k.error());
    TRY_ASSIGN(c.imap.cleartext, parse_cleartext(p, *it, "imap.cleartext"));
    std::uint64_t secs = 0;
    // RFC 9051 §5.4: the autologout timer is at least 30 minutes.
    TRY_ASSIGN(secs, p.num(*it, "idle_timeout", "imap.idle_timeout", c.imap.idle_timeout.count(), 1800, 86400));
    c.imap.idle_timeout = std::chrono::seconds(secs);
    TRY_ASSIGN(secs, p.num(*it, "login_timeout", "imap.login_timeout", c.imap.login_timeout.count(), 1, 86400));
    c.imap.login_timeout = std::chrono::seconds(secs);
    TRY_ASSIGN(secs, p.num(*it, "idle_keepalive", "imap.idle_keepalive", c.imap.idle_keepalive.count(), 10, 1800));
    c.imap.idle_keepalive = std::chrono::seconds(secs);
  }
  if (const toml::node* n = t.get("smtp")) {
    const toml::table* st = n->as_table();
    if (!st) return tl::unexpected(p.err(n, "smtp", "expected a table"));
    auto k = p.known(*st, "smtp.", {"trusted_networks"});
    if (!k) return tl::unexpected(k.error());
    TRY_ASSIGN(c.smtp.trusted_networks, parse_networks(p, *st, "trusted_networks", "smtp.trusted_networks", {},
                                                             "a network this large would make valija an open relay"));
  }
  if (const toml::node* n = t.get("checks")) {
    const toml::table* ct = n->as_table();
    if (!ct) return tl::unexpected(p.err(n, "checks", "expected a table"));
    auto r2 = parse_checks(p, *ct, c.checks);
    if (!r2) return tl::unexpected(r2.error());
  }
  if (const toml::node* n = t.get("dkim")) {
    const toml::table* dt = n->as_table();
    if (!dt) return tl::unexpected(p.err(n, "dkim", "expected a table"));
    auto k = p.known(*dt, "dkim.", {"sign_forwarded"});
    if (!k) return tl::unexpected(k.error());
    if (const toml::node* b = dt->get("sign_forwarded")) {
      auto v = b->value_exact<bool>();
      if (!v) return tl::unexpected(p.err(b, "dkim.sign_forwarded", "expected true or false"));
      c.dkim.sign_forwarded = *v;
    }
  }
  if (const toml::node* n = t.get("public_addresses")) {
    const toml::array* arr = n->as_array();
    if (!arr) return tl::unexpected(p.err(n, "public_addresses", "expected a list of IP addresses"));
    for (std::size_t i = 0; i < arr->size(); ++i) {
      auto v = (*arr)[i].value<std::string>();
      if (!v || !is_ip_address(*v))
        return tl::unexpected(p.err(&(*arr)[i], fmt::format("public_addresses[{}]", i), "expected an IP address"));
      c.public_addresses.push_back(*v);
    }
  }
  if (const toml::node* n = t.get("submission")) {
    const toml::table* st = n->as_table();
    if (!st) return tl::unexpected(p.err(n, "submission", "expected a table"));
    auto k = p.known(*st, "submission.", {"cleartext"});
    if (!k) return tl::unexpected(k.error());
    if (st->get("cleartext")) TRY_ASSIGN(c.submission.cleartext, parse_cleartext(p, *st, "submission.cleartext"));
  }
  if (const toml::node* n = t.get("queue")) {
    const toml::table* qt = n->as_table();
    if (!qt) return tl::unexpected(p.err(n, "queue", "expected a table"));
    auto q = parse_queue(p, *qt, c.queue);
    if (!q) return tl::unexpected(q.error());
  }
  if (const toml::node* n = t.get("dns")) {
    const toml::table* dt = n->as_table();
    if (!dt) return tl::unexpected(p.err(n, "dns", "expected a table"));
    auto d = parse_dns(p, *dt, c.dns);
    if (!d) return tl::unexpected(d.error());
  }
  if (const toml::node* n = t.get("relay")) {
    const toml::table* rt = n->as_table();
    if (!rt) return tl::unexpected(p.err(n, "relay", "expected a table with host"));
    TRY_ASSIGN(c.queue.relay, parse_next_hop(p, *rt, "relay", {"host", "port", "tls", "user", "password_file"}));
  }
  if (const toml::node* n = t.get("transport")) {
    const toml::array* arr = n->as_array();
    if (!arr) return tl::unexpected(p.err(n, "transport", "expected [[transport]] tables"));
    for (std::size_t i = 0; i < arr->size(); ++i) {
      auto key = fmt::format("transport[{}]", i);
      const toml::table* tt = (*arr)[i].as_table();
      if (!tt) return tl::unexpected(p.err(&(*arr)[i], key, "expected a table"));
      std::string domain;
      TRY_ASSIGN(domain, p.str(*tt, "domain", key + ".domain", ""));
      if (!mail::is_domain(domain, false))
        return tl::unexpected(p.err(tt->get("domain") ? tt->get("domain") : tt, key + ".domain", "expected a domain name"));
      NextHop hop;
      TRY_ASSIGN(hop, parse_next_hop(p, *tt, key, {"domain", "host", "port", "tls", "user", "password_file"}));
      if (!c.queue.transports.emplace(text::to_lower(domain), hop).second)
        return tl::unexpected(p.err(tt, key, fmt::format("a transport for {} is already defined", domain)));
    }
  }
  const toml::node* ln = t.get("listener");
  if (!ln) return fail(Errc::Invalid, fmt::format("{}: listener: at least one [[listener]] is required", path));
  const toml::array* arr = ln->as_array();
  if (!arr) return tl::unexpected(p.err(ln, "listener", "expected [[listener]] tables"));
  if (arr->empty()) return tl::unexpected(p.err(ln, "listener", "at least one [[listener]] is required"));
  std::set<std::pair<std::string, std::uint16_t>> seen;
  for (std::size_t i = 0; i < arr->size(); ++i) {
    auto key = fmt::format("listener[{}]", i);
    const toml::table* lt = (*arr)[i].as_table();
    if (!lt) return tl::unexpected(p.err(&(*arr)[i], key, "expected a table"));
    auto k = p.known(*lt, key + ".", {"address", "port", "role"});
    if (!k) return tl::unexpected(k.error());
    ListenerSpec spec;
    TRY_ASSIGN(spec.address, p.str(*lt, "address", key + ".address", "0.0.0.0"));
    if (!is_ip_address(spec.address))
      return tl::unexpected(p.err(lt->get("address"), key + ".address",
                                  fmt::format("'{}' is not an IPv4 or IPv6 address", spec.address)));
    std::string role;
    TRY_ASSIGN(role, p.str(*lt, "role", key + ".role", ""));
    bool found = false;
    for (const auto& ri : kRoles)
      if (ri.name == role) {
        spec.role = ri.role;
        found = true;
      }
    if (!found)
      return tl::unexpected(p.err(lt->get("role") ? lt->get("role") : lt, key + ".role",
                                  fmt::format("unknown role '{}' (expected smtp, submission, submissions, pop3, pop3s, imap or imaps)", role)));
    TRY_ASSIGN(spec.port, p.num(*lt, "port", key + ".port", standard_port(spec.role), 1, 65535));
    if (!seen.insert({spec.address, spec.port}).second)
      return tl::unexpected(p.err(lt, key, fmt::format("{}:{} is listed twice", spec.address, spec.port)));
    c.listeners.push_back(spec);
  }
  return c;
}

}  // namespace valija::server
