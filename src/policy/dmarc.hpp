#pragma once
// DMARC (RFC 7489): whether the author's domain (RFC 5322.From) authorised this message
// through an aligned SPF or DKIM pass, and what its owner asks receivers to do when not.
//
// Pure, in the shape of the other checks (dns/records.hpp): Check::evaluate() states the
// TXT queries it needs (_dmarc.<from domain>, then _dmarc.<organizational domain>) and
// decides with their answers. The organizational domain comes from the Public Suffix
// List (libpsl's built-in copy, or Debian's /usr/share/publicsuffix when newer).
// Aggregate (rua) and failure (ruf) reports are parsed but not sent.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/result.hpp"
#include "dns/records.hpp"

namespace valija::policy::dmarc {

enum class Policy { None, Quarantine, Reject };
enum class Alignment { Relaxed, Strict };
std::string_view policy_name(Policy p);  // "none", "quarantine", "reject"

struct Record {
  Policy p = Policy::None;
  std::optional<Policy> sp;  // for subdomains of the organizational domain
  Alignment adkim = Alignment::Relaxed;
  Alignment aspf = Alignment::Relaxed;
  int pct = 100;
  std::vector<std::string> rua, ruf;
  std::string fo;
};

// RFC 7489 §6.6.3 step 3: whether a TXT record is a DMARC record at all ("v=DMARC1"
// first); the others at _dmarc are discarded.
bool is_dmarc_record(std::string_view txt);

// RFC 7489 §6.3/§6.4: "v=DMARC1" first; a missing or invalid p= is an error unless rua=
// names a valid address (§6.6.3: then p=none). Unknown tags are ignored; an invalid
// value of a known optional tag falls back to its default, as §6.3 asks.
Result<Record> parse_record(std::string_view txt);

// The organizational domain (RFC 7489 §3.2): the public suffix plus one label.
// "mail.example.co.uk" -> "example.co.uk". A name that is itself a public suffix (or
// that the list does not cover) is its own organizational domain.
std::string organizational_domain(std::string_view domain);

// Whether `id` (an SPF or DKIM domain) is aligned with `from` under `mode`.
bool aligned(std::string_view from, std::string_view id, Alignment mode);

enum class Status { None, Pass, Fail, TempError, PermError };
std::string_view status_name(Status s);  // "none", "pass", "fail", "temperror", "permerror"

struct Input {
  std::string from_domain;                 // of RFC 5322.From
  std::string spf_domain;                  // the domain SPF checked (MAIL FROM, or HELO for <>)
  bool spf_pass = false;                   // only a MAIL FROM pass counts (§4.2)
  std::vector<std::string> dkim_pass;      // d= of every passing DKIM signature
  unsigned sample = 0;                     // uniform in [0, 100): compared with pct=
};

struct Outcome {
  Status status = Status::None;
  std::string domain;          // the From domain (header.from)
  std::string policy_domain;   // where the record was found (domain or its organizational one)
  Policy requested = Policy::None;  // p=, or sp=/np= as they apply
  Policy applied = Policy::None;    // after pct= sampling; None unless the result is Fail
  bool spf_aligned = false;
  bool dkim_aligned = false;
  std::string detail;          // for logs and the Authentication-Results comment
};

class Check {
 public:
  explicit Check(Input input);
  // The outcome, or the queries still needed (at most two, asked one after the other).
  std::variant<Outcome, std::vector<dns::Query>> evaluate(const dns::Answers& answers) const;

 private:
  Input in_;
};

}  // namespace valija::policy::dmarc
