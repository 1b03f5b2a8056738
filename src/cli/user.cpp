#include <fmt/format.h>

#include "auth/password.hpp"
#include "cli/commands.hpp"
#include "cli/util.hpp"

namespace valija::cli {

void add_user_commands(CLI::App& app, Context& ctx) {
  auto* noun = app.add_subcommand("user", "Manage accounts (one mailbox each)");
  noun->require_subcommand(1);
  auto data = std::make_shared<std::string>("valija-data");
  auto address = std::make_shared<std::string>();
  auto from_stdin = std::make_shared<bool>(false);
  auto quota = std::make_shared<std::string>("0");
  auto quota_messages = std::make_shared<std::uint64_t>(0);
  auto domain = std::make_shared<std::string>();

  auto* add = noun->add_subcommand("add", "Add an account; the password is asked for, or read from stdin");
  add->add_option("ADDRESS", *address, "name@domain")->required();
  add->add_flag("--password-stdin", *from_stdin, "Read the password from the first line of standard input");
  add->add_option("--quota", *quota, "Storage quota, e.g. 500M, 2G (0: unlimited)");
  add_data_option(add, *data);
  add->callback([&ctx, data, address, from_stdin, quota] {
    auto mb = parse_address(*address);
    if (!mb) { ctx.rc = error(mb.error().detail); return; }
    auto q = parse_size(*quota);
    if (!q) { ctx.rc = error(q.error().detail); return; }
    auto st = open_store(*data, true);
    if (!st) { ctx.rc = error(st.error().detail); return; }
    auto dom = (*st)->find_domain(mb->domain);
    if (!dom) { ctx.rc = error(dom.error().detail); return; }
    if (!dom->has_value()) { ctx.rc = error(fmt::format("unknown domain {} (add it with 'valija domain add {}')", mb->domain, mb->domain)); return; }
    auto existing = (*st)->find_account(mb->local, mb->domain);
    if (existing && existing->has_value()) { ctx.rc = error(fmt::format("account {} already exists", mb->str())); return; }
    auto pw = read_password(*from_stdin);
    if (!pw) { ctx.rc = error(pw.error().detail); return; }
    auto secrets = auth::password_secrets(*pw);
    if (!secrets) { ctx.rc = error(secrets.error().detail); return; }
    auto r = (*st)->add_account(mb->local, mb->domain, secrets->hash, *q);
    if (!r) { ctx.rc = error(r.error().detail); return; }
    auto scram = (*st)->set_scram(mb->local, mb->domain, secrets->scram_sha1, secrets->scram_sha256);
    if (!scram) { ctx.rc = error(scram.error().detail); return; }
    fmt::print("added account {}\n", r->address());
  });

  auto* passwd = noun->add_subcommand("passwd", "Change an account's password");
  passwd->add_option("ADDRESS", *address, "name@domain")->required();
  passwd->add_flag("--password-stdin", *from_stdin, "Read the password from the first line of standard input");
  add_data_option(passwd, *data);
  passwd->callback([&ctx, data, address, from_stdin] {
    auto mb = parse_address(*address);
    if (!mb) { ctx.rc = error(mb.error().detail); return; }
    auto st = open_store(*data);
    if (!st) { ctx.rc = error(st.error().detail); return; }
    auto existing = (*st)->find_account(mb->local, mb->domain);
    if (!existing || !existing->has_value()) { ctx.rc = error(fmt::format("no account {}", mb->str())); return; }
    auto pw = read_password(*from_stdin);
    if (!pw) { ctx.rc = error(pw.error().detail); return; }
    auto secrets = auth::password_secrets(*pw);
    if (!secrets) { ctx.rc = error(secrets.error().detail); return; }
    auto r = auth::store_password(**st, mb->local, mb->domain, *secrets);
    if (!r) { ctx.rc = error(r.error().detail); return; }
    fmt::print("password changed for {}\n", mb->str());
  });

  auto remove_apop = std::make_shared<bool>(false);
  auto* apop = noun->add_subcommand("apop", "Set (or --remove) an account's APOP secret, stored in the clear");
  apop->add_option("ADDRESS", *address, "name@domain")->required();
  apop->add_flag("--password-stdin", *from_stdin, "Read the secret from the first line of standard input");
  apop->add_flag("--remove", *remove_apop, "Remove the secret (APOP logins for the account stop working)");
  add_data_option(apop, *data);
  apop->callback([&ctx, data, address, from_stdin, remove_apop] {
    auto mb = parse_address(*address);
    if (!mb) { ctx.rc = error(mb.error().detail); return; }
    auto st = open_store(*data);
    if (!st) { ctx.rc = error(st.error().detail); return; }
    std::string secret;
    if (!*remove_apop) {
      auto pw = read_password(*from_stdin);
      if (!pw) { ctx.rc = error(pw.error().detail); return; }
      secret = std::move(*pw);
    }
    auto r = (*st)->set_apop_secret(mb->local, mb->domain, secret);
    if (!r) { ctx.rc = error(r.error().detail); return; }
    if (*remove_apop) fmt::print("APOP secret removed for {}\n", mb->str());
    else fmt::print("APOP secret set for {} (stored in the clear; use a secret different from the password)\n", mb->str());
  });

  auto* list = noun->add_subcommand("list", "List accounts with usage and quota");
  list->add_option("DOMAIN", *domain, "Only this domain");
  add_data_option(list, *data);
  list->callback([&ctx, data, domain] {
    auto st = open_store(*data);
    if (!st) { ctx.rc = error(st.error().detail); return; }
    auto r = (*st)->list_accounts(domain->empty() ? std::nullopt : std::optional<std::string_view>(*domain));
    if (!r) { ctx.rc = error(r.error().detail); return; }
    for (const auto& a : *r)
      fmt::print("{}\tused {} in {} messages\tquota {}\n", a.address(), format_size(a.used_bytes), a.used_messages,
                 a.quota_bytes ? format_size(a.quota_bytes) : std::string("unlimited"));
  });

  auto* rm = noun->add_subcommand("remove", "Remove an account and all its mail");
  rm->add_option("ADDRESS", *address, "name@domain")->required();
  add_data_option(rm, *data);
  rm->callback([&ctx, data, address] {
    auto mb = parse_address(*address);
    if (!mb) { ctx.rc = error(mb.error().detail); return; }
    auto st = open_store(*data);
    if (!st) { ctx.rc = error(st.error().detail); return; }
    auto r = (*st)->remove_account(mb->local, mb->domain);
    if (!r) { ctx.rc = error(r.error().detail); return; }
    fmt::print("removed account {}\n", mb->str());
  });

  auto* q = noun->add_subcommand("quota", "Set an account's quota");
  q->add_option("ADDRESS", *address, "name@domain")->required();
  q->add_option("SIZE", *quota, "Storage quota, e.g. 500M, 2G (0: unlimited)")->required();
  q->add_option("--messages", *quota_messages, "Message count quota (0: unlimited)");
  add_data_option(q, *data);
  q->callback([&ctx, data, address, quota, quota_messages] {
    auto mb = parse_address(*address);
    if (!mb) { ctx.rc = error(mb.error().detail); return; }
    auto bytes = parse_size(*quota);
    if (!bytes) { ctx.rc = error(bytes.error().detail); return; }
    auto st = open_store(*data);
    if (!st) { ctx.rc = error(st.error().detail); return; }
    auto r = (*st)->set_quota(mb->local, mb->domain, *bytes, *quota_messages);
    if (!r) { ctx.rc = error(r.error().detail); return; }
    fmt::print("quota of {} set to {}{}\n", mb->str(), *bytes ? format_size(*bytes) : std::string("unlimited"),
               *quota_messages ? fmt::format(" and {} messages", *quota_messages) : std::string());
  });
}

}  // namespace valija::cli
