#pragma once
// SPF (RFC 7208): whether the client may send mail for the MAIL FROM (or HELO) domain.
//
// Pure, as a replay evaluator: Check::evaluate() runs check_host() (§4) against the DNS
// answers gathered so far (dns::Answers) and either decides, or names every query it needs
// next. The server asks those concurrently, adds the answers and evaluates again from the
// start; the same answers always give the same result, so a run costs O(terms).
//
//   Check check(input, Identity::MailFrom);
//   dns::Answers answers;
//   for (;;) {
//     auto step = check.evaluate(answers);
//     if (auto* o = std::get_if<Outcome>(&step)) return *o;
//     for (auto& q : std::get<std::vector<dns::Query>>(step)) answers.add(q, resolve(q));
//   }
//
// Every limit is fixed here: the RFC's (10 DNS-querying terms, 2 void lookups, 10 MX or
// PTR names per term, §4.6.4) and ours on what a record may cost to parse and expand.
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/result.hpp"
#include "dns/records.hpp"

namespace valija::policy::spf {

// RFC 7208 §4.6.4
inline constexpr int kMaxLookups = 10;       // include, a, mx, ptr, exists, redirect
inline constexpr int kMaxVoidLookups = 2;    // answers with no records, or NXDOMAIN
inline constexpr std::size_t kMaxMxNames = 10;   // MX records one "mx" may have
inline constexpr std::size_t kMaxPtrNames = 10;  // PTR names one "ptr" or %{p} considers
// Ours: a record longer than this, or with more terms, is a permerror (a DNS answer is at
// most 64 KiB; real records are far below 1 KiB).
inline constexpr std::size_t kMaxRecordLength = 4096;
inline constexpr std::size_t kMaxTerms = 256;
// One macro expansion (a domain-spec before §7.3 truncation, an explanation).
inline constexpr std::size_t kMaxExpansion = 16 * 1024;
// The explanation handed to the SMTP reply: one line of this many characters (then "...").
inline constexpr std::size_t kMaxExplanation = 400;

enum class Result { None, Neutral, Pass, Fail, SoftFail, TempError, PermError };
// "none", "neutral", "pass", "fail", "softfail", "temperror", "permerror" (RFC 7208 §2.6)
std::string_view name(Result r);

enum class Identity { MailFrom, Helo };  // RFC 7208 §2.3, §2.4

struct Input {
  std::string ip;        // client IP, textual (IPv4, IPv6, or IPv4-mapped IPv6 which counts as IPv4)
  std::string sender;    // MAIL FROM address local@domain; "" for the null sender
  std::string helo;      // HELO/EHLO argument
  std::string receiver;  // our host name, for %{r}
  std::int64_t now = 0;  // unix time, for %{t}
};

struct Outcome {
  Result result = Result::None;
  Identity identity = Identity::MailFrom;
  std::string domain;       // the domain whose policy was checked
  std::string sender;       // the <sender> used (postmaster@helo for the null sender or helo identity)
  std::string mechanism;    // the term that matched ("ip4:192.0.2.0/24", "-all", "default", "include:x" ...)
  std::string explanation;  // for Fail: expanded exp= text if any (bounded, printable ASCII), else empty
  std::string problem;      // for TempError/PermError/None: what went wrong, human-readable
  int lookups = 0;          // DNS-querying terms used
};

class Check {
 public:
  Check(Input input, Identity identity);
  // Evaluates with what `answers` holds. Either the outcome, or every query needed next that
  // is not in `answers` yet (all that can be known at this point, so the caller can ask them
  // concurrently; e.g. for "mx" the A/AAAA lookups of all exchanges at once). The caller adds
  // answers and calls evaluate() again; it is deterministic, so re-running from the start is
  // fine. A query whose answer is Outcome::Temporary is a DNS error per RFC 7208 §5 / §4.4.
  std::variant<Outcome, std::vector<dns::Query>> evaluate(const dns::Answers& answers) const;

  const Input& input() const { return input_; }

 private:
  Input input_;
  Identity identity_;
  std::string sender_;  // <sender> as check_host() sees it (§4.1, §4.3)
  std::string local_;   // its local part ("postmaster" when there is none)
  std::string domain_;  // <domain>: the sender's domain or the HELO name, canonical
};

// The Received-SPF header field (RFC 7208 §9.1), folded, ending in CRLF. Values that are
// not dot-atoms are quoted, or left out when they cannot be (control characters, 8-bit,
// overlong), so nothing from HELO, MAIL FROM or DNS can break the header.
std::string received_spf(const Outcome& o, const Input& in);

// --- Records (RFC 7208 §4.5, §4.6, §5, §6, §12) ---

enum class Qualifier { Pass, Fail, SoftFail, Neutral };  // + - ~ ?
enum class Mechanism { All, Include, A, Mx, Ptr, Ip4, Ip6, Exists };

struct Directive {
  Qualifier qualifier = Qualifier::Pass;
  Mechanism mechanism = Mechanism::All;
  // include, a, mx, ptr, exists: the domain-spec as written ("" = the current domain).
  std::string domain_spec;
  // ip4 (first four octets) and ip6: the network.
  std::array<unsigned char, 16> network{};
  int cidr4 = 32;   // ip4, a, mx
  int cidr6 = 128;  // ip6, a, mx
  std::string term;  // as written, qualifier included
};

struct Record {
  std::vector<Directive> directives;
  std::optional<std::string> redirect;  // domain-spec (§6.1)
  std::optional<std::string> exp;       // domain-spec (§6.2)
};

// §4.5: "v=spf1" (any case) followed by a space or the end of the record.
bool is_spf_record(std::string_view txt);

// A whole record, "v=spf1 ..." included. Any syntax error anywhere is an error (a permerror
// for the check, §4.6); unknown modifiers are checked for syntax and dropped (§6).
valija::Result<Record> parse_record(std::string_view txt);

// --- Macros (RFC 7208 §7) ---

struct MacroContext {
  std::string sender;         // %{s}
  std::string local;          // %{l}
  std::string sender_domain;  // %{o}
  std::string domain;         // %{d}: the current domain
  std::string ip;             // %{i}, %{c}, %{v}: the client address as text
  std::string helo;           // %{h}
  std::string validated = "unknown";  // %{p}: found by the evaluator (§5.5)
  std::string receiver;       // %{r} ("unknown" when empty)
  std::int64_t now = 0;       // %{t}
};

// Whether `s` is a macro-string (§7.1). With `explanation`, spaces and the letters c, r
// and t are allowed too (explain-string, §6.2).
bool valid_macro_string(std::string_view s, bool explanation);
// Whether `s` is a domain-spec: a macro-string ending in a macro or "." toplabel (§7.1).
bool valid_domain_spec(std::string_view s);
// Expands a macro-string (§7.3). Fails on a syntax error or past kMaxExpansion octets.
valija::Result<std::string> expand(std::string_view macro_string, const MacroContext& ctx, bool explanation);

}  // namespace valija::policy::spf
