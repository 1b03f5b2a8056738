#pragma once
// The DNS resolver: libunbound (Debian's libunbound8) in its asynchronous mode, run on
// one I/O context. libunbound keeps the cache (honouring TTLs), follows CNAMEs, retries
// and fails over between servers; this class turns its answers into MxAnswer and
// AddressAnswer and bounds every lookup in time, so a dead DNS server means "try again
// later", never a hang.
//
// Callers await mx() and addresses() from any executor and resume there.
#include <chrono>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "base/result.hpp"
#include "dns/mx.hpp"
#include "dns/records.hpp"
#include "net/asio.hpp"

namespace valija::dns {

struct ResolverConfig {
  // Forward to these servers ("192.0.2.53", "127.0.0.1@5353", "::1@53"); empty: the
  // nameservers of /etc/resolv.conf.
  std::vector<std::string> servers;
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};  // per lookup
};

struct AddressAnswer {
  Outcome outcome = Outcome::Temporary;
  std::vector<std::string> addresses;  // IPv6 first, then IPv4 (RFC 6724's default preference)
  std::string canonical;               // after CNAMEs (empty when none)
  std::string detail;
};

class Resolver {
 public:
  // The resolver runs on `io` (its thread does libunbound's processing).
  static Result<std::unique_ptr<Resolver>> create(asio::io_context& io, const ResolverConfig& config);
  ~Resolver();
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  net::awaitable<MxAnswer> mx(std::string domain);
  // AAAA and A records of `host`.
  net::awaitable<AddressAnswer> addresses(std::string host);
  // Any one query, its records decoded to text (dns/records.hpp). A record that does not
  // decode makes the answer Temporary, as for MX.
  net::awaitable<Answer> lookup(Query q);
  // Several queries at once (all sent before any answer is awaited); answers in order.
  net::awaitable<std::vector<Answer>> lookup_all(std::vector<Query> queries);

  struct Raw;   // one lookup's answer (resolver.cpp)
  struct Impl;

 private:
  explicit Resolver(std::unique_ptr<Impl> impl);
  net::awaitable<Raw> query(std::string name, int type);
  net::awaitable<std::vector<Raw>> query_all(std::vector<Query> queries);
  std::unique_ptr<Impl> impl_;
};

// Runs a pure check (the shape of src/policy's: evaluate() gives the outcome or the
// queries it needs) to its outcome: evaluate, look up what it needs (all at once), add
// the answers, repeat. `overrun` after `max_rounds` rounds (the checks bound their own
// lookups; this only guards).
template <class Outcome, class Check>
net::awaitable<Outcome> run_check(Resolver& resolver, const Check& check, Answers& answers, Outcome overrun,
                                  int max_rounds = 40) {
  for (int round = 0; round < max_rounds; ++round) {
    auto step = check.evaluate(answers);
    if (auto* done = std::get_if<Outcome>(&step)) co_return std::move(*done);
    auto queries = std::get<std::vector<Query>>(std::move(step));
    auto got = co_await resolver.lookup_all(queries);
    for (std::size_t i = 0; i < queries.size(); ++i) answers.add(std::move(queries[i]), std::move(got[i]));
  }
  co_return overrun;
}

}  // namespace valija::dns
