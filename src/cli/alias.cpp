#include <fmt/format.h>

#include "base/text.hpp"
#include "cli/commands.hpp"
#include "cli/util.hpp"

namespace valija::cli {
namespace {

// "team@example.org" or "@example.org" (the domain's catch-all).
Result<std::pair<std::string, std::string>> parse_source(const std::string& s) {
  if (!s.empty() && s.front() == '@') {
    auto domain = s.substr(1);
    if (!mail::is_domain(domain, true)) return fail(Errc::Invalid, fmt::format("invalid catch-all '{}'", s));
    return std::pair{std::string(), text::to_lower(domain)};
  }
  auto mb = parse_address(s);
  if (!mb) return tl::unexpected(mb.error());
  return std::pair{mb->local, mb->domain};
}

}  // namespace

void add_alias_commands(CLI::App& app, Context& ctx) {
  auto* noun = app.add_subcommand("alias", "Manage aliases, redirects and catch-alls");
  noun->require_subcommand(1);
  auto data = std::make_shared<std::string>("valija-data");
  auto source = std::make_shared<std::string>();
  auto targets = std::make_shared<std::vector<std::string>>();
  auto target = std::make_shared<std::string>();
  auto domain = std::make_shared<std::string>();

  auto* add = noun->add_subcommand("add", "Deliver mail for SOURCE (name@domain, or @domain for a catch-all) to TARGETs");
  add->add_option("SOURCE", *source, "name@domain or @domain")->required();
  add->add_option("TARGET", *targets, "Local accounts, other aliases or external addresses")->required();
  add_data_option(add, *data);
  add->callback([&ctx, data, source, targets] {
    auto src = parse_source(*source);
    if (!src) { ctx.rc = error(src.error().detail); return; }
    std::vector<std::string> clean;
    for (const auto& t : *targets) {
      auto mb = parse_address(t);
      if (!mb) { ctx.rc = error(mb.error().detail); return; }
      clean.push_back(mb->str());
    }
    auto st = open_store(*data, true);
    if (!st) { ctx.rc = error(st.error().detail); return; }
    auto r = (*st)->add_alias(src->first, src->second, clean);
    if (!r) { ctx.rc = error(r.error().detail); return; }
    for (const auto& t : clean) {
      auto mb = mail::parse_mailbox(t, true);
      auto local = (*st)->find_domain(mb->domain);
      if (local && !local->has_value())
        fmt::print(stderr, "note: {} is in another domain: mail for it is forwarded through the outbound queue, the "
                           "sender rewritten with SRS\n", t);
    }
    fmt::print("{} -> {}\n", src->first.empty() ? "@" + src->second : src->first + "@" + src->second,
               fmt::join(clean, ", "));
  });

  auto* list = noun->add_subcommand("list", "List aliases");
  list->add_option("DOMAIN", *domain, "Only this domain");
  add_data_option(list, *data);
  list->callback([&ctx, data, domain] {
    auto st = open_store(*data);
    if (!st) { ctx.rc = error(st.error().detail); return; }
    auto r = (*st)->list_aliases(domain->empty() ? std::nullopt : std::optional<std::string_view>(*domain));
    if (!r) { ctx.rc = error(r.error().detail); return; }
    for (const auto& a : *r)
      fmt::print("{}\t{}\n", a.local.empty() ? "@" + a.domain : a.source(), fmt::join(a.targets, ", "));
  });

  auto* rm = noun->add_subcommand("remove", "Remove an alias, or one of its targets");
  rm->add_option("SOURCE", *source, "name@domain or @domain")->required();
  rm->add_option("TARGET", *target, "Only this target");
  add_data_option(rm, *data);
  rm->callback([&ctx, data, source, target] {
    auto src = parse_source(*source);
    if (!src) { ctx.rc = error(src.error().detail); return; }
    auto st = open_store(*data);
    if (!st) { ctx.rc = error(st.error().detail); return; }
    auto r = (*st)->remove_alias(src->first, src->second, *target);
    if (!r) { ctx.rc = error(r.error().detail); return; }
    fmt::print("removed {}\n", target->empty() ? *source : *source + " -> " + *target);
  });
}

}  // namespace valija::cli
