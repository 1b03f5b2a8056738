#include "server/dkim_signer.hpp"

#include "base/log.hpp"
#include "base/text.hpp"
#include "dns/mx.hpp"
#include "mail/address_list.hpp"
#include "mail/header.hpp"
#include "policy/dkim.hpp"

namespace valija::server {

DkimSigner::DkimSigner(store::Store& store, std::chrono::seconds refresh) : store_(store), refresh_(refresh.count()) {}

std::vector<store::DkimKey> DkimSigner::keys_of(const std::string& domain, std::int64_t now) {
  std::lock_guard lock(mu_);
  auto& c = cache_[domain];
  if (c.loaded != 0 && now - c.loaded < refresh_) return c.active;
  auto all = store_.list_dkim_keys(domain);
  if (!all) {
    log::warn("event=dkim_keys_unreadable domain={} error={}", domain, log::q(all.error().detail));
    return c.active;  // the last known keys, until the store answers again
  }
  c.active.clear();
  for (auto& k : *all)
    if (k.state == store::DkimKeyState::Active) c.active.push_back(std::move(k));
  c.loaded = now;
  if (cache_.size() > 10000) cache_.clear();  // bounded: domains are few; this only guards
  return c.active;
}

void DkimSigner::forget() {
  std::lock_guard lock(mu_);
  cache_.clear();
}

std::string DkimSigner::sign(const std::string& domain, std::string_view message, std::int64_t now) {
  std::string fields;
  if (domain.empty()) return fields;
  for (const auto& k : keys_of(domain, now)) {
    auto algorithm = policy::dkim::parse_algorithm(k.algorithm);
    if (!algorithm) {
      log::warn("event=dkim_sign_failed domain={} selector={} error={}", domain, k.selector, log::q(algorithm.error().detail));
      continue;
    }
    policy::dkim::Key key{k.domain, k.selector, *algorithm, k.private_key};
    auto field = policy::dkim::sign(message, key, now);
    if (!field) {
      log::warn("event=dkim_sign_failed domain={} selector={} error={}", domain, k.selector, log::q(field.error().detail));
      continue;
    }
    fields += *field;
  }
  return fields;
}

std::string signing_domain(std::string_view message) {
  mail::HeaderReader reader(message.substr(0, std::min<std::size_t>(message.size(), 256 * 1024)));
  std::string domain;
  int from_fields = 0;
  while (auto f = reader.next()) {
    if (!text::iequals(f->name, "From")) continue;
    if (++from_fields > 1) return "";
    auto list = mail::parse_address_list(f->value, 4);
    if (list.size() != 1 || !list[0].host || *list[0].host == mail::kMissingDomain) return "";
    domain = dns::canonical_name(*list[0].host);
  }
  return domain;
}

}  // namespace valija::server
