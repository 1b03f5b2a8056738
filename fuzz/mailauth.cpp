// DMARC records, Authentication-Results (authserv-id reading, removal of forged fields,
// rendering of values a client chose) and the DMARC and iprev checks over DNS answers
// taken from the input. Invariants: a rendered field is one header field (no line break
// but its folds), and stripping removes every field claiming the id and nothing else.
#include <cstdint>
#include <string>
#include <string_view>

#include "policy/authres.hpp"
#include "policy/dmarc.hpp"
#include "policy/iprev.hpp"

namespace p = valija::policy;
namespace dns = valija::dns;

namespace {

// Answers every query with the input's lines (as TXT, names or addresses).
template <class Check, class Outcome>
void run(const Check& c, std::string_view in) {
  dns::Answers answers;
  for (int round = 0; round < 8; ++round) {
    auto step = c.evaluate(answers);
    if (std::holds_alternative<Outcome>(step)) return;
    for (const auto& q : std::get<std::vector<dns::Query>>(step)) {
      dns::Answer a{dns::Outcome::Answer, {}, ""};
      std::size_t start = 0;
      while (start < in.size() && a.records.size() < 12) {
        auto nl = in.find('\n', start);
        if (nl == std::string_view::npos) nl = in.size();
        a.records.emplace_back(in.substr(start, nl - start));
        start = nl + 1;
      }
      if (in.size() % 5 == 1) a.outcome = dns::Outcome::Temporary;
      answers.add(q, std::move(a));
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  (void)p::dmarc::parse_record(in);
  (void)p::authserv_id_of(in);

  std::string message(in);
  p::strip_authentication_results(message, "mx.example", 64 * 1024);
  std::string again = message;
  if (p::strip_authentication_results(again, "mx.example", 64 * 1024) != 0 && message.size() <= 64 * 1024)
    __builtin_trap();  // a second pass finds nothing more within the scanned part

  std::string field = p::authentication_results(
      "mx.example", {{"spf", "pass", std::string(in), {{"smtp.mailfrom", std::string(in)}, {"smtp.helo", std::string(in)}}}});
  for (std::size_t i = 0; i < field.size(); ++i) {  // only CRLF, and each but the last a fold
    if (field[i] == '\n' && (i == 0 || field[i - 1] != '\r' || (i + 1 != field.size() && field[i + 1] != '\t')))
      __builtin_trap();
    if (field[i] == '\r' && (i + 1 == field.size() || field[i + 1] != '\n')) __builtin_trap();
  }

  run<p::dmarc::Check, p::dmarc::Outcome>(p::dmarc::Check(p::dmarc::Input{std::string(in.substr(0, 64)), "x.example", true, {}, 7}), in);
  run<p::IprevCheck, p::IprevOutcome>(p::IprevCheck(size % 2 ? "192.0.2.1" : "2001:db8::1"), in);
  (void)p::blocklist_result(dns::Answer{dns::Outcome::Answer, {std::string(in)}, ""});
  return 0;
}
