// The tag-list syntax (RFC 6376 §3.2), DKIM-Signature fields (§3.5) and key records
// (§3.6.1, RFC 8463 §4.2).
#include <algorithm>
#include <limits>
#include <tuple>

#include <fmt/format.h>

#include "base/text.hpp"
#include "policy/dkim_internal.hpp"

namespace valija::policy::dkim {
namespace detail {

std::string strip_fws(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s)
    if (!is_fws(c)) out.push_back(c);
  return out;
}


std::vector<std::string> split_list(std::string_view value) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos <= value.size()) {
    auto colon = value.find(':', pos);
    if (colon == std::string_view::npos) colon = value.size();
    out.push_back(text::to_lower(trim_fws(value.substr(pos, colon - pos))));
    pos = colon + 1;
  }
  return out;
}

// RFC 6376 §3.5 d= and s= (and the i= domain): dot-separated labels of letters, digits,
// '-' and '_' (selectors and some domains use '_'), 63 octets each, 253 in all.
bool valid_domain(std::string_view d) {
  if (d.empty() || d.size() > 253) return false;
  std::size_t label = 0;
  for (char c : d) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok || ++label > 63) return false;
  }
  return label > 0;
}

}  // namespace detail

std::string_view algorithm_name(Algorithm a) {
  return a == Algorithm::Ed25519Sha256 ? "ed25519-sha256" : "rsa-sha256";
}

Result<Algorithm> parse_algorithm(std::string_view a) {
  if (a == "rsa-sha256") return Algorithm::RsaSha256;
  if (a == "ed25519-sha256") return Algorithm::Ed25519Sha256;
  if (a == "rsa-sha1") return fail(Errc::Permission, "rsa-sha1 is not accepted (RFC 8301)");
  return fail(Errc::Invalid, fmt::format("unknown algorithm a={}", a));
}

