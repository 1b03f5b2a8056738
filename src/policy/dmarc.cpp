#include "policy/dmarc.hpp"

#include <libpsl.h>

#include <fmt/format.h>

#include "base/text.hpp"
#include "policy/tag_list.hpp"

namespace valija::policy::dmarc {
namespace {

constexpr std::size_t kMaxRecord = 2048;  // longer TXT answers are not DMARC records we read

std::optional<Policy> parse_policy(std::string_view v) {
  if (text::iequals(v, "none")) return Policy::None;
  if (text::iequals(v, "quarantine")) return Policy::Quarantine;
  if (text::iequals(v, "reject")) return Policy::Reject;
  return std::nullopt;
}

std::vector<std::string> uri_list(std::string_view v) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= v.size() && out.size() < 8) {
    auto comma = v.find(',', start);
    auto item = text::trim(v.substr(start, comma == std::string_view::npos ? v.npos : comma - start));
    if (!item.empty()) out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

// §6.2's rua/ruf are URIs; the only scheme receivers are asked to support is mailto.
bool has_mailto(const std::vector<std::string>& uris) {
  for (const auto& u : uris)
    if (text::istarts_with(u, "mailto:") && u.find('@') != std::string::npos) return true;
  return false;
}

const psl_ctx_t* psl() {
  // Debian's publicsuffix package when installed (kept current by apt), else the copy
  // built into libpsl. Read-only once loaded, so shared by every thread.
  static const psl_ctx_t* ctx = [] {
    const psl_ctx_t* c = psl_latest(nullptr);
    return c ? c : psl_builtin();
  }();
  return ctx;
}

}  // namespace

bool is_dmarc_record(std::string_view txt) {
  // §6.6.3 step 3: records that do not start with a "v=" tag of DMARC1 are discarded.
  auto t = text::trim(txt);
  if (!t.starts_with("v")) return false;
  t = text::trim(t.substr(1));
  if (!t.starts_with("=")) return false;
  t = text::trim(t.substr(1));
  return t.starts_with("DMARC1") && (t.size() == 6 || t[6] == ';' || t[6] == ' ' || t[6] == '\t');
}

std::string_view policy_name(Policy p) {
  switch (p) {
    case Policy::None: return "none";
    case Policy::Quarantine: return "quarantine";
    case Policy::Reject: return "reject";
  }
  return "none";
}

std::string_view status_name(Status r) {
  switch (r) {
    case Status::None: return "none";
    case Status::Pass: return "pass";
    case Status::Fail: return "fail";
    case Status::TempError: return "temperror";
    case Status::PermError: return "permerror";
  }
  return "none";
}

Result<Record> parse_record(std::string_view txt) {
  if (txt.size() > kMaxRecord) return fail(Errc::Invalid, "DMARC record too long");
  if (!is_dmarc_record(txt)) return fail(Errc::Invalid, "not a DMARC1 record");
  auto tags = parse_tag_list(txt);
  if (!tags) return tl::unexpected(tags.error());
  Record r;
  bool have_p = false, bad_sp = false;
  for (const auto& [name, value, b, e] : *tags) {
    std::string tag = text::to_lower(name);
    if (tag == "p") {
      auto p = parse_policy(value);
      if (p) r.p = *p;
      have_p = p.has_value();
    } else if (tag == "sp") {
      r.sp = parse_policy(value);
      bad_sp = !r.sp;
    } else if (tag == "adkim" || tag == "aspf") {
      auto mode = text::iequals(value, "s") ? Alignment::Strict : Alignment::Relaxed;  // invalid: default
      (tag == "adkim" ? r.adkim : r.aspf) = mode;
    } else if (tag == "pct") {
      auto n = text::parse_u64(value);
      if (n && *n <= 100) r.pct = static_cast<int>(*n);
    } else if (tag == "rua") {
      r.rua = uri_list(value);
    } else if (tag == "ruf") {
      r.ruf = uri_list(value);
    } else if (tag == "fo") {
      r.fo = value;
    }
  }
  // §6.6.3 step 6: a record without a valid p= (or with an invalid sp=) still counts as
  // p=none when it names a place for reports; otherwise it is no policy at all.
  if (!have_p || bad_sp) {
    if (!has_mailto(r.rua)) return fail(Errc::Invalid, have_p ? "invalid sp= tag" : "missing or invalid p= tag");
    r.p = Policy::None;
    r.sp.reset();
  }
  return r;
}

std::string organizational_domain(std::string_view domain) {
  std::string d = dns::canonical_name(domain);
  const char* reg = psl_registrable_domain(psl(), d.c_str());
  return reg ? std::string(reg) : d;
}

bool aligned(std::string_view from, std::string_view id, Alignment mode) {
  std::string f = dns::canonical_name(from), i = dns::canonical_name(id);
  if (f.empty() || i.empty()) return false;
  if (f == i) return true;
  return mode == Alignment::Relaxed && organizational_domain(f) == organizational_domain(i);
}

Check::Check(Input input) : in_(std::move(input)) {
  in_.from_domain = dns::canonical_name(in_.from_domain);
}

std::variant<Outcome, std::vector<dns::Query>> Check::evaluate(const dns::Answers& answers) const {
  Outcome out;
  out.domain = in_.from_domain;
  if (in_.from_domain.empty()) {
    out.detail = "no From domain";
    return out;
  }
  // §6.6.3: the From domain's own record, else its organizational domain's.
  std::string org = organizational_domain(in_.from_domain);
  std::vector<std::string> candidates{in_.from_domain};
  if (org != in_.from_domain) candidates.push_back(org);
  std::optional<Record> record;
  for (const auto& domain : candidates) {
    auto q = dns::make_query("_dmarc." + domain, dns::RrType::Txt);
    const auto* a = answers.find(q);
    if (!a) return std::vector<dns::Query>{q};
    if (a->outcome == dns::Outcome::Temporary) {
      out.status = Status::TempError;
      out.detail = a->detail.empty() ? fmt::format("{}: DNS error", q.name) : a->detail;
      return out;
    }
    std::vector<const std::string*> found;
    for (const auto& txt : a->records)
      if (is_dmarc_record(txt)) found.push_back(&txt);
    if (found.empty()) continue;
    out.policy_domain = domain;
    if (found.size() > 1) {  // step 5: several records mean no policy
      out.detail = fmt::format("{} has {} DMARC records", q.name, found.size());
      return out;
    }
    auto r = parse_record(*found.front());
    if (!r) {
      out.status = Status::PermError;
      out.detail = fmt::format("{}: {}", q.name, r.error().detail);
      return out;
    }
    record = std::move(*r);
    break;
  }
  if (!record) {
    out.detail = "no DMARC record";
    return out;
  }
  bool subdomain = out.policy_domain != in_.from_domain;
  out.requested = subdomain && record->sp ? *record->sp : record->p;
  // §4.2 / §3.1: an identifier is aligned when it matches the From domain (strict) or
  // shares its organizational domain (relaxed).
  out.spf_aligned = in_.spf_pass && aligned(in_.from_domain, in_.spf_domain, record->aspf);
  for (const auto& d : in_.dkim_pass)
    if (aligned(in_.from_domain, d, record->adkim)) out.dkim_aligned = true;
  if (out.spf_aligned || out.dkim_aligned) {
    out.status = Status::Pass;
    out.detail = out.dkim_aligned ? (out.spf_aligned ? "SPF and DKIM aligned" : "DKIM aligned") : "SPF aligned";
    return out;
  }
  out.status = Status::Fail;
  out.applied = out.requested;
  // §6.6.4: a message outside the pct= sample gets the next less strict policy.
  if (static_cast<int>(in_.sample % 100) >= record->pct) {
    out.applied = out.requested == Policy::Reject ? Policy::Quarantine : Policy::None;
  }
  out.detail = fmt::format("no aligned SPF or DKIM pass (policy {} from {}{})", policy_name(out.requested),
                           out.policy_domain, record->pct < 100 ? fmt::format(", pct={}", record->pct) : "");
  return out;
}

}  // namespace valija::policy::dmarc
