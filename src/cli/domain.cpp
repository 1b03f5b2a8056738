#include <fmt/format.h>

#include "base/clock.hpp"
#include "base/text.hpp"
#include "cli/commands.hpp"
#include "cli/util.hpp"
#include "mail/address.hpp"

namespace valija::cli {

void add_domain_commands(CLI::App& app, Context& ctx) {
  auto* noun = app.add_subcommand("domain", "Manage the domains valija receives mail for");
  noun->require_subcommand(1);
  auto data = std::make_shared<std::string>("valija-data");
  auto name = std::make_shared<std::string>();
  auto force = std::make_shared<bool>(false);

  auto* add = noun->add_subcommand("add", "Add a domain");
  add->add_option("DOMAIN", *name, "Domain name")->required();
  add_data_option(add, *data);
  add->callback([&ctx, data, name] {
    if (!mail::is_domain(*name, true)) { ctx.rc = error(fmt::format("invalid domain name '{}'", *name)); return; }
    auto st = open_store(*data, true);
    if (!st) { ctx.rc = error(st.error().detail); return; }
    auto r = (*st)->add_domain(text::to_lower(*name));
    if (!r) { ctx.rc = error(r.error().detail); return; }
    fmt::print("added domain {}\n", r->name);
  });

  auto* list = noun->add_subcommand("list", "List domains");
  add_data_option(list, *data);
  list->callback([&ctx, data] {
    auto st = open_store(*data);
    if (!st) { ctx.rc = error(st.error().detail); return; }
    auto r = (*st)->list_domains();
    if (!r) { ctx.rc = error(r.error().detail); return; }
    for (const auto& d : *r) fmt::print("{}\n", d.name);
  });

  auto* rm = noun->add_subcommand("remove", "Remove a domain (with --force: its accounts, aliases and mail too)");
  rm->add_option("DOMAIN", *name, "Domain name")->required();
  rm->add_flag("--force", *force, "Also remove its accounts, aliases and their mail");
  add_data_option(rm, *data);
  rm->callback([&ctx, data, name, force] {
    auto st = open_store(*data);
    if (!st) { ctx.rc = error(st.error().detail); return; }
    auto r = (*st)->remove_domain(*name, *force);
    if (!r) { ctx.rc = error(r.error().detail); return; }
    fmt::print("removed domain {}\n", text::to_lower(*name));
  });
}

}  // namespace valija::cli
