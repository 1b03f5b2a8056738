#pragma once
// DKIM signing of mail valija sends for its own domains (submission, trusted clients,
// and forwarded mail when [dkim] sign_forwarded is set): one DKIM-Signature per active
// key of the signing domain (an RSA and an Ed25519 key sign side by side, RFC 8463 §6).
// Keys come from the store (valija dkim ...) and are re-read at most every `refresh`, and
// at once after forget() (SIGHUP), so a key activated or retired with the CLI takes
// effect without a restart.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "store/store.hpp"

namespace valija::server {

class DkimSigner {
 public:
  explicit DkimSigner(store::Store& store, std::chrono::seconds refresh = std::chrono::seconds(30));
  // Blocking (store read, signing): the DKIM-Signature fields to prepend to `message`
  // for `domain`'s active keys; "" when it has none. A key that fails to sign is
  // logged and skipped: the mail still goes, unsigned by that key.
  std::string sign(const std::string& domain, std::string_view message, std::int64_t now);
  // Marks the cached keys stale: the next signature of each domain reads them from the
  // store (keeping the old ones if that read fails).
  void forget();

 private:
  std::vector<store::DkimKey> keys_of(const std::string& domain, std::int64_t now);

  static constexpr std::size_t kMaxDomains = 10000;
  store::Store& store_;
  std::int64_t refresh_;
  std::mutex mu_;
  struct Cached {
    std::vector<store::DkimKey> active;
    std::int64_t loaded = 0;
    std::uint64_t generation = 0;  // forget() count when loaded
  };
  std::uint64_t generation_ = 1;
  std::map<std::string, Cached> cache_;
};

// The domain DKIM signs for: that of the message's single From address; "" when there is
// not exactly one From field with one address (RFC 6376 §5.4 signs one author).
std::string signing_domain(std::string_view message);

}  // namespace valija::server
