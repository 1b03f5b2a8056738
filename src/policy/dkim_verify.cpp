// DKIM verification (RFC 6376 §6): the signatures of a message, then each one against
// its key record. Results are RFC 8601 §2.7.1's.
#include <algorithm>

#include <fmt/format.h>

#include "base/text.hpp"
#include "policy/dkim_canon.hpp"
#include "policy/dkim_internal.hpp"

namespace valija::policy::dkim {
namespace {

using R = Verdict::Result;

struct Outcome {
  R result;
  std::string reason;
};
using Check = std::optional<Outcome>;  // nullopt: nothing wrong so far

constexpr std::size_t kShown = 255;  // octets of a malformed tag kept for reports

bool contains(const std::vector<std::string>& list, std::string_view item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

Verdict base_verdict(const Signature& s) {
  Verdict v;
  v.domain = s.domain;
  v.selector = s.selector;
  v.auid = s.auid;
  v.algorithm = std::string(algorithm_name(s.algorithm));
  v.b_prefix = s.b_text.substr(0, 8);
  return v;
}

// A field that did not parse still names its signer when its tags can be read, so the
// report shows whose signature was broken (RFC 8601 §2.7.1 permerror, policy).
Verdict malformed_verdict(std::string_view value, const Error& e) {
  Verdict v;
  v.result = e.code == Errc::Permission ? R::Policy : R::PermError;
  v.reason = e.detail;
  auto tags = detail::parse_tag_list(value);
  if (!tags) return v;
  auto get = [&](std::string_view name) {
    const detail::Tag* t = detail::find_tag(*tags, name);
    return t ? detail::strip_fws(t->value).substr(0, kShown) : std::string();
  };
  v.domain = text::to_lower(get("d"));
  v.selector = get("s");
  v.auid = get("i");
  v.algorithm = get("a");
  v.b_prefix = get("b").substr(0, 8);
  return v;
}

Check check_expiry(const Signature& s, std::int64_t now) {
  if (s.expiration && now > *s.expiration && now - *s.expiration > kLimits.expiry_skew)
    return Outcome{R::Fail, "signature expired"};  // RFC 6376 §6.1.1
  return std::nullopt;
}

// RFC 6376 §6.1.2: no record is a permanent failure, a failed lookup a temporary one;
// of several records the first that parses is used.
Check key_from_answer(const dns::Answer& a, KeyRecord& out) {
  if (a.outcome == dns::Outcome::Temporary)
    return Outcome{R::TempError, a.detail.empty() ? "key lookup failed" : "key lookup failed: " + a.detail};
  if (a.outcome != dns::Outcome::Answer || a.records.empty()) return Outcome{R::PermError, "no key for signature"};
  std::string first_error;
  for (std::size_t i = 0; i < a.records.size() && i < kLimits.key_records; ++i) {
    auto k = parse_key_record(a.records[i]);
    if (k) {
      out = std::move(*k);
      return std::nullopt;
    }
    if (first_error.empty()) first_error = k.error().detail;
  }
  return Outcome{R::PermError, "no valid key record: " + first_error};
}

// RFC 6376 §3.6.1 and §6.1.2: what the key record allows.
Check check_key(const Signature& s, const KeyRecord& k) {
  if (k.public_key.empty()) return Outcome{R::PermError, "key revoked"};
  KeyType want = s.algorithm == Algorithm::Ed25519Sha256 ? KeyType::Ed25519 : KeyType::Rsa;
  if (k.type != want) return Outcome{R::PermError, "key type does not match a="};
  if (!k.hashes.empty() && !contains(k.hashes, "sha256")) return Outcome{R::PermError, "key h= does not allow sha256"};
  if (!contains(k.services, "*") && !contains(k.services, "email"))
    return Outcome{R::PermError, "key s= is not for email"};
  if (k.strict) {
    auto domain = text::to_lower(std::string_view(s.auid).substr(s.auid.rfind('@') + 1));
    if (domain != s.domain) return Outcome{R::PermError, "key t=s requires the i= domain to equal d="};
  }
  return std::nullopt;
}

const HeaderField* own_field(const MessageParts& m, std::string_view message, const Pending& p) {
  for (const auto& f : m.fields)
    if (static_cast<std::size_t>(f.raw.data() - message.data()) == p.field_offset)
      return f.raw == p.sig.field ? &f : nullptr;
  return nullptr;
}

// RFC 6376 §3.7: the signed header fields in h= order, then this signature's own field
// with b= emptied and no final CRLF.
std::string header_data(const MessageParts& m, const Signature& s, const HeaderField& self) {
  std::string data;
  for (const HeaderField* f : select_headers(m, s.headers, &self)) append_canon_header(data, s.header_canon, f->raw);
  std::string own = canon_header(s.header_canon, blank_b_value(self.raw));
  own.resize(own.size() - 2);
  return data + own;
}

Outcome check_message(std::string_view message, const Pending& p, EVP_PKEY* key) {
  const Signature& s = p.sig;
  auto m = split_message(message);
  if (m.too_many_fields)
    return {R::PermError, fmt::format("more than {} header fields", kLimits.header_fields)};
  const HeaderField* self = own_field(m, message, p);
  if (!self) return {R::PermError, "signature field not found in the message"};
  auto bh = detail::body_hash(s.body_canon, m.body, s.length);
  if (s.length && *s.length > bh.length) return {R::Fail, "l= is longer than the body"};  // §3.5 l=
  if (bh.digest != s.body_hash) return {R::Fail, "body hash mismatch"};
  if (!detail::verify_headers(key, s.algorithm, header_data(m, s, *self), s.signature))
    return {R::Fail, "signature did not verify"};
  // §8.2: content after l= is not covered, so anyone may have appended it (a whole new
  // text part after a signed empty body). The signature verified, but we do not accept
  // it as authenticating the message: RFC 8601 §2.7.1 "policy", never a pass DMARC uses.
  if (s.length && bh.length > *s.length)
    return {R::Policy, fmt::format("l= leaves {} octets unsigned", bh.length - *s.length)};
  return {R::Pass, ""};
}

Outcome evaluate(std::string_view message, const Pending& p, const dns::Answer& answer, std::int64_t now,
                 bool& testing) {
  if (auto o = check_expiry(p.sig, now)) return *o;
  KeyRecord key;
  if (auto o = key_from_answer(answer, key)) return *o;
  testing = key.testing;
  if (auto o = check_key(p.sig, key)) return *o;
  auto pkey = detail::load_public_key(key.type, key.public_key);
  if (!pkey) return {R::PermError, pkey.error().detail};
  return check_message(message, p, pkey->get());
}

}  // namespace

std::string_view result_name(Verdict::Result r) {
  switch (r) {
    case R::Pass: return "pass";
    case R::Fail: return "fail";
    case R::Neutral: return "neutral";
    case R::Policy: return "policy";
    case R::TempError: return "temperror";
    case R::PermError: return "permerror";
  }
  return "permerror";
}

bool authenticates(const Verdict& v) { return v.result == R::Pass && !v.testing; }

Found signatures(std::string_view message, std::size_t max_signatures) {
  Found found;
  auto m = split_message(message);
  std::size_t seen = 0;
  for (const auto& f : m.fields) {
    if (!text::iequals(f.name, "DKIM-Signature")) continue;
    if (seen++ >= max_signatures) break;
    auto value = f.raw.substr(f.raw.find(':') + 1);
    if (m.too_many_fields) {
      auto e = Error{Errc::Invalid, fmt::format("more than {} header fields", kLimits.header_fields)};
      found.malformed.push_back(malformed_verdict(value, e));
      continue;
    }
    auto sig = parse_signature(value);
    if (!sig) {
      found.malformed.push_back(malformed_verdict(value, sig.error()));
      continue;
    }
    sig->field = std::string(f.raw);
    // RFC 6376 §3.6.2.1: the key is the TXT record at <selector>._domainkey.<domain>.
    auto query = dns::make_query(sig->selector + "._domainkey." + sig->domain, dns::RrType::Txt);
    auto offset = static_cast<std::size_t>(f.raw.data() - message.data());
    found.pending.push_back({std::move(*sig), std::move(query), offset});
  }
  return found;
}

Verdict verify(std::string_view message, const Pending& p, const dns::Answer& key_answer, std::int64_t now) {
  Verdict v = base_verdict(p.sig);
  auto outcome = evaluate(message, p, key_answer, now, v.testing);
  v.result = outcome.result;
  v.reason = std::move(outcome.reason);
  return v;
}

}  // namespace valija::policy::dkim
