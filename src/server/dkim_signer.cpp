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
  std::uint64_t generation = 0;
  {
    std::lock_guard lock(mu_);
    auto it = cache_.find(domain);
    if (it != cache_.end() && it->second.generation == generation_ && now - it->second.loaded < refresh_)
      return it->second.active;
    generation = generation_;
  }
  // Read outside the lock: a slow store holds up neither other domains' signatures
  // nor forget() (SIGHUP, on the main I/O thread).
  auto all = store_.list_dkim_keys(domain);
  std::lock_guard lock(mu_);
  auto it = cache_.find(domain);
  if (!all) {
    log::warn("event=dkim_keys_unreadable domain={} error={}", domain, log::q(all.error().detail));
    // The last known keys, until the store answers again (after forget() too).
    return it != cache_.end() ? it->second.active : std::vector<store::DkimKey>{};
  }
  if (it == cache_.end()) {
    // Bounded: a trusted client may sign for any From domain. Cleared before the
    // insertion, so nothing refers into the map across it.
    if (cache_.size() >= kMaxDomains) cache_.clear();
    it = cache_.emplace(domain, Cached{}).first;
  }
  auto& c = it->second;
  c.active.clear();
  for (auto& k : *all)
    if (k.state == store::DkimKeyState::Active) c.active.push_back(std::move(k));
  c.loaded = now;
  c.generation = generation;
  return c.active;
}

void DkimSigner::forget() {
  std::lock_guard lock(mu_);
  ++generation_;  // every entry is stale, but kept for a store that fails meanwhile
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
