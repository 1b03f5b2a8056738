// SPF check_host() (RFC 7208 §4) as a replay over gathered DNS answers: each evaluate()
// runs from the start; where an answer is missing the run stops and reports the queries
// that would let it go on.
#include "policy/spf.hpp"

#include <set>

#include <fmt/format.h>

#include "base/text.hpp"
#include "policy/spf_detail.hpp"

namespace valija::policy::spf {
namespace {

using detail::shown;

// One evaluate(): the counters of §4.6.4 and what stopped the run. A step returning
// nullopt has stopped it: either `needed_` holds the queries to ask, or `error_` the result.
class Run {
 public:
  Run(const Input& in, const std::string& sender, const std::string& local, const std::string& sender_domain,
      const detail::Address& ip, const dns::Answers& answers)
      : in_(in), sender_(sender), local_(local), sender_domain_(sender_domain), ip_(ip), answers_(answers) {}

  std::variant<Outcome, std::vector<dns::Query>> run(Outcome o);

 private:
  std::optional<Result> check_host(const std::string& domain, bool in_include);
  std::optional<Result> evaluate_record(const Record& rec, const std::string& domain, bool in_include);
  std::optional<Result> redirect(const Record& rec, const std::string& domain, bool in_include);
  std::optional<bool> matches(const Directive& d, const std::string& domain);
  std::optional<bool> include(const Directive& d, const std::string& domain);
  std::optional<bool> address(const Directive& d, const std::string& domain, bool exists);
  std::optional<bool> mx(const Directive& d, const std::string& domain);
  std::optional<bool> ptr(const Directive& d, const std::string& domain);
  std::optional<std::string> explanation();

  enum class Expanded { Ok, Blocked, Invalid };
  Expanded expand_spec(std::string_view spec, const std::string& domain, bool explanation, std::string& out);
  std::optional<std::string> target(std::string_view spec, const std::string& domain);
  std::optional<std::vector<std::string>> validated_names();
  std::optional<std::string> validated_for(const std::string& domain);
  MacroContext context(const std::string& domain) const;

  const dns::Answer* fetch(std::string_view name, dns::RrType type);
  dns::RrType address_type() const { return ip_.v4 ? dns::RrType::A : dns::RrType::Aaaa; }
  bool holds_client(const dns::Answer& a, int cidr4, int cidr6) const;
  bool count_lookup();
  bool count_void();
  std::nullopt_t stop(Result r, std::string problem) {
    error_ = r;
    problem_ = std::move(problem);
    return std::nullopt;
  }

  const Input& in_;
  const std::string& sender_;
  const std::string& local_;
  const std::string& sender_domain_;
  const detail::Address ip_;
  const dns::Answers& answers_;

