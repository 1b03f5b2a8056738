#include "delivery/router.hpp"

#include <algorithm>
#include <unordered_set>

#include "base/text.hpp"

namespace valija::delivery {
namespace {
constexpr char kDetailDelimiter = '+';  // ana+lists@example.org delivers to ana
}

Result<bool> Router::is_local(const std::string& domain) {
  auto d = store_.find_domain(domain);
  if (!d) return tl::unexpected(d.error());
  return d->has_value();
}

tl::expected<Route, RouteError> Router::resolve(const mail::Mailbox& rcpt) {
  if (rcpt.domain_literal) return tl::unexpected(RouteError{RouteFailure::NotLocal, "address literals are not local"});
  auto local = is_local(rcpt.domain);
  if (!local) return tl::unexpected(RouteError{RouteFailure::Temporary, local.error().detail});
  if (!*local) return tl::unexpected(RouteError{RouteFailure::NotLocal, rcpt.domain + " is not a local domain"});
  Route route;
  std::unordered_set<std::string> expanded;
  auto r = expand(text::to_lower(rcpt.local), text::to_lower(rcpt.domain), 0, route, expanded);
  if (!r) return tl::unexpected(r.error());
  if (route.accounts.empty() && route.external.empty())
    return tl::unexpected(RouteError{RouteFailure::Loop, "aliases lead to no mailbox"});
  return route;
}

tl::expected<void, RouteError> Router::expand(const std::string& local, const std::string& domain, std::size_t depth,
                                              Route& route, std::unordered_set<std::string>& expanded) {
  auto address = local + "@" + domain;
  if (depth > limits_.alias_depth)
    return tl::unexpected(RouteError{RouteFailure::Loop, "alias chain longer than " + std::to_string(limits_.alias_depth)});
  // Each address (and each alias, the catch-all included) is expanded once per resolve:
  // that ends loops and keeps the work linear in the number of aliases, however they
  // point at each other.
  if (!expanded.insert(address).second) {
    route.steps.push_back(address + " (already expanded)");
    return {};
  }
  if (depth > 0) {
    auto is_local_domain = is_local(domain);
    if (!is_local_domain) return tl::unexpected(RouteError{RouteFailure::Temporary, is_local_domain.error().detail});
    if (!*is_local_domain) {
      if (std::find(route.external.begin(), route.external.end(), address) == route.external.end())
        route.external.push_back(address);
      route.steps.push_back(address + " (external)");
      return {};
    }
  }

  // 1. An account with this exact address.
  auto try_account = [&](const std::string& l) -> tl::expected<bool, RouteError> {
    auto acc = store_.find_account(l, domain);
    if (!acc) return tl::unexpected(RouteError{RouteFailure::Temporary, acc.error().detail});
    if (!acc->has_value()) return false;
    const auto& a = **acc;
    bool seen = std::any_of(route.accounts.begin(), route.accounts.end(), [&](const Target& t) { return t.account == a.id; });
    if (!seen) {
      if (route.accounts.size() >= limits_.alias_fanout)
        return tl::unexpected(RouteError{RouteFailure::FanOut, "expands to more than " + std::to_string(limits_.alias_fanout) + " mailboxes"});
      route.accounts.push_back(Target{a.id, a.address(), a.quota_bytes, a.used_bytes, a.quota_messages, a.used_messages});
    }
    route.steps.push_back(a.address());
    return true;
  };
  // 2. An alias with this address: expand each target.
  auto try_alias = [&](const std::string& l) -> tl::expected<bool, RouteError> {
    auto alias = store_.find_alias(l, domain);
    if (!alias) return tl::unexpected(RouteError{RouteFailure::Temporary, alias.error().detail});
    if (!alias->has_value()) return false;
    if (l != local && !expanded.insert(l + "@" + domain).second) return true;  // catch-all or base, done already
    route.steps.push_back((l.empty() ? std::string("*") : l) + "@" + domain + " (alias)");
    for (const auto& t : (*alias)->targets) {
      auto mb = mail::parse_mailbox(t, true);
      if (!mb) {
        route.steps.push_back(t + " (invalid target, skipped)");
        continue;
      }
      auto r = expand(text::to_lower(mb->local), text::to_lower(mb->domain), depth + 1, route, expanded);
      if (!r) return tl::unexpected(r.error());
    }
    return true;
  };

  auto lookup = [&](const std::string& l) -> tl::expected<bool, RouteError> {
    auto found = try_account(l);
    if (!found || *found) return found;
    return try_alias(l);
  };
  auto found = lookup(local);
  if (!found) return tl::unexpected(found.error());
  if (*found) return {};
  // 3. Subaddress: local+detail delivers like local.
  if (auto plus = local.find(kDetailDelimiter); plus != std::string::npos && plus > 0) {
    found = lookup(local.substr(0, plus));
    if (!found) return tl::unexpected(found.error());
    if (*found) return {};
  }
  // 4. The domain's catch-all (stored as the alias with an empty local part).
  found = try_alias("");
  if (!found) return tl::unexpected(found.error());
  if (*found) return {};
  if (depth > 0) {
    route.steps.push_back(address + " (unknown target, skipped)");
    return {};
  }
  return tl::unexpected(RouteError{RouteFailure::Unknown, address + " does not exist"});
}

}  // namespace valija::delivery
