#include "auth/verified_cache.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstdio>
#include <cstdlib>

#include "base/evict.hpp"

namespace valija::auth {

VerifiedCache::VerifiedCache(std::chrono::seconds ttl, std::size_t max_entries) : ttl_(ttl), max_(max_entries) {
  if (RAND_bytes(key_, sizeof key_) != 1) {
    std::fputs("valija: fatal: the system random number generator failed\n", stderr);
    std::abort();
  }
}

// HMAC(key, hash string || 0 || password): bound to this hash, useless outside this process.
std::string VerifiedCache::mac(std::string_view password, const std::string& encoded) const {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  std::string msg = encoded;
  msg.push_back('\0');
  msg.append(password);
  HMAC(EVP_sha256(), key_, sizeof key_, reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), out, &len);
  OPENSSL_cleanse(msg.data(), msg.size());
  return std::string(reinterpret_cast<const char*>(out), len);
}

bool VerifiedCache::hit(const std::string& encoded, std::string_view password, Clock::time_point now) {
  auto m = mac(password, encoded);
  std::lock_guard l(mu_);
  if (ttl_.count() == 0) return false;
  auto it = entries_.find(encoded);
  if (it == entries_.end()) return false;
  if (now - it->second.at >= ttl_) {
    entries_.erase(it);
    return false;
  }
  return it->second.mac.size() == m.size() && CRYPTO_memcmp(it->second.mac.data(), m.data(), m.size()) == 0;
}

void VerifiedCache::remember(const std::string& encoded, std::string_view password, Clock::time_point now) {
  auto m = mac(password, encoded);
  std::lock_guard l(mu_);
  if (ttl_.count() == 0) return;
  if (entries_.size() >= max_ && !entries_.count(encoded))
    drop_older_half(entries_, [](const Entry& e) { return e.at; }, [](const Entry&) { return false; });
  entries_[encoded] = Entry{std::move(m), now};
}

void VerifiedCache::set_ttl(std::chrono::seconds ttl) {
  std::lock_guard l(mu_);
  ttl_ = ttl;
  if (ttl.count() == 0) entries_.clear();
}

std::size_t VerifiedCache::size() const {
  std::lock_guard l(mu_);
  return entries_.size();
}

}  // namespace valija::auth