  std::vector<dns::Query> needed_;
  std::optional<Result> error_;
  std::string problem_;
  int lookups_ = 0;
  int voids_ = 0;
  std::string mechanism_;  // the top-level term that decided
  std::optional<std::string> exp_spec_;  // exp= of the record whose term gave Fail (§6.2)
  std::string exp_domain_;
  std::optional<std::vector<std::string>> validated_;  // %{p}: computed once per run
};

bool is_void(const dns::Answer& a) {
  return a.outcome == dns::Outcome::NxDomain || a.outcome == dns::Outcome::NoData ||
         (a.outcome == dns::Outcome::Answer && a.records.empty());
}

Result qualified(Qualifier q) {
  switch (q) {
    case Qualifier::Pass: return Result::Pass;
    case Qualifier::Fail: return Result::Fail;
    case Qualifier::SoftFail: return Result::SoftFail;
    case Qualifier::Neutral: return Result::Neutral;
  }
  return Result::Neutral;
}

const dns::Answer* Run::fetch(std::string_view name, dns::RrType type) {
  auto q = dns::make_query(name, type);
  if (const auto* a = answers_.find(q)) return a;
  needed_.push_back(std::move(q));
  return nullptr;
}

bool Run::holds_client(const dns::Answer& a, int cidr4, int cidr6) const {
  if (a.outcome != dns::Outcome::Answer) return false;
  for (const auto& r : a.records) {
    auto addr = detail::parse_address(r);
    if (addr && addr->v4 == ip_.v4 && detail::in_network(ip_, addr->octets, ip_.v4 ? cidr4 : cidr6)) return true;
  }
  return false;
}

bool Run::count_lookup() {  // RFC 7208 §4.6.4: checked before the lookup is made
  if (++lookups_ <= kMaxLookups) return true;
  stop(Result::PermError, fmt::format("more than {} DNS-querying terms (RFC 7208 section 4.6.4)", kMaxLookups));
  return false;
}

bool Run::count_void() {
  if (++voids_ <= kMaxVoidLookups) return true;
  stop(Result::PermError, fmt::format("more than {} void lookups (RFC 7208 section 4.6.4)", kMaxVoidLookups));
  return false;
}

MacroContext Run::context(const std::string& domain) const {
  MacroContext ctx;
  ctx.sender = sender_;
  ctx.local = local_;
  ctx.sender_domain = sender_domain_;
  ctx.domain = domain;
  ctx.ip = in_.ip;
  ctx.helo = in_.helo;
  ctx.receiver = in_.receiver;
  ctx.now = in_.now;
  return ctx;
}

// §5.5 as %{p} uses it: the first ten PTR names whose forward lookup holds the client.
// A DNS error on the PTR lookup leaves none; on a forward lookup, skips that name.
std::optional<std::vector<std::string>> Run::validated_names() {
  if (validated_) return validated_;
  auto ptr = dns::ptr_name(in_.ip);
  const dns::Answer* a = ptr ? fetch(*ptr, dns::RrType::Ptr) : nullptr;
  if (ptr && !a) return std::nullopt;
  std::vector<std::string> names;
  std::vector<dns::Query> missing;
  if (a && a->outcome == dns::Outcome::Answer) {
    for (std::size_t i = 0; i < a->records.size() && i < kMaxPtrNames; ++i) {
      auto name = detail::target_name(a->records[i]);
      if (!name) continue;
      auto q = dns::make_query(*name, address_type());
      const auto* fwd = answers_.find(q);
      if (!fwd) missing.push_back(std::move(q));
      else if (holds_client(*fwd, 32, 128)) names.push_back(*name);
    }
  }
  if (!missing.empty()) {
    needed_.insert(needed_.end(), missing.begin(), missing.end());
    return std::nullopt;
  }
  validated_ = std::move(names);
  return validated_;
}

// RFC 7208 §7.3 "p": the domain itself if validated, else a name below it, else any.
std::optional<std::string> Run::validated_for(const std::string& domain) {
  auto names = validated_names();
  if (!names) return std::nullopt;
  for (const auto& n : *names)
    if (text::iequals(n, domain)) return n;
  for (const auto& n : *names)
    if (detail::within(n, domain)) return n;
  return names->empty() ? std::string("unknown") : names->front();
}

Run::Expanded Run::expand_spec(std::string_view spec, const std::string& domain, bool explanation, std::string& out) {
  MacroContext ctx = context(domain);
  if (detail::uses_validated_name(spec)) {
    auto p = validated_for(domain);
    if (!p) return Expanded::Blocked;
    ctx.validated = std::move(*p);
  }
  auto e = expand(spec, ctx, explanation);
  if (!e) {
    out = e.error().detail;
    return Expanded::Invalid;
  }
  out = std::move(*e);
  return Expanded::Ok;
}

// §4.8: the <target-name> of a term; "" in the record means the current domain.
std::optional<std::string> Run::target(std::string_view spec, const std::string& domain) {
  if (spec.empty()) return domain;
  std::string expanded;
  switch (expand_spec(spec, domain, false, expanded)) {
    case Expanded::Blocked: return std::nullopt;
    case Expanded::Invalid: return stop(Result::PermError, fmt::format("{}: {}", shown(spec), expanded));
    case Expanded::Ok: break;
  }
  auto name = detail::target_name(expanded);
  if (!name) return stop(Result::PermError, fmt::format("'{}' is not a domain name (RFC 7208 section 4.8)", shown(expanded)));
  return name;
}

// §5.2: the included domain's pass is a match; its none is a permerror here.
std::optional<bool> Run::include(const Directive& d, const std::string& domain) {
  if (!count_lookup()) return std::nullopt;
  auto t = target(d.domain_spec, domain);
  if (!t) return std::nullopt;
  auto r = check_host(*t, true);
  if (!r) return std::nullopt;
  if (*r == Result::None) return stop(Result::PermError, fmt::format("include:{}: {}", shown(*t), problem_));
  return *r == Result::Pass;
}

// §5.3 "a" (A or AAAA as the connection is IPv4 or IPv6) and §5.7 "exists" (always A).
std::optional<bool> Run::address(const Directive& d, const std::string& domain, bool exists) {
  if (!count_lookup()) return std::nullopt;
  auto t = target(d.domain_spec, domain);
  if (!t) return std::nullopt;
  auto type = exists ? dns::RrType::A : address_type();
  const auto* a = fetch(*t, type);
  if (!a) return std::nullopt;
  if (a->outcome == dns::Outcome::Temporary)  // §5: a DNS error makes the whole check temperror
    return stop(Result::TempError, fmt::format("{} lookup of {} failed", dns::type_name(type), shown(*t)));
  if (is_void(*a)) return count_void() ? std::optional<bool>(false) : std::nullopt;
  return exists || holds_client(*a, d.cidr4, d.cidr6);
}

// §5.4: the exchanges' addresses are asked all at once; they are judged in order, so the
// result does not depend on which answers came first.
std::optional<bool> Run::mx(const Directive& d, const std::string& domain) {
  if (!count_lookup()) return std::nullopt;
  auto t = target(d.domain_spec, domain);
  if (!t) return std::nullopt;
  const auto* a = fetch(*t, dns::RrType::Mx);
  if (!a) return std::nullopt;
  if (a->outcome == dns::Outcome::Temporary) return stop(Result::TempError, fmt::format("MX lookup of {} failed", shown(*t)));
  if (is_void(*a)) return count_void() ? std::optional<bool>(false) : std::nullopt;  // no implicit MX (§5.4)
  if (a->records.size() > kMaxMxNames)
    return stop(Result::PermError, fmt::format("{} has more than {} MX records (RFC 7208 section 4.6.4)", shown(*t), kMaxMxNames));
  std::vector<dns::Query> missing;
  for (const auto& exchange : a->records) {
    auto name = detail::target_name(exchange);
    if (!name) continue;  // a null MX (RFC 7505) or a name we cannot ask for
    auto q = dns::make_query(*name, address_type());
    const auto* x = answers_.find(q);
    if (!x) {
      missing.push_back(std::move(q));
      continue;
    }
    if (!missing.empty()) continue;  // an earlier exchange is still unknown
    if (x->outcome == dns::Outcome::Temporary)
      return stop(Result::TempError, fmt::format("address lookup of {} failed", shown(*name)));
    if (holds_client(*x, d.cidr4, d.cidr6)) return true;
  }
  if (missing.empty()) return false;
  needed_.insert(needed_.end(), missing.begin(), missing.end());
  return std::nullopt;
}

// §5.5 "ptr": only names at or below the target are validated; errors only mean no match.
std::optional<bool> Run::ptr(const Directive& d, const std::string& domain) {
  if (!count_lookup()) return std::nullopt;
  auto t = target(d.domain_spec, domain);
  if (!t) return std::nullopt;
  auto ptr = dns::ptr_name(in_.ip);
  if (!ptr) return false;
  const auto* a = fetch(*ptr, dns::RrType::Ptr);
  if (!a) return std::nullopt;
  if (a->outcome == dns::Outcome::Temporary) return false;
  if (is_void(*a)) return count_void() ? std::optional<bool>(false) : std::nullopt;
  std::vector<dns::Query> missing;
  for (std::size_t i = 0; i < a->records.size() && i < kMaxPtrNames; ++i) {  // §4.6.4: the first ten
    auto name = detail::target_name(a->records[i]);
    if (!name || !detail::within(*name, *t)) continue;
    auto q = dns::make_query(*name, address_type());
    const auto* fwd = answers_.find(q);
    if (!fwd) missing.push_back(std::move(q));
    else if (holds_client(*fwd, 32, 128)) return true;
  }
  if (missing.empty()) return false;
  needed_.insert(needed_.end(), missing.begin(), missing.end());
  return std::nullopt;
}

std::optional<bool> Run::matches(const Directive& d, const std::string& domain) {
  switch (d.mechanism) {
    case Mechanism::All: return true;
    case Mechanism::Include: return include(d, domain);
    case Mechanism::A: return address(d, domain, false);
    case Mechanism::Exists: return address(d, domain, true);
    case Mechanism::Mx: return mx(d, domain);
    case Mechanism::Ptr: return ptr(d, domain);
    case Mechanism::Ip4:
    case Mechanism::Ip6:  // §5.6: an IPv4 client never matches ip6, nor IPv6 ip4
      return ip_.v4 == (d.mechanism == Mechanism::Ip4) && detail::in_network(ip_, d.network, ip_.v4 ? d.cidr4 : d.cidr6);
  }
  return false;
}

// §6.1: only when no mechanism matched; the target's result is ours, its none a permerror.
std::optional<Result> Run::redirect(const Record& rec, const std::string& domain, bool in_include) {
  if (!count_lookup()) return std::nullopt;
  auto t = target(*rec.redirect, domain);
  if (!t) return std::nullopt;
  auto r = check_host(*t, in_include);
  if (!r) return std::nullopt;
  if (*r == Result::None) return stop(Result::PermError, fmt::format("redirect={}: {}", shown(*t), problem_));
  return r;
}

std::optional<Result> Run::evaluate_record(const Record& rec, const std::string& domain, bool in_include) {
  for (const auto& d : rec.directives) {  // §4.6.2: left to right, the first match decides
    auto m = matches(d, domain);
    if (!m) return std::nullopt;
    if (!*m) continue;
    Result r = qualified(d.qualifier);
    if (!in_include) {
      mechanism_ = d.term;
      // §6.2: the explanation comes from the record that failed, never from an
      // include's record or from a record that redirected here.
      if (r == Result::Fail) exp_spec_ = rec.exp, exp_domain_ = domain;
    }
    return r;
  }
  if (rec.redirect) return redirect(rec, domain, in_include);
  if (!in_include) mechanism_ = "default";
  return Result::Neutral;  // §4.7
}

std::optional<Result> Run::check_host(const std::string& domain, bool in_include) {
  if (!detail::valid_domain(domain)) {  // §4.3
    problem_ = fmt::format("'{}' is not a valid domain (RFC 7208 section 4.3)", shown(domain));
    return Result::None;
  }
  const auto* a = fetch(domain, dns::RrType::Txt);  // §4.4
  if (!a) return std::nullopt;
  if (a->outcome == dns::Outcome::Temporary) return stop(Result::TempError, fmt::format("TXT lookup of {} failed", domain));
  const std::string* txt = nullptr;
  if (a->outcome == dns::Outcome::Answer) {
    for (const auto& r : a->records) {  // §4.5
      if (!is_spf_record(r)) continue;
      if (txt) return stop(Result::PermError, fmt::format("{} has more than one SPF record (RFC 7208 section 4.5)", domain));
      txt = &r;
    }
  }
  if (!txt) {
    problem_ = fmt::format("{} has no SPF record", domain);
    return Result::None;
  }
  auto rec = parse_record(*txt);
  if (!rec) return stop(Result::PermError, fmt::format("SPF record of {}: {}", domain, rec.error().detail));
  return evaluate_record(*rec, domain, in_include);
}

// §6.2: any trouble fetching or expanding the explanation just leaves it out.
std::optional<std::string> Run::explanation() {
  if (!exp_spec_) return std::string();
  std::string expanded;
  auto e = expand_spec(*exp_spec_, exp_domain_, false, expanded);
  if (e == Expanded::Blocked) return std::nullopt;
  auto name = e == Expanded::Ok ? detail::target_name(expanded) : std::nullopt;
  if (!name) return std::string();
  const auto* a = fetch(*name, dns::RrType::Txt);
  if (!a) return std::nullopt;
  if (a->outcome != dns::Outcome::Answer || a->records.size() != 1) return std::string();
  std::string text;
  e = expand_spec(a->records[0], exp_domain_, true, text);  // rejects octets outside US-ASCII
  if (e == Expanded::Blocked) return std::nullopt;
  if (e == Expanded::Invalid) return std::string();
  return shown(text, kMaxExplanation);  // macros can bring in any octet: one printable line
}

std::variant<Outcome, std::vector<dns::Query>> Run::run(Outcome o) {
  auto r = check_host(o.domain, false);
  std::optional<std::string> explained;
  if (r && *r == Result::Fail) explained = explanation();
  if (!needed_.empty()) {
    std::set<dns::Query> seen;
    std::vector<dns::Query> unique;
    for (auto& q : needed_)
      if (seen.insert(q).second) unique.push_back(std::move(q));
    return unique;
  }
  o.result = r ? *r : error_.value_or(Result::PermError);
  o.lookups = std::min(lookups_, kMaxLookups);
  if (o.result == Result::None || o.result == Result::TempError || o.result == Result::PermError) {
    o.problem = problem_;
  } else {
    o.mechanism = mechanism_;
    if (explained) o.explanation = std::move(*explained);
  }
  return o;
}

}  // namespace

std::string_view name(Result r) {
  switch (r) {
    case Result::None: return "none";
    case Result::Neutral: return "neutral";
    case Result::Pass: return "pass";
    case Result::Fail: return "fail";
    case Result::SoftFail: return "softfail";
    case Result::TempError: return "temperror";
    case Result::PermError: return "permerror";
  }
  return "none";
}

// §2.3, §2.4, §4.3: the null sender and the HELO identity check postmaster@<helo>; a
// sender without a local part is postmaster at its domain.
Check::Check(Input input, Identity identity) : input_(std::move(input)), identity_(identity) {
  auto at = input_.sender.rfind('@');
  if (identity_ == Identity::Helo || input_.sender.empty()) {
    local_ = "postmaster";
    domain_ = input_.helo;
  } else if (at == std::string::npos) {
    local_ = input_.sender;  // no domain: check_host() returns none (§4.3)
  } else {
    local_ = input_.sender.substr(0, at);
    domain_ = input_.sender.substr(at + 1);
    if (local_.empty()) local_ = "postmaster";
  }
  sender_ = local_ + "@" + domain_;
  domain_ = dns::canonical_name(domain_);
}

std::variant<Outcome, std::vector<dns::Query>> Check::evaluate(const dns::Answers& answers) const {
  Outcome o;
  o.identity = identity_;
  o.domain = domain_;
  o.sender = sender_;
  auto ip = detail::parse_address(input_.ip);
  if (!ip) {
    o.problem = fmt::format("'{}' is not an IP address", shown(input_.ip));
    return o;
  }
  Run run(input_, sender_, local_, domain_, *ip, answers);
  return run.run(std::move(o));
}

}  // namespace valija::policy::spf
