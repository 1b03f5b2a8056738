// [checks]: mail authentication (SPF, DKIM, DMARC) and connection checks (iprev,
// blocklists, rate limits, greylisting) on port 25.
#include "mail/address.hpp"
#include "server/config_parser.hpp"

namespace valija::server {
namespace {

Result<bool> flag(const Parser& p, const toml::table& t, std::string_view key, bool def) {
  const toml::node* n = t.get(key);
  if (!n) return def;
  auto b = n->value_exact<bool>();
  if (!b) return tl::unexpected(p.err(n, fmt::format("checks.{}", key), "expected true or false"));
  return *b;
}

Result<CheckAction> action(const Parser& p, const toml::table& t, std::string_view key, CheckAction def,
                           std::initializer_list<std::pair<std::string_view, CheckAction>> allowed) {
  const toml::node* n = t.get(key);
  if (!n) return def;
  auto v = n->value<std::string>();
  std::string names;
  for (const auto& [name, a] : allowed) {
    if (v && *v == name) return a;
    names += names.empty() ? "" : ", ";
    names += name;
  }
  return tl::unexpected(p.err(n, fmt::format("checks.{}", key), fmt::format("expected one of {}", names)));
}

constexpr std::pair<std::string_view, CheckAction> kMark{"mark", CheckAction::Mark};
constexpr std::pair<std::string_view, CheckAction> kJunk{"junk", CheckAction::Junk};
constexpr std::pair<std::string_view, CheckAction> kReject{"reject", CheckAction::Reject};
constexpr std::pair<std::string_view, CheckAction> kDmarc{"dmarc", CheckAction::Dmarc};
// spf_temperror: "defer" is a reject with 451; "accept" is the first name of "mark".
constexpr std::pair<std::string_view, CheckAction> kDefer{"defer", CheckAction::Reject};
constexpr std::pair<std::string_view, CheckAction> kAccept{"accept", CheckAction::Mark};

}  // namespace

Result<void> parse_checks(const Parser& p, const toml::table& t, ChecksConfig& c) {
  auto k = p.known(t, "checks.",
                   {"authserv_id", "exempt_networks", "spf", "spf_fail", "spf_softfail", "spf_neutral", "spf_none",
                    "spf_permerror", "spf_temperror", "dkim", "dmarc", "dmarc_reject", "dmarc_quarantine", "iprev",
                    "blocklists", "connections_per_minute", "messages_per_hour", "greylist", "greylist_delay"});
  if (!k) return k;
  TRY_ASSIGN(c.authserv_id, p.str(t, "authserv_id", "checks.authserv_id", c.authserv_id));
  if (!c.authserv_id.empty() && !mail::is_domain(c.authserv_id, false))
    return tl::unexpected(p.err(t.get("authserv_id"), "checks.authserv_id", "expected a host name"));
  TRY_ASSIGN(c.exempt_networks, parse_networks(p, t, "exempt_networks", "checks.exempt_networks", c.exempt_networks,
                                               "a network this large would exempt much of the Internet from checks"));
  TRY_ASSIGN(c.spf, flag(p, t, "spf", c.spf));
  TRY_ASSIGN(c.spf_fail, action(p, t, "spf_fail", c.spf_fail, {kDmarc, kMark, kJunk, kReject}));
  TRY_ASSIGN(c.spf_softfail, action(p, t, "spf_softfail", c.spf_softfail, {kMark, kJunk, kReject}));
  TRY_ASSIGN(c.spf_neutral, action(p, t, "spf_neutral", c.spf_neutral, {kMark, kJunk, kReject}));
  TRY_ASSIGN(c.spf_none, action(p, t, "spf_none", c.spf_none, {kMark, kJunk, kReject}));
  TRY_ASSIGN(c.spf_permerror, action(p, t, "spf_permerror", c.spf_permerror, {kMark, kJunk, kReject}));
  TRY_ASSIGN(c.spf_temperror, action(p, t, "spf_temperror", c.spf_temperror, {kMark, kAccept, kJunk, kDefer}));
  TRY_ASSIGN(c.dkim, flag(p, t, "dkim", c.dkim));
  TRY_ASSIGN(c.dmarc, flag(p, t, "dmarc", c.dmarc));
  TRY_ASSIGN(c.dmarc_reject, action(p, t, "dmarc_reject", c.dmarc_reject, {kReject, kJunk, kMark}));
  TRY_ASSIGN(c.dmarc_quarantine, action(p, t, "dmarc_quarantine", c.dmarc_quarantine, {kJunk, kMark}));
  {
    std::string v;
    TRY_ASSIGN(v, p.str(t, "iprev", "checks.iprev", "log"));
    if (v != "log" && v != "require")
      return tl::unexpected(p.err(t.get("iprev"), "checks.iprev", "expected log or require"));
    c.iprev_required = v == "require";
  }
  if (const toml::node* n = t.get("blocklists")) {
    const toml::array* arr = n->as_array();
    if (!arr || arr->size() > 16) return tl::unexpected(p.err(n, "checks.blocklists", "expected a list of up to 16 zones"));
    c.blocklists.clear();
    for (std::size_t i = 0; i < arr->size(); ++i) {
      auto v = (*arr)[i].value<std::string>();
      if (!v || !mail::is_domain(*v, false))
        return tl::unexpected(p.err(&(*arr)[i], fmt::format("checks.blocklists[{}]", i), "expected a DNS zone"));
      c.blocklists.push_back(text::to_lower(*v));
    }
  }
  TRY_ASSIGN(c.connections_per_minute,
             p.num(t, "connections_per_minute", "checks.connections_per_minute", c.connections_per_minute, 0, 1000000));
  TRY_ASSIGN(c.messages_per_hour, p.num(t, "messages_per_hour", "checks.messages_per_hour", c.messages_per_hour, 0, 10000000));
  TRY_ASSIGN(c.greylist, flag(p, t, "greylist", c.greylist));
  std::uint64_t secs = 0;
  TRY_ASSIGN(secs, p.num(t, "greylist_delay", "checks.greylist_delay", c.greylist_delay.count(), 1, 86400));
  c.greylist_delay = std::chrono::seconds(secs);
  return {};
}

}  // namespace valija::server
