// valija dns-records DOMAIN: the DNS records an admin publishes for a domain valija
// serves, in zone-file syntax (MX, the mail host's A/AAAA, PTR advice, SPF, DKIM,
// DMARC, RFC 6186 SRV records); valija dns-check DOMAIN: asks DNS for each of them and
// says what is missing or wrong (docs/publishing.md).
#include <fmt/format.h>

#include "base/client_key.hpp"
#include "base/text.hpp"
#include "cli/commands.hpp"
#include "cli/route.hpp"
#include "cli/util.hpp"
#include "dns/records.hpp"
#include "dns/resolver.hpp"
#include "policy/dkim.hpp"
#include "policy/dmarc.hpp"
#include "policy/spf.hpp"
#include "server/config.hpp"

namespace valija::cli {
namespace {

namespace dkim = policy::dkim;

struct Site {
  std::string domain;
  std::string host;                     // the mail host (config hostname)
  std::vector<std::string> addresses;   // its public addresses
  std::vector<store::DkimKey> keys;     // pending, active and retired keys of the domain
  std::vector<std::pair<std::string, std::uint16_t>> services;  // RFC 6186 / 8314 SRV: ("_imaps._tcp", 993)
  std::string dmarc;                    // the suggested DMARC record
};

struct Options {
  std::string domain, config, data = "valija-data", hostname, policy = "quarantine", rua;
  std::vector<std::string> addresses, servers;
  unsigned timeout = 10;
};

Result<Site> load_site(const Options& o) {
  Site s;
  s.domain = dns::canonical_name(o.domain);
  if (!mail::is_domain(s.domain, false)) return fail(Errc::Invalid, fmt::format("invalid domain name '{}'", o.domain));
  server::Config cfg;
  if (!o.config.empty()) {
    auto c = server::load_config(o.config);
    if (!c) return tl::unexpected(c.error());
    cfg = std::move(*c);
  } else {
    cfg = server::local_config(o.data, 0);
  }
  std::string data = o.config.empty() ? o.data : cfg.data_dir;
  s.host = o.hostname.empty() ? cfg.hostname : dns::canonical_name(o.hostname);
  s.addresses = o.addresses.empty() ? cfg.public_addresses : o.addresses;
  auto st = open_store(data);
  if (!st) return tl::unexpected(st.error());
  auto known = (*st)->find_domain(s.domain);
  if (!known) return tl::unexpected(known.error());
  if (!*known) return fail(Errc::NotFound, fmt::format("{} is not a local domain of {}", s.domain, data));
  auto keys = (*st)->list_dkim_keys(s.domain);
  if (!keys) return tl::unexpected(keys.error());
  s.keys = std::move(*keys);
  // Only what the config serves, on the ports clients can reach: a configured listener
  // on a loopback address (a webmail's on the same host) is not published. Without a
  // config, the local-mode listeners stand for the standard ports.
  static constexpr std::pair<server::Role, std::string_view> kSrv[] = {
      {server::Role::Submissions, "_submissions._tcp"}, {server::Role::Submission, "_submission._tcp"},
      {server::Role::Imaps, "_imaps._tcp"},             {server::Role::Imap, "_imap._tcp"},
      {server::Role::Pop3s, "_pop3s._tcp"},             {server::Role::Pop3, "_pop3._tcp"}};
  for (const auto& [role, name] : kSrv)
    for (const auto& l : cfg.listeners)
      if (l.role == role && (o.config.empty() || !is_loopback(l.address))) {
        s.services.emplace_back(std::string(name), l.port);
        break;
      }
  std::string rua = o.rua.empty() ? "postmaster@" + s.domain : o.rua;
  s.dmarc = fmt::format("v=DMARC1; p={}; rua=mailto:{}", o.policy, rua);
  return s;
}

// RFC 6186 §3.1 (one host per service): priority 0, weight 1.
std::string srv_value(std::uint16_t port, const std::string& host) { return fmt::format("0 1 {} {}.", port, host); }

void print_line(const std::string& name, std::string_view type, const std::string& value, std::string_view note = "") {
  std::string line = fmt::format("{:<34} IN {:<5} {}", name + ".", type, value);
  if (!note.empty()) line += "   ; " + std::string(note);
  fmt::print("{}\n", line);
}

void print_records(const Site& s) {
  fmt::print("; DNS records for {} (zone-file syntax). Check them with: valija dns-check {}\n", s.domain, s.domain);
  if (s.host == "localhost")
    fmt::print("; NOTE: the host name is 'localhost' (local mode): set hostname in the config, or --hostname\n");
  fmt::print("\n; Where other servers deliver mail for {} (RFC 5321 5.1).\n", s.domain);
  print_line(s.domain, "MX", fmt::format("10 {}.", s.host));
  fmt::print("\n; The mail host's addresses.\n");
  if (s.addresses.empty())
    fmt::print("; (unknown: set public_addresses in the config, or --address)\n; {:<32} IN A     <address of {}>\n",
               s.host + ".", s.host);
  for (const auto& a : s.addresses) print_line(s.host, a.find(':') == std::string::npos ? "A" : "AAAA", a);
  fmt::print("\n; Reverse DNS: published by whoever owns the address (your provider), not in this zone.\n");
  for (const auto& a : s.addresses)
    if (auto ptr = dns::ptr_name(a)) print_line(*ptr, "PTR", s.host + ".", "ask your provider");
  fmt::print("\n; SPF (RFC 7208): the hosts in the MX records send mail for {}; nobody else.\n", s.domain);
  print_line(s.domain, "TXT", zone_txt("v=spf1 mx -all"));
  fmt::print("\n; DKIM (RFC 6376): the public half of each signing key (valija dkim list {}).\n", s.domain);
  if (s.keys.empty()) fmt::print("; (no key yet: valija dkim generate {})\n", s.domain);
  for (const auto& k : s.keys) {
    std::string note = k.state == store::DkimKeyState::Pending  ? "pending: activate once published"
                       : k.state == store::DkimKeyState::Retired ? "retired: remove a week after retiring"
                                                                 : "";
    print_line(k.selector + "._domainkey." + s.domain, "TXT", zone_txt(dkim_key_record(k)), note);
  }
  fmt::print("\n; DMARC (RFC 7489): what receivers do with mail that fails SPF and DKIM alignment;\n"
             "; aggregate reports go to the rua address.\n");
  print_line("_dmarc." + s.domain, "TXT", zone_txt(s.dmarc));
  if (!s.services.empty()) {
    fmt::print("\n; Client configuration (RFC 6186, RFC 8314 5.1): where mail programs find the services.\n");
    for (const auto& [name, port] : s.services)
      print_line(name + "." + s.domain, "SRV", srv_value(port, s.host));
  }
}

// --- dns-check ---

struct Report {
  int problems = 0;
  bool temporary = false;
  void ok(const std::string& what) { fmt::print("ok       {}\n", what); }
  void bad(const std::string& what, const std::string& fix) {
    ++problems;
    fmt::print("PROBLEM  {}\n         {}\n", what, fix);
  }
  bool failed(const dns::Answer& a, const std::string& what) {
    if (a.outcome != dns::Outcome::Temporary) return false;
    temporary = true;
    fmt::print("ERROR    {}: {}\n", what, a.detail);
    return true;
  }
};

net::awaitable<dns::Answer> ask(dns::Resolver& r, std::string name, dns::RrType type) {
  auto q = dns::make_query(name, type);
  co_return co_await r.lookup(q);
}

net::awaitable<void> check_mx_and_host(dns::Resolver& r, const Site& s, Report& rep) {
  auto mx = co_await ask(r, s.domain, dns::RrType::Mx);
  if (!rep.failed(mx, "MX " + s.domain)) {
    if (std::find(mx.records.begin(), mx.records.end(), s.host) != mx.records.end())
      rep.ok(fmt::format("MX {} -> {}", s.domain, s.host));
    else
      rep.bad(fmt::format("MX {}: {}", s.domain, mx.records.empty() ? "none" : fmt::format("{}", fmt::join(mx.records, ", "))),
              fmt::format("publish: {}. IN MX 10 {}.", s.domain, s.host));
  }
  for (auto type : {dns::RrType::A, dns::RrType::Aaaa}) {
    auto a = co_await ask(r, s.host, type);
    if (rep.failed(a, fmt::format("{} {}", dns::type_name(type), s.host))) continue;
    for (const auto& want : s.addresses) {
      bool v6 = want.find(':') != std::string::npos;
      if (v6 != (type == dns::RrType::Aaaa)) continue;
      if (std::find(a.records.begin(), a.records.end(), want) != a.records.end())
        rep.ok(fmt::format("{} {} -> {}", dns::type_name(type), s.host, want));
      else
        rep.bad(fmt::format("{} {}: {}", dns::type_name(type), s.host, a.records.empty() ? "none" : fmt::format("{}", fmt::join(a.records, ", "))),
                fmt::format("publish: {}. IN {} {}", s.host, dns::type_name(type), want));
    }
  }
  for (const auto& addr : s.addresses) {
    auto name = dns::ptr_name(addr);
    if (!name) continue;
    auto p = co_await ask(r, *name, dns::RrType::Ptr);
    if (rep.failed(p, "PTR " + addr)) continue;
    if (std::find(p.records.begin(), p.records.end(), s.host) != p.records.end())
      rep.ok(fmt::format("PTR {} -> {}", addr, s.host));
    else
      rep.bad(fmt::format("PTR {}: {}", addr, p.records.empty() ? "none" : fmt::format("{}", fmt::join(p.records, ", "))),
              fmt::format("ask the owner of {} (your provider) to set its reverse DNS to {}", addr, s.host));
  }
}

net::awaitable<void> check_spf(dns::Resolver& r, const Site& s, Report& rep) {
  if (s.addresses.empty()) {
    rep.bad("SPF not evaluated: the mail host's addresses are unknown", "set public_addresses in the config, or --address");
    co_return;
  }
  for (const auto& addr : s.addresses) {
    policy::spf::Check check(policy::spf::Input{addr, "postmaster@" + s.domain, s.host, s.host, 0},
                             policy::spf::Identity::MailFrom);
    dns::Answers answers;
    policy::spf::Outcome overrun;
    overrun.result = policy::spf::Result::TempError;
    overrun.problem = "too many DNS rounds";
    auto out = co_await dns::run_check(r, check, answers, overrun);
    if (out.result == policy::spf::Result::Pass)
      rep.ok(fmt::format("SPF {} allows {} ({})", s.domain, addr, out.mechanism));
    else if (out.result == policy::spf::Result::TempError)
      rep.failed(dns::Answer{dns::Outcome::Temporary, {}, out.problem}, "SPF " + s.domain);
    else
      rep.bad(fmt::format("SPF {} for {}: {}{}", s.domain, addr, policy::spf::name(out.result),
                          out.problem.empty() ? "" : " (" + out.problem + ")"),
              fmt::format("publish: {}. IN TXT \"v=spf1 mx -all\"", s.domain));
  }
}

net::awaitable<void> check_dkim_dmarc(dns::Resolver& r, const Site& s, Report& rep) {
  if (s.keys.empty()) rep.bad("DKIM: no signing key", fmt::format("run: valija dkim generate {}", s.domain));
  for (const auto& k : s.keys) {
    std::string name = k.selector + "._domainkey." + s.domain;
    auto t = co_await ask(r, name, dns::RrType::Txt);
    if (rep.failed(t, "DKIM " + name)) continue;
    bool found = false;
    auto ours = dkim::parse_key_record(dkim_key_record(k));
    for (const auto& txt : t.records) {
      auto rec = dkim::parse_key_record(txt);
      if (rec && ours && rec->type == ours->type && rec->public_key == ours->public_key) found = true;
    }
    if (found) rep.ok(fmt::format("DKIM {} publishes the {} key", name, k.algorithm));
    else if (k.state == store::DkimKeyState::Retired) rep.ok(fmt::format("DKIM {} (retired) no longer published", name));
    else rep.bad(fmt::format("DKIM {}: {}", name, t.records.empty() ? "not published" : "a different key"),
                 fmt::format("publish: {}. IN TXT {}", name, zone_txt(dkim_key_record(k))));
  }
  auto d = co_await ask(r, "_dmarc." + s.domain, dns::RrType::Txt);
  if (rep.failed(d, "DMARC _dmarc." + s.domain)) co_return;
  std::optional<policy::dmarc::Record> rec;
  std::size_t found = 0;
  for (const auto& txt : d.records) {
    if (policy::dmarc::is_dmarc_record(txt)) ++found;
    if (auto parsed = policy::dmarc::parse_record(txt)) rec = *parsed;
  }
  if (found > 1)  // RFC 7489 §6.6.3: several records are no policy at all
    rep.bad(fmt::format("DMARC _dmarc.{}: {} records (receivers then apply none)", s.domain, found),
            fmt::format("keep one: _dmarc.{}. IN TXT {}", s.domain, zone_txt(s.dmarc)));
  else if (rec)
    rep.ok(fmt::format("DMARC _dmarc.{}: p={}", s.domain, policy::dmarc::policy_name(rec->p)));
  else
    rep.bad(fmt::format("DMARC _dmarc.{}: {}", s.domain, d.records.empty() ? "none" : "no valid DMARC1 record"),
            fmt::format("publish: _dmarc.{}. IN TXT {}", s.domain, zone_txt(s.dmarc)));
}

// RFC 6186: each service the config offers, at the mail host on its port. Other SRV
// records of the name (a second host, a backup) are the admin's business.
net::awaitable<void> check_services(dns::Resolver& r, const Site& s, Report& rep) {
  std::vector<dns::Query> queries;
  for (const auto& [service, port] : s.services) queries.push_back(dns::make_query(service + "." + s.domain, dns::RrType::Srv));
  auto answers = co_await r.lookup_all(queries);
  for (std::size_t i = 0; i < queries.size(); ++i) {
    const auto& name = queries[i].name;
    const auto& a = answers[i];
    auto port = s.services[i].second;
    if (rep.failed(a, "SRV " + name)) continue;
    // Records read "priority weight port target".
    auto want = fmt::format(" {} {}", port, s.host);
    bool found = std::any_of(a.records.begin(), a.records.end(), [&](const std::string& rec) {
      return rec.size() >= want.size() && rec.compare(rec.size() - want.size(), want.size(), want) == 0;
    });
    if (found)
      rep.ok(fmt::format("SRV {} -> {}:{}", name, s.host, port));
    else
      rep.bad(fmt::format("SRV {}: {}", name, a.records.empty() ? "none" : fmt::format("{}", fmt::join(a.records, ", "))),
              fmt::format("publish: {}. IN SRV {}", name, srv_value(port, s.host)));
  }
}

net::awaitable<int> check_all(dns::Resolver& r, Site s) {
  Report rep;
  co_await check_mx_and_host(r, s, rep);
  co_await check_spf(r, s, rep);
  co_await check_dkim_dmarc(r, s, rep);
  co_await check_services(r, s, rep);
  fmt::print("{}: {} problem(s){}\n", s.domain, rep.problems, rep.temporary ? ", and DNS errors (try again)" : "");
  co_return rep.problems ? 1 : rep.temporary ? kTempFail : 0;
}

void add_common(CLI::App* cmd, Options& o) {
  cmd->add_option("DOMAIN", o.domain, "A local domain")->required();
  cmd->add_option("--config", o.config, "The server's TOML config (host name, addresses, listeners, data dir)");
  add_data_option(cmd, o.data);
  cmd->add_option("--hostname", o.hostname, "The mail host's name (default: hostname from the config)");
  cmd->add_option("--address", o.addresses, "The mail host's public address (repeatable; default: public_addresses)");
}

}  // namespace

void add_dns_records_commands(CLI::App& app, Context& ctx) {
  auto opts = std::make_shared<Options>();
  auto* records = app.add_subcommand("dns-records", "Print the DNS records to publish for DOMAIN, in zone-file syntax");
  add_common(records, *opts);
  records->add_option("--dmarc-policy", opts->policy, "p= of the suggested DMARC record (default quarantine)")
      ->check(CLI::IsMember({"none", "quarantine", "reject"}));
  records->add_option("--rua", opts->rua, "Where DMARC aggregate reports go (default postmaster@DOMAIN)");
  records->callback([&ctx, opts] {
    auto site = load_site(*opts);
    if (!site) { ctx.rc = error(site.error().detail); return; }
    print_records(*site);
  });

  auto* check = app.add_subcommand("dns-check", "Ask DNS for DOMAIN's mail records and report what is missing or "
                                                "wrong (exit 0: all good, 1: problems, 75: DNS failed)");
  add_common(check, *opts);
  check->add_option("--dns", opts->servers, "DNS server to ask, as ADDRESS or ADDRESS@PORT (repeatable)");
  check->add_option("--timeout", opts->timeout, "Seconds to wait for each lookup (default 10)")->check(CLI::Range(1u, 300u));
  check->callback([&ctx, opts] {
    auto site = load_site(*opts);
    if (!site) { ctx.rc = error(site.error().detail); return; }
    asio::io_context io(1);
    dns::ResolverConfig cfg;
    cfg.servers = opts->servers;
    cfg.timeout = std::chrono::seconds(opts->timeout);
    auto resolver = dns::Resolver::create(io, cfg);
    if (!resolver) { ctx.rc = error(resolver.error().detail); return; }
    int rc = 1;
    asio::co_spawn(io, check_all(**resolver, std::move(*site)), [&io, &rc](std::exception_ptr e, int r) {
      rc = e ? error("a DNS lookup failed unexpectedly") : r;
      io.stop();
    });
    io.run();
    ctx.rc = rc;
  });
}

}  // namespace valija::cli
