// SPF (policy/spf*.cpp): records and macros come from any domain's DNS. The first line is
// parsed as a record and expanded as a macro-string, then a Check runs against a zone
// built from the input until it ends: it must end, never ask for what it has, give the
// same result twice, and write a well-formed Received-SPF field.
//
//   line 1: the TXT record of example.com     line 3: HELO
//   line 2: MAIL FROM                          line 4: client IP
//   then:   NAME TYPE VALUE (TYPE A, AAAA, MX, PTR, TXT; VALUE "!T" = DNS error, "!N" = no data)
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "policy/spf.hpp"

namespace spf = valija::policy::spf;
namespace dns = valija::dns;

namespace {

constexpr std::size_t kMaxZoneLines = 200;
constexpr int kMaxRounds = 200;  // each round answers at least one new query

std::vector<std::string_view> lines(std::string_view in) {
  std::vector<std::string_view> out;
  while (!in.empty() && out.size() < 4 + kMaxZoneLines) {
    auto nl = in.find('\n');
    out.push_back(in.substr(0, nl));
    in = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
  }
  return out;
}

std::optional<dns::RrType> type_of(std::string_view s) {
  for (auto t : {dns::RrType::A, dns::RrType::Aaaa, dns::RrType::Mx, dns::RrType::Ptr, dns::RrType::Txt})
    if (dns::type_name(t) == s) return t;
  return std::nullopt;
}

// The zone: every (name, type) answered from the input; anything else is NXDOMAIN.
dns::Answers zone(const std::vector<std::string_view>& l) {
  dns::Answers z;
  z.add(dns::make_query("example.com", dns::RrType::Txt), dns::Answer{dns::Outcome::Answer, {std::string(l[0])}, ""});
  for (std::size_t i = 4; i < l.size(); ++i) {
    auto sp1 = l[i].find(' ');
    auto sp2 = sp1 == std::string_view::npos ? sp1 : l[i].find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos) continue;
    auto type = type_of(l[i].substr(sp1 + 1, sp2 - sp1 - 1));
    if (!type) continue;
    auto q = dns::make_query(l[i].substr(0, sp1), *type);
    auto value = l[i].substr(sp2 + 1);
    dns::Answer a = z.find(q) ? *z.find(q) : dns::Answer{dns::Outcome::Answer, {}, ""};
    if (value == "!T") a.outcome = dns::Outcome::Temporary;
    else if (value == "!N") a.outcome = dns::Outcome::NoData;
    else a.records.emplace_back(type == dns::RrType::Mx || type == dns::RrType::Ptr ? dns::canonical_name(value) : value);
    z.add(std::move(q), std::move(a));
  }
  return z;
}

bool well_formed(const std::string& h) {
  if (h.size() < 2 || h.compare(h.size() - 2, 2, "\r\n") != 0) return false;
  for (std::size_t i = 0; i < h.size(); ++i) {
    auto c = static_cast<unsigned char>(h[i]);
    if (c == '\r' && (i + 1 >= h.size() || h[i + 1] != '\n')) return false;
    if (c == '\n' && (h[i - 1] != '\r' || (i + 1 < h.size() && h[i + 1] != ' '))) return false;
    if (c != '\r' && c != '\n' && (c < 0x20 || c > 0x7E)) return false;
  }
  return true;
}

bool same(const spf::Outcome& a, const spf::Outcome& b) {
  return a.result == b.result && a.mechanism == b.mechanism && a.explanation == b.explanation &&
         a.problem == b.problem && a.lookups == b.lookups;
}

void run_check(const std::vector<std::string_view>& l) {
  spf::Input in;
  in.sender = std::string(l[1]);
  in.helo = std::string(l[2]);
  in.ip = std::string(l[3]);
  in.receiver = "mx.example.org";
  in.now = 1'700'000'000;
  spf::Check check(in, spf::Identity::MailFrom);
  const dns::Answers table = zone(l);
  dns::Answers answers;
  std::set<dns::Query> asked;
  for (int round = 0; round < kMaxRounds; ++round) {
    auto step = check.evaluate(answers);
    if (auto* o = std::get_if<spf::Outcome>(&step)) {
      auto again = check.evaluate(answers);
      if (!std::holds_alternative<spf::Outcome>(again) || !same(*o, std::get<spf::Outcome>(again))) __builtin_trap();
      if (o->explanation.size() > spf::kMaxExplanation + 3) __builtin_trap();
      if (!well_formed(spf::received_spf(*o, in))) __builtin_trap();
      return;
    }
    const auto& queries = std::get<std::vector<dns::Query>>(step);
    if (queries.empty()) __builtin_trap();
    for (const auto& q : queries) {
      if (!asked.insert(q).second) __builtin_trap();  // asked for what it already has
      const auto* a = table.find(q);
      answers.add(q, a ? *a : dns::Answer{dns::Outcome::NxDomain, {}, ""});
    }
  }
  __builtin_trap();  // no end
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto l = lines(input);
  if (l.empty()) return 0;
  (void)spf::parse_record(l[0]);
  (void)spf::valid_domain_spec(l[0]);
  spf::MacroContext ctx;
  ctx.sender = "strong-bad@email.example.com";
  ctx.local = "strong-bad";
  ctx.sender_domain = ctx.domain = "email.example.com";
  ctx.ip = l.size() > 3 ? std::string(l[3]) : "2001:db8::cb01";
  ctx.helo = "mx.example.org";
  for (bool explanation : {false, true}) {
    auto e = spf::expand(l[0], ctx, explanation);
    if (e && e->size() > spf::kMaxExpansion) __builtin_trap();
  }
  if (l.size() < 4) return 0;
  run_check(l);
  return 0;
}
