// DNS: MX rdata from the resolver (a hostile zone chooses it) and the MX plan built from
// any set of records. A parsed record re-encodes to the same bytes; a plan never holds
// more hosts than asked, keeps preferences in order, and names only given exchanges.
#include <cstdint>
#include <cstdlib>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "dns/mx.hpp"

using namespace valija::dns;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::span<const unsigned char> in(data, size);
  auto one = parse_mx_rdata(in);
  if (one) {
    auto wire = to_wire_name(one->exchange);
    if (wire.empty() || 2 + wire.size() != size) std::abort();
  }
  // The input as a series of length-prefixed rdatas.
  MxAnswer answer;
  answer.outcome = Outcome::Answer;
  std::size_t pos = 0;
  while (pos < size && answer.records.size() < 200) {
    std::size_t n = data[pos++];
    if (pos + n > size) break;
    auto r = parse_mx_rdata(in.subspan(pos, n));
    if (r) answer.records.push_back(std::move(*r));
    pos += n;
  }
  std::mt19937_64 rng(size);
  auto plan = plan_mx("fuzz.example", answer, rng, 10);
  if (plan.hosts.size() > 10) std::abort();
  for (std::size_t i = 1; i < plan.hosts.size(); ++i)
    if (plan.hosts[i - 1].preference > plan.hosts[i].preference) std::abort();
  for (const auto& h : plan.hosts) {
    bool given = false;
    for (const auto& r : answer.records) given = given || r.exchange == h.exchange;
    if (!given && !plan.implicit) std::abort();
  }
  return 0;
}
