#pragma once
// Recipient routing: a recipient address becomes the set of local accounts (and
// external redirect targets) it delivers to, following aliases, subaddresses
// (local+detail) and the domain's catch-all, with loop and fan-out limits.
#include <string>
#include <unordered_set>
#include <vector>

#include "base/limits.hpp"
#include "base/result.hpp"
#include "mail/address.hpp"
#include "store/store.hpp"

namespace valija::delivery {

struct Target {
  store::AccountId account = 0;
  std::string address;  // the account's address (Delivered-To)
  std::uint64_t quota_bytes = 0;
  std::uint64_t used_bytes = 0;
  std::uint64_t quota_messages = 0;
  std::uint64_t used_messages = 0;
};

struct Route {
  std::vector<Target> accounts;       // distinct local accounts
  std::vector<std::string> external;  // redirect targets in other domains
  std::vector<std::string> steps;     // how the address expanded, for logs
  // The recipient itself is in another domain, taken for relaying (an authenticated
  // user, a trusted network): its sender is not rewritten (SRS is for forwarding).
  bool relayed = false;
};

enum class RouteFailure {
  NotLocal,   // the domain is not ours
  Unknown,    // no such account, alias or catch-all
  Loop,       // alias chain deeper than the limit, or only loops
  FanOut,     // expands to more accounts than the limit
  Temporary,  // store unavailable
};

struct RouteError {
  RouteFailure kind;
  std::string detail;
};

class Router {
 public:
  Router(store::Store& store, const Limits& limits) : store_(store), limits_(limits) {}
  // Blocking (store lookups): call from the worker pool.
  tl::expected<Route, RouteError> resolve(const mail::Mailbox& rcpt);
  // True when the domain is one of ours.
  Result<bool> is_local(const std::string& domain);

 private:
  tl::expected<void, RouteError> expand(const std::string& local, const std::string& domain, std::size_t depth,
                                        Route& route, std::unordered_set<std::string>& expanded);
  store::Store& store_;
  Limits limits_;
};

}  // namespace valija::delivery
