// valija mx DOMAIN: where mail for a domain would go, step by step (MX lookup, the
// order of the exchanges, each one's addresses), as the outbound queue will decide it.
#include <fmt/format.h>

#include <random>

#include "cli/commands.hpp"
#include "cli/route.hpp"
#include "cli/util.hpp"
#include "dns/resolver.hpp"
#include "mail/address.hpp"

namespace valija::cli {
namespace {

net::awaitable<int> show_route(dns::Resolver& resolver, std::string domain) {
  int rc = 0;
  auto planned = co_await mx_plan(resolver, domain, "", rc);
  if (!planned) co_return rc;
  const auto& plan = *planned;
  if (plan.implicit)
    fmt::print("{}: no MX records; the domain's own address is its mail exchanger (RFC 5321 5.1)\n", domain);
  else
    fmt::print("{}: {} mail exchanger(s), in the order they would be tried:\n", domain, plan.hosts.size());
  bool any = false, temporary = false;
  for (const auto& h : plan.hosts) {
    auto a = co_await resolver.addresses(h.exchange);
    std::string where;
    if (a.outcome == dns::Outcome::Answer) {
      any = true;
      where = fmt::format("{}", fmt::join(a.addresses, ", "));
      if (!a.canonical.empty()) where += fmt::format(" (via CNAME {})", a.canonical);
    } else if (a.outcome == dns::Outcome::Temporary) {
      temporary = true;
      where = fmt::format("lookup failed ({}), skipped this time", a.detail);
    } else {
      where = fmt::format("no address ({}), skipped", a.detail);
    }
    fmt::print("  {:>5} {}: {}\n", h.preference, h.exchange, where);
  }
  if (any) co_return 0;
  fmt::print("{}: no exchanger has an address{}\n", domain,
             temporary ? "; mail would wait in the queue and be retried" : "; mail to it would bounce");
  co_return temporary ? kTempFail : 1;
}

}  // namespace

net::awaitable<std::optional<dns::MxPlan>> mx_plan(dns::Resolver& resolver, std::string domain, std::string prefix,
                                                   int& rc) {
  auto answer = co_await resolver.mx(domain);
  std::mt19937_64 rng(std::random_device{}());
  auto plan = dns::plan_mx(domain, answer, rng);
  switch (plan.kind) {
    case dns::MxPlan::Kind::TryLater:
      fmt::print("{}{}: the MX lookup failed ({}); mail would wait in the queue and be retried\n", prefix, domain,
                 plan.detail);
      rc = kTempFail;
      co_return std::nullopt;
    case dns::MxPlan::Kind::NoDomain:
      fmt::print("{}{}: no such domain (NXDOMAIN); mail to it would bounce (550 5.1.2)\n", prefix, domain);
      rc = 1;
      co_return std::nullopt;
    case dns::MxPlan::Kind::NullMx:
      fmt::print("{}{}: null MX (RFC 7505): the domain accepts no mail; mail to it would bounce (556 5.1.10)\n", prefix,
                 domain);
      rc = 1;
      co_return std::nullopt;
    case dns::MxPlan::Kind::Hosts: break;
  }
  co_return plan;
}

void add_dns_commands(CLI::App& app, Context& ctx) {
  auto* mx = app.add_subcommand(
      "mx", "Show where mail for DOMAIN would go: its MX records in delivery order and their addresses "
            "(exit 0: deliverable, 1: bounces, 75: DNS failed, try later)");
  auto domain = std::make_shared<std::string>();
  auto servers = std::make_shared<std::vector<std::string>>();
  auto timeout = std::make_shared<unsigned>(10);
  mx->add_option("DOMAIN", *domain, "Domain name")->required();
  mx->add_option("--dns", *servers, "DNS server to ask, as ADDRESS or ADDRESS@PORT (repeatable; default: /etc/resolv.conf)");
  mx->add_option("--timeout", *timeout, "Seconds to wait for each lookup (default 10)")->check(CLI::Range(1u, 300u));
  mx->callback([&ctx, domain, servers, timeout] {
    auto name = dns::canonical_name(*domain);
    if (!mail::is_domain(name, false)) {
      ctx.rc = error(fmt::format("invalid domain name '{}' (an internationalised name goes in its A-label form, "
                                 "xn--...)", *domain));
      return;
    }
    asio::io_context io(1);
    dns::ResolverConfig cfg;
    cfg.servers = *servers;
    cfg.timeout = std::chrono::seconds(*timeout);
    auto resolver = dns::Resolver::create(io, cfg);
    if (!resolver) {
      ctx.rc = error(resolver.error().detail);
      return;
    }
    int rc = 1;
    asio::co_spawn(io, show_route(**resolver, name), [&io, &rc](std::exception_ptr e, int r) {
      rc = e ? error("the DNS lookup failed unexpectedly") : r;
      io.stop();  // the resolver's own wait would keep run() going
    });
    io.run();
    ctx.rc = rc;
  });
}

}  // namespace valija::cli