namespace {

using detail::find_tag;
using detail::Tag;
using detail::valid_domain;

constexpr std::size_t kMaxSignatureOctets = 1024;  // b= of a 4096-bit RSA key is 512
constexpr std::size_t kMaxKeyOctets = 4096;        // p= of a 4096-bit RSA key is 550

std::optional<Canon> parse_canon(std::string_view c) {
  if (c == "simple") return Canon::Simple;
  if (c == "relaxed") return Canon::Relaxed;
  return std::nullopt;
}

// c= header/body; a header method alone means a simple body (§3.5).
Result<std::pair<Canon, Canon>> parse_canons(const Tag* c) {
  if (!c) return std::pair{Canon::Simple, Canon::Simple};
  auto slash = c->value.find('/');
  auto h = parse_canon(c->value.substr(0, slash));
  auto b = slash == std::string_view::npos ? std::optional{Canon::Simple} : parse_canon(c->value.substr(slash + 1));
  if (!h || !b) return fail(Errc::Invalid, fmt::format("unknown canonicalization c={}", c->value));
  return std::pair{*h, *b};
}

Result<std::vector<std::string>> parse_signed_headers(std::string_view h) {
  auto names = detail::split_list(h);
  if (names.size() > kLimits.signed_headers) return fail(Errc::Invalid, "too many h= entries");
  bool from = false;
  for (const auto& n : names) {
    if (n.empty()) return fail(Errc::Invalid, "empty name in h=");
    for (char c : n)
      if (c < 0x21 || c > 0x7e) return fail(Errc::Invalid, "bad field name in h=");
    from = from || n == "from";
  }
  // RFC 6376 §6.1.1: a signature that does not cover From is unacceptable.
  if (!from) return fail(Errc::Invalid, "h= does not include From");
  return names;
}

Result<std::optional<std::int64_t>> parse_time(const Tag* t) {
  if (!t) return std::optional<std::int64_t>{};
  auto v = text::parse_u64(t->value);
  if (!v || *v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
    return fail(Errc::Invalid, fmt::format("bad {}= value", t->name));
  return std::optional{static_cast<std::int64_t>(*v)};
}

// i= (the AUID): [local-part] "@" domain, the domain d= or under it (§3.5).
Result<std::string> parse_auid(const Tag* i, const std::string& d) {
  if (!i) return "@" + d;
  auto at = i->value.rfind('@');
  if (at == std::string_view::npos) return fail(Errc::Invalid, "i= without '@'");
  auto domain = text::to_lower(i->value.substr(at + 1));
  if (!valid_domain(domain)) return fail(Errc::Invalid, "bad domain in i=");
  if (domain != d && !(domain.size() > d.size() && domain.ends_with("." + d)))
    return fail(Errc::Invalid, "i= domain is not d= or under it");
  return std::string(i->value);
}

Result<std::string> decode_field(const Tag* t, std::size_t max_out) {
  auto bytes = detail::base64_decode(t->value, max_out);
  if (!bytes || bytes->empty()) return fail(Errc::Invalid, fmt::format("bad base64 in {}=", t->name));
  return std::move(*bytes);
}

Result<Signature> signature_from_tags(const std::vector<Tag>& tags) {
  for (const char* required : {"v", "a", "b", "bh", "d", "h", "s"})
    if (!find_tag(tags, required)) return fail(Errc::Invalid, fmt::format("missing {}= tag", required));
  if (find_tag(tags, "v")->value != "1") return fail(Errc::Invalid, "unsupported version v=");
  Signature s;
  auto alg = parse_algorithm(find_tag(tags, "a")->value);
  if (!alg) return tl::unexpected(alg.error());
  s.algorithm = *alg;
  auto b = decode_field(find_tag(tags, "b"), kMaxSignatureOctets);
  if (!b) return tl::unexpected(b.error());
  s.signature = std::move(*b);
  s.b_text = detail::strip_fws(find_tag(tags, "b")->value);
  auto bh = decode_field(find_tag(tags, "bh"), kMaxSignatureOctets);
  if (!bh) return tl::unexpected(bh.error());
  if (bh->size() != 32) return fail(Errc::Invalid, "bh= is not a SHA-256 hash");
  s.body_hash = std::move(*bh);
  auto canons = parse_canons(find_tag(tags, "c"));
  if (!canons) return tl::unexpected(canons.error());
  std::tie(s.header_canon, s.body_canon) = *canons;
  s.domain = text::to_lower(find_tag(tags, "d")->value);
  if (!valid_domain(s.domain)) return fail(Errc::Invalid, "bad d= domain");
  s.selector = std::string(find_tag(tags, "s")->value);
  if (!valid_domain(s.selector)) return fail(Errc::Invalid, "bad s= selector");
  auto h = parse_signed_headers(find_tag(tags, "h")->value);
  if (!h) return tl::unexpected(h.error());
  s.headers = std::move(*h);
  auto auid = parse_auid(find_tag(tags, "i"), s.domain);
  if (!auid) return tl::unexpected(auid.error());
  s.auid = std::move(*auid);
  return s;
}

// l=, q=, t=, x=: the optional tags.
Result<Signature> add_optional_tags(Signature s, const std::vector<Tag>& tags) {
  if (const Tag* l = find_tag(tags, "l")) {
    s.length = text::parse_u64(l->value);
    if (!s.length) return fail(Errc::Invalid, "bad l= value");
  }
  if (const Tag* q = find_tag(tags, "q")) {
    auto methods = detail::split_list(q->value);
    if (std::find(methods.begin(), methods.end(), "dns/txt") == methods.end())
      return fail(Errc::Invalid, "no known query method in q=");
  }
  auto t = parse_time(find_tag(tags, "t"));
  if (!t) return tl::unexpected(t.error());
  auto x = parse_time(find_tag(tags, "x"));
  if (!x) return tl::unexpected(x.error());
  s.timestamp = *t;
  s.expiration = *x;
  if (s.timestamp && s.expiration && *s.expiration < *s.timestamp) return fail(Errc::Invalid, "x= is before t=");
  return s;
}

}  // namespace

Result<Signature> parse_signature(std::string_view field_value) {
  if (field_value.size() > kLimits.signature_field) return fail(Errc::Invalid, "DKIM-Signature too long");
  auto tags = detail::parse_tag_list(field_value);
  if (!tags) return tl::unexpected(tags.error());
  auto s = signature_from_tags(*tags);
  if (!s) return s;
  auto full = add_optional_tags(std::move(*s), *tags);
  if (full) full->field = "DKIM-Signature:" + std::string(field_value);
  return full;
}

Result<KeyRecord> parse_key_record(std::string_view txt) {
  if (txt.size() > kLimits.key_record) return fail(Errc::Invalid, "key record too long");
  auto tags = detail::parse_tag_list(txt);
  if (!tags) return tl::unexpected(tags.error());
  // RFC 6376 §3.6.1: v= is optional, but if present it is the first tag and "DKIM1".
  if (const Tag* v = find_tag(*tags, "v"); v && (v != &tags->front() || v->value != "DKIM1"))
    return fail(Errc::Invalid, "v= is not DKIM1 or not first");
  KeyRecord k;
  if (const Tag* t = find_tag(*tags, "k")) {
    if (t->value == "ed25519") k.type = KeyType::Ed25519;
    else if (t->value != "rsa") return fail(Errc::Invalid, fmt::format("unknown key type k={}", t->value));
  }
  const Tag* p = find_tag(*tags, "p");
  if (!p) return fail(Errc::Invalid, "missing p= tag");
  if (!p->value.empty()) {  // an empty p= is a revoked key (§3.6.1)
    auto key = detail::base64_decode(p->value, kMaxKeyOctets);
    if (!key || key->empty()) return fail(Errc::Invalid, "bad base64 in p=");
    k.public_key = std::move(*key);
  }
  if (const Tag* h = find_tag(*tags, "h")) k.hashes = detail::split_list(h->value);
  k.services = {"*"};
  if (const Tag* s = find_tag(*tags, "s")) k.services = detail::split_list(s->value);
  if (const Tag* t = find_tag(*tags, "t")) {
    for (const auto& flag : detail::split_list(t->value)) {
      k.testing = k.testing || flag == "y";
      k.strict = k.strict || flag == "s";
    }
  }
  return k;
}

}  // namespace valija::policy::dkim
