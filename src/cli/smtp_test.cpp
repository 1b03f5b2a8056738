// valija smtp-test DESTINATION: one outbound delivery (or a probe) done in front of the
// admin, step by step: the MX lookup and the order of the exchangers, each connection,
// the whole SMTP dialogue (STARTTLS included), and what each recipient got. It goes
// through the same resolver, client dialogue and TLS as the outbound queue.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "base/clock.hpp"
#include "base/text.hpp"
#include "cli/commands.hpp"
#include "cli/route.hpp"
#include "cli/util.hpp"
#include "dns/resolver.hpp"
#include "mail/address.hpp"
#include "net/tls.hpp"
#include "smtp/outbound/deliver.hpp"

namespace valija::cli {
namespace {

struct Options {
  std::string destination;
  std::string from;
  std::vector<std::string> to;
  std::string message_file;
  std::string tls = "opportunistic";
  std::string helo;
  std::uint16_t port = 25;
  std::vector<std::string> dns;
  unsigned timeout = 30;
  bool verify = false;
};

// "192.0.2.1", "192.0.2.1:2525", "[2001:db8::1]:25", "::1": an address; else a domain.
bool parse_address_target(const std::string& d, std::uint16_t default_port, smtp::outbound::Target& t) {
  std::string ip = d;
  std::uint16_t port = default_port;
  if (!d.empty() && d.front() == '[') {
    auto close = d.find(']');
    if (close == std::string::npos) return false;
    ip = d.substr(1, close - 1);
    if (close + 1 < d.size()) {
      if (d[close + 1] != ':') return false;
      auto p = text::parse_u64(d.substr(close + 2));
      if (!p || *p == 0 || *p > 65535) return false;
      port = static_cast<std::uint16_t>(*p);
    }
  } else if (std::count(d.begin(), d.end(), ':') == 1) {
    auto colon = d.find(':');
    ip = d.substr(0, colon);
    auto p = text::parse_u64(d.substr(colon + 1));
    if (!p || *p == 0 || *p > 65535) return false;
    port = static_cast<std::uint16_t>(*p);
  }
  std::error_code ec;
  asio::ip::make_address(ip, ec);
  if (ec) return false;
  t = smtp::outbound::Target{ip, ip, port};
  return true;
}

const char* verdict_name(smtp::client::Verdict v) {
  switch (v) {
    case smtp::client::Verdict::Delivered: return "delivered";
    case smtp::client::Verdict::Temporary: return "temporary failure, would be retried";
    case smtp::client::Verdict::Permanent: return "refused, would bounce";
  }
  return "?";
}

// Exit status from the verdicts: all delivered 0, any permanent 1, else 75.
int summarize(const smtp::outbound::Attempt& a, const Options& o) {
  if (!a.error.empty()) fmt::print("-- failed: {}\n", a.error);
  if (a.failure) fmt::print("-- failed: {}\n", a.failure->summary());
  if (o.to.empty()) return a.error.empty() && !a.failure ? 0 : kTempFail;
  int rc = 0;
  for (std::size_t i = 0; i < o.to.size(); ++i) {
    smtp::client::RcptResult r = i < a.results.size() ? a.results[i] : smtp::client::RcptResult{};
    fmt::print("-- {}: {} ({})\n", o.to[i], verdict_name(r.verdict), r.reply.summary());
    if (r.verdict == smtp::client::Verdict::Permanent) rc = 1;
    else if (r.verdict == smtp::client::Verdict::Temporary && rc == 0) rc = kTempFail;
  }
  return rc;
}

bool worth_next_host(const smtp::outbound::Attempt& a) {
  // RFC 5321 §5.1: a connection failure or a 4xx before any recipient was answered means
  // "try the next exchanger"; answers about recipients are final for this attempt.
  if (!a.connected) return true;
  if (a.failure && a.failure->code >= 400 && a.failure->code < 500) return true;
  if (a.failure && a.failure->code == 554) return true;  // §3.1: a 554 greeting
  return false;
}

// One connection, announced, with its dialogue printed.
net::awaitable<smtp::outbound::Attempt> attempt(smtp::outbound::Target target, const smtp::outbound::Settings& s,
                                                const std::optional<smtp::outbound::Message>& msg) {
  if (target.host == target.ip) fmt::print("-- connecting to [{}]:{}\n", target.ip, target.port);
  else fmt::print("-- connecting to {} [{}]:{}\n", target.host, target.ip, target.port);
  auto a = co_await smtp::outbound::deliver(target, s, msg);
  for (const auto& line : a.transcript) fmt::print("{}\n", line);
  co_return a;
}

net::awaitable<int> run(Options o, dns::Resolver& resolver, std::shared_ptr<asio::ssl::context> tls,
                        std::optional<smtp::outbound::Message> msg) {
  smtp::outbound::Settings s;
  s.client.helo_name = o.helo;
  s.client.tls = o.tls == "none"       ? smtp::client::TlsPolicy::None
                 : o.tls == "required" ? smtp::client::TlsPolicy::Required
                                       : smtp::client::TlsPolicy::Opportunistic;
  s.tls = o.tls == "none" ? nullptr : tls;
  s.connect_timeout = std::chrono::seconds(o.timeout);
  s.transcript = true;
  smtp::outbound::Target direct;
  if (parse_address_target(o.destination, o.port, direct)) {
    auto a = co_await attempt(direct, s, msg);
    co_return summarize(a, o);
  }
  auto domain = dns::canonical_name(o.destination);
  int rc = 0;
  auto planned = co_await mx_plan(resolver, domain, "-- ", rc);
  if (!planned) co_return rc;
  const auto& plan = *planned;
  std::string order;
  for (const auto& h : plan.hosts) order += fmt::format("{}{} ({})", order.empty() ? "" : ", ", h.exchange, h.preference);
  fmt::print("-- {}: {}{}\n", domain, plan.implicit ? "no MX, its own address: " : "exchangers in order: ", order);
  std::optional<smtp::outbound::Attempt> last;
  for (const auto& h : plan.hosts) {
    auto addrs = co_await resolver.addresses(h.exchange);
    if (addrs.outcome != dns::Outcome::Answer) {
      fmt::print("-- {}: no address ({}), next\n", h.exchange, addrs.detail);
      continue;
    }
    for (const auto& ip : addrs.addresses) {
      // Named, not a temporary: g++ 12 mishandles temporaries kept across a co_await.
      smtp::outbound::Target target{h.exchange, ip, o.port};
      auto a = co_await attempt(target, s, msg);
      bool next = worth_next_host(a);
      last = std::move(a);
      if (!next) co_return summarize(*last, o);
      fmt::print("-- {}, trying the next address or exchanger\n", last->error.empty() ? last->failure->summary() : last->error);
    }
  }
  if (!last) {
    fmt::print("-- no exchanger of {} could be reached\n", domain);
    co_return kTempFail;
  }
  co_return summarize(*last, o);
}

std::string test_message(const Options& o) {
  return fmt::format(
      "From: <{}>\r\nTo: {}\r\nSubject: valija smtp-test\r\nDate: {}\r\nMessage-ID: <{}@{}>\r\n"
      "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
      "A test message sent by valija smtp-test.\r\n",
      o.from, fmt::join(o.to, ", "), clock::rfc5322_date(clock::now_unix()), clock::random_id(16), o.helo);
}

}  // namespace

void add_smtp_test_command(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand(
      "smtp-test",
      "Connect to DESTINATION (a domain: its MX in order; or IP[:PORT]) and show the SMTP dialogue; with --to, "
      "send a test message (exit 0: delivered, 1: refused, 75: temporary failure)");
  auto o = std::make_shared<Options>();
  cmd->add_option("DESTINATION", o->destination, "Domain, or IP address with optional :PORT ([v6]:PORT)")->required();
  cmd->add_option("--from", o->from, "Envelope sender (default: postmaster@HELO name; \"\" for the null sender)");
  cmd->add_option("--to", o->to, "Recipient (repeatable); without it, only EHLO and STARTTLS are tried");
  cmd->add_option("--message", o->message_file, "File with the message to send (default: a short test message)");
  cmd->add_option("--tls", o->tls, "none, opportunistic (default) or required")
      ->check(CLI::IsMember({"none", "opportunistic", "required"}));
  cmd->add_flag("--verify", o->verify, "Verify the server's certificate (system roots, name of the exchanger)");
  cmd->add_option("--helo", o->helo, "Name to give in EHLO (default: this host's name)");
  cmd->add_option("--port", o->port, "Port on the exchangers (default 25)");
  cmd->add_option("--dns", o->dns, "DNS server ADDRESS[@PORT] for the MX lookup (repeatable; default: /etc/resolv.conf)");
  cmd->add_option("--timeout", o->timeout, "Seconds for each connection and lookup (default 30)")->check(CLI::Range(1u, 600u));
  cmd->callback([&ctx, o, cmd] {
    if (o->helo.empty()) {
      char name[256] = {};
      o->helo = ::gethostname(name, sizeof name - 1) == 0 && mail::is_domain(name, false) ? name : "localhost";
    }
    if (cmd->count("--from") == 0) o->from = "postmaster@" + o->helo;
    for (const auto& t : o->to) {
      auto m = parse_address(t);
      if (!m) {
        ctx.rc = error(m.error().detail);
        return;
      }
    }
    std::optional<smtp::outbound::Message> msg;
    if (!o->to.empty()) {
      std::string data;
      if (o->message_file.empty()) {
        data = test_message(*o);
      } else {
        std::ifstream in(o->message_file, std::ios::binary);
        if (!in) {
          ctx.rc = error(fmt::format("cannot read {}", o->message_file));
          return;
        }
        std::ostringstream ss;
        ss << in.rdbuf();
        data = ss.str();
      }
      smtp::outbound::Message m;
      m.envelope.from = o->from;
      for (const auto& t : o->to) m.envelope.rcpts.push_back({t, ""});
      m.envelope.size = data.size();
      m.envelope.eight_bit = std::any_of(data.begin(), data.end(), [](char c) { return (c & 0x80) != 0; });
      m.data = std::make_shared<const std::string>(std::move(data));
      msg = std::move(m);
    }
    auto tls = net::client_tls_context(o->verify);
    if (!tls) {
      ctx.rc = error(tls.error().detail);
      return;
    }
    asio::io_context io(1);
    dns::ResolverConfig rc;
    rc.servers = o->dns;
    rc.timeout = std::chrono::seconds(o->timeout);
    auto resolver = dns::Resolver::create(io, rc);
    if (!resolver) {
      ctx.rc = error(resolver.error().detail);
      return;
    }
    int result = 1;
    asio::co_spawn(io, run(*o, **resolver, *tls, msg), [&io, &result](std::exception_ptr e, int r) {
      result = e ? error("the test failed unexpectedly") : r;
      io.stop();
    });
    io.run();
    ctx.rc = result;
  });
}

}  // namespace valija::cli
