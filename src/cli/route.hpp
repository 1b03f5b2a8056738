#pragma once
// What `valija mx` and `valija smtp-test` share: the MX plan for a domain, with the
// cases where mail cannot go there now explained the same way.
#include <optional>
#include <string>

#include "dns/resolver.hpp"

namespace valija::cli {

constexpr int kTempFail = 75;  // EX_TEMPFAIL: would be retried later

// The exchangers of `domain` in the order to try them; or, when mail would bounce or
// wait, nullopt after printing why (each line starting with `prefix`), with `rc` set to
// the exit status (1: bounce, kTempFail: DNS failed).
net::awaitable<std::optional<dns::MxPlan>> mx_plan(dns::Resolver& resolver, std::string domain, std::string prefix,
                                                   int& rc);

}  // namespace valija::cli
