// valija dkim: the signing keys of each domain (docs/authentication.md "DKIM keys").
//   generate DOMAIN [--algo ed25519|rsa2048|rsa3072|rsa4096] [--selector S] [--activate]
//   list [DOMAIN]          keys, states and the DNS record of each
//   activate DOMAIN SEL    sign with this key; the active key of the same algorithm retires
//   retire DOMAIN SEL      stop signing with it (keep its record published a while)
//   delete DOMAIN SEL      forget it (then remove its record from DNS)
// A new key is pending: publish its record, wait for DNS caches, then activate it. The
// server re-reads keys every 30 seconds, so rotation needs no restart.
#include <fmt/format.h>

#include <ctime>

#include "base/clock.hpp"
#include "base/text.hpp"
#include "cli/commands.hpp"
#include "cli/util.hpp"
#include "policy/dkim.hpp"

namespace valija::cli {
namespace {

namespace dkim = policy::dkim;

std::string_view state_name(store::DkimKeyState s) {
  switch (s) {
    case store::DkimKeyState::Pending: return "pending";
    case store::DkimKeyState::Active: return "active";
    case store::DkimKeyState::Retired: return "retired";
  }
  return "?";
}

// "ed202611", "rsa202611": the algorithm and the month, so a rotation gets a new one;
// a letter is added when that is taken.
std::string default_selector(const std::vector<store::DkimKey>& existing, bool rsa, std::int64_t now) {
  std::time_t t = static_cast<std::time_t>(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::string base = fmt::format("{}{:04}{:02}", rsa ? "rsa" : "ed", tm.tm_year + 1900, tm.tm_mon + 1);
  auto taken = [&](const std::string& s) {
    return std::any_of(existing.begin(), existing.end(), [&](const auto& k) { return k.selector == s; });
  };
  if (!taken(base)) return base;
  for (char c = 'b'; c <= 'z'; ++c)
    if (!taken(base + c)) return base + c;
  return base + clock::random_id(4);
}

bool valid_selector(const std::string& s) {
  // RFC 6376 §3.1: sub-domain syntax; one label is what anybody uses.
  return !s.empty() && s.size() <= 63 && mail::is_domain(s + ".example", false);
}

// "sel._domainkey.example.org. IN TXT ( "v=DKIM1; k=rsa; " "p=..." )".
std::string zone_record(const store::DkimKey& k) {
  return fmt::format("{}._domainkey.{}. IN TXT {}", k.selector, k.domain, zone_txt(dkim_key_record(k)));
}

void print_key(const store::DkimKey& k) {
  fmt::print("{} {} {} {} created {}\n  {}\n", k.domain, k.selector, k.algorithm, state_name(k.state),
             clock::rfc5322_date(k.created), zone_record(k));
}

}  // namespace

void add_dkim_commands(CLI::App& app, Context& ctx) {
  auto* noun = app.add_subcommand("dkim", "Manage the DKIM signing keys of local domains");
  noun->require_subcommand(1);
  auto data = std::make_shared<std::string>("valija-data");
  auto domain = std::make_shared<std::string>();
  auto selector = std::make_shared<std::string>();
  auto algo = std::make_shared<std::string>("rsa2048");
  auto activate = std::make_shared<bool>(false);

  auto* gen = noun->add_subcommand("generate", "Create a signing key for DOMAIN and print its DNS record");
  gen->add_option("DOMAIN", *domain, "A local domain")->required();
  gen->add_option("--algo", *algo, "ed25519, rsa2048 (default), rsa3072 or rsa4096")
      ->check(CLI::IsMember({"ed25519", "rsa2048", "rsa3072", "rsa4096"}));
  gen->add_option("--selector", *selector, "The selector (default: algorithm and month, e.g. rsa202611)");
  gen->add_flag("--activate", *activate, "Sign with it at once (before its record is published, receivers see "
                                         "dkim=permerror)");
  add_data_option(gen, *data);
  gen->callback([&ctx, data, domain, selector, algo, activate] {
    auto st = open_store(*data);
    if (!st) { ctx.rc = error(st.error().detail); return; }
    std::string d = text::to_lower(*domain);
    auto known = (*st)->find_domain(d);
    if (!known) { ctx.rc = error(known.error().detail); return; }
    if (!*known) { ctx.rc = error(fmt::format("{} is not a local domain (valija domain add {})", d, d)); return; }
    auto existing = (*st)->list_dkim_keys(d);
    if (!existing) { ctx.rc = error(existing.error().detail); return; }
    bool rsa = *algo != "ed25519";
    auto now = clock::now_unix();
    std::string sel = selector->empty() ? default_selector(*existing, rsa, now) : text::to_lower(*selector);
    if (!valid_selector(sel)) { ctx.rc = error(fmt::format("invalid selector '{}'", sel)); return; }
    auto a = rsa ? dkim::Algorithm::RsaSha256 : dkim::Algorithm::Ed25519Sha256;
    int bits = *algo == "rsa4096" ? 4096 : *algo == "rsa3072" ? 3072 : 2048;
    auto key = dkim::generate_key(a, bits);
    if (!key) { ctx.rc = error(key.error().detail); return; }
    store::DkimKey k{d, sel, std::string(dkim::algorithm_name(a)), key->private_key_pem, key->public_key_b64, now,
                     *activate ? store::DkimKeyState::Active : store::DkimKeyState::Pending};
    auto r = (*st)->add_dkim_key(k);
    if (!r) { ctx.rc = error(r.error().detail); return; }
    if (*activate) {  // the key it replaces retires
      for (const auto& old : *existing)
        if (old.state == store::DkimKeyState::Active && old.algorithm == k.algorithm)
          (void)(*st)->set_dkim_key_state(d, old.selector, store::DkimKeyState::Retired);
    }
    print_key(k);
    if (!*activate)
      fmt::print("Publish the record above, then: valija dkim activate {} {}\n", d, sel);
  });

  auto* list = noun->add_subcommand("list", "List keys with their state and DNS record");
  list->add_option("DOMAIN", *domain, "Only this domain");
  add_data_option(list, *data);
  list->callback([&ctx, data, domain] {
    auto st = open_store(*data);
    if (!st) { ctx.rc = error(st.error().detail); return; }
    auto keys = (*st)->list_dkim_keys(domain->empty() ? std::nullopt : std::optional<std::string_view>(*domain));
    if (!keys) { ctx.rc = error(keys.error().detail); return; }
    for (const auto& k : *keys) print_key(k);
  });

  auto set_state = [&ctx, data, domain, selector](store::DkimKeyState state) {
    auto st = open_store(*data);
    if (!st) { ctx.rc = error(st.error().detail); return; }
    std::string d = text::to_lower(*domain), sel = text::to_lower(*selector);
    auto keys = (*st)->list_dkim_keys(d);
    if (!keys) { ctx.rc = error(keys.error().detail); return; }
    auto it = std::find_if(keys->begin(), keys->end(), [&](const auto& k) { return k.selector == sel; });
    if (it == keys->end()) { ctx.rc = error(fmt::format("no DKIM key {} for {}", sel, d)); return; }
    auto r = (*st)->set_dkim_key_state(d, sel, state);
    if (!r) { ctx.rc = error(r.error().detail); return; }
    if (state == store::DkimKeyState::Active)
      for (const auto& k : *keys)
        if (k.selector != sel && k.state == store::DkimKeyState::Active && k.algorithm == it->algorithm) {
          (void)(*st)->set_dkim_key_state(d, k.selector, store::DkimKeyState::Retired);
          fmt::print("{} {} retired (keep its record published for a week, for mail still on its way)\n", d, k.selector);
        }
    fmt::print("{} {} {}\n", d, sel, state_name(state));
  };
  for (auto [name, state, help] : {std::tuple{"activate", store::DkimKeyState::Active,
                                              "Sign with this key (the active key of the same algorithm retires)"},
                                   std::tuple{"retire", store::DkimKeyState::Retired, "Stop signing with this key"}}) {
    auto* cmd = noun->add_subcommand(name, help);
    cmd->add_option("DOMAIN", *domain, "The domain")->required();
    cmd->add_option("SELECTOR", *selector, "The key's selector")->required();
    add_data_option(cmd, *data);
    cmd->callback([set_state, state = state] { set_state(state); });
  }

  auto* del = noun->add_subcommand("delete", "Forget a key (remove its DNS record afterwards)");
  del->add_option("DOMAIN", *domain, "The domain")->required();
  del->add_option("SELECTOR", *selector, "The key's selector")->required();
  add_data_option(del, *data);
  del->callback([&ctx, data, domain, selector] {
    auto st = open_store(*data);
    if (!st) { ctx.rc = error(st.error().detail); return; }
    auto r = (*st)->remove_dkim_key(*domain, *selector);
    if (!r) { ctx.rc = error(r.error().detail); return; }
    fmt::print("{} {} deleted\n", text::to_lower(*domain), text::to_lower(*selector));
  });
}

}  // namespace valija::cli
