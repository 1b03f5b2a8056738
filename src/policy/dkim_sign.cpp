// DKIM signing (RFC 6376 §5) and keys: generation, p= values, key records.
#include <algorithm>
#include <limits>
#include <unordered_map>

#include <fmt/format.h>

#include "base/text.hpp"
#include "policy/dkim_canon.hpp"
#include "policy/dkim_internal.hpp"

namespace valija::policy::dkim {
namespace {

constexpr std::size_t kFoldAt = 76;  // columns: RFC 5322 §2.1.1 asks for lines under 78

// Named once more than they appear, so that none can be added after signing (RFC 6376
// §8.15): the fields a reader sees and replies to.
const std::vector<std::string> kOversigned = {"from", "to", "cc", "subject", "reply-to"};

// Builds a folded header field: words go on the line while it stays under kFoldAt
// columns, otherwise after CRLF and one SP (RFC 5322 §2.2.3).
class Folder {
 public:
  explicit Folder(std::string_view start) : out_(start), column_(start.size()) {}
  // `space`: a SP separates the word from the previous one when both share a line.
  void word(std::string_view w, bool space = true) {
    // Never a fold on a line that holds nothing yet: a line of only WSP is not allowed
    // (RFC 5322 §3.2.2); a word longer than a line just makes a long line.
    if (column_ + (space ? 1 : 0) + w.size() > kFoldAt && column_ > 1) {
      fold();
    } else if (space) {
      out_.push_back(' ');
      ++column_;
    }
    out_.append(w);
    column_ += w.size();
  }
  // Characters that may be folded anywhere (base64: RFC 6376 §2.4 allows FWS inside).
  void run(std::string_view s) {
    while (!s.empty()) {
      if (column_ >= kFoldAt) fold();
      auto take = std::min(s.size(), kFoldAt - column_);
      out_.append(s.substr(0, take));
      column_ += take;
      s.remove_prefix(take);
    }
  }
  const std::string& text() const { return out_; }

 private:
  void fold() {
    out_ += "\r\n ";
    column_ = 1;
  }
  std::string out_;
  std::size_t column_;
};

// h=: each default field once per instance present, the oversigned ones once more.
Result<std::vector<std::string>> names_to_sign(const MessageParts& m) {
  std::unordered_map<std::string, std::size_t> present;
  for (const auto& f : m.fields)
    if (!f.name.empty()) ++present[text::to_lower(f.name)];
  if (present["from"] != 1) return fail(Errc::Invalid, "a message to sign needs exactly one From field");
  std::vector<std::string> names;
  for (const auto& n : default_signed_headers()) {
    auto count = present[n] + (std::find(kOversigned.begin(), kOversigned.end(), n) != kOversigned.end() ? 1 : 0);
    names.insert(names.end(), count, n);
  }
  if (names.size() > kLimits.signed_headers) return fail(Errc::Limit, "too many header fields to sign");
  return names;
}

// The field with everything but the b= value, which comes last (RFC 6376 §3.5 tags).
std::string_view canon_name(Canon c) { return c == Canon::Relaxed ? "relaxed" : "simple"; }

Folder unsigned_field(const Key& key, const SignOptions& o, const std::vector<std::string>& names,
                      std::string_view body_hash, std::int64_t now) {
  Folder f("DKIM-Signature:");
  f.word("v=1;");
  f.word(fmt::format("a={};", algorithm_name(key.algorithm)));
  f.word(fmt::format("c={}/{};", canon_name(o.header_canon), canon_name(o.body_canon)));
  f.word(fmt::format("d={};", key.domain));
  if (!o.auid.empty()) f.word(fmt::format("i={};", o.auid));
  f.word(fmt::format("s={};", key.selector));
  f.word(fmt::format("t={};", now));
  if (o.expire_after > 0) f.word(fmt::format("x={};", now + o.expire_after));
  for (std::size_t i = 0; i < names.size(); ++i)  // folded only after a ':' (§3.5 h=)
    f.word(fmt::format("{}{}{}", i == 0 ? "h=" : "", names[i], i + 1 < names.size() ? ":" : ";"), i == 0);
  f.word(fmt::format("bh={};", detail::base64_encode(body_hash)));
  f.word("b=");
  return f;
}

// i= is written into the tag-list as given: VALCHARs only, "@", and under d= (§3.5).
bool valid_auid(std::string_view auid, std::string_view domain) {
  auto at = auid.rfind('@');
  if (at == std::string_view::npos) return false;
  for (char c : auid)
    if (c < 0x21 || c > 0x7e || c == ';') return false;
  auto d = text::to_lower(auid.substr(at + 1));
  auto want = text::to_lower(domain);
  return d == want || (d.size() > want.size() && d.ends_with("." + want));
}

Result<void> check_signable(std::string_view message, const Key& key, std::int64_t now, const SignOptions& o,
                            const MessageParts& m) {
  if (!detail::valid_domain(key.domain) || !detail::valid_domain(key.selector))
    return fail(Errc::Invalid, "bad signing domain or selector");
  if (!o.auid.empty() && !valid_auid(o.auid, key.domain)) return fail(Errc::Invalid, "i= must be an address under d=");
  if (now < 0 || o.expire_after < 0 || o.expire_after > std::numeric_limits<std::int64_t>::max() - now)
    return fail(Errc::Invalid, "bad signing time or expiry");
  // A first line starting with WSP would fold into the field prepended to it.
  if (!message.empty() && detail::is_wsp(message.front()))
    return fail(Errc::Invalid, "message starts with a continuation line");
  if (m.too_many_fields || m.fields.size() + 1 > kLimits.header_fields)
    return fail(Errc::Limit, fmt::format("more than {} header fields", kLimits.header_fields));
  return {};
}

}  // namespace

const std::vector<std::string>& default_signed_headers() {
  // RFC 6376 §5.4.1, plus Sender, Message-ID, Resent-Sender/-Message-ID (RFC 5322
  // §3.6), the MIME fields (their change alters what is shown) and
  // List-Unsubscribe-Post (RFC 8058 §4).
  static const std::vector<std::string> names = {
      "from", "sender", "reply-to", "subject", "date", "message-id", "to", "cc",
      "mime-version", "content-type", "content-transfer-encoding",
      "resent-date", "resent-from", "resent-sender", "resent-to", "resent-cc", "resent-message-id",
      "in-reply-to", "references",
      "list-id", "list-help", "list-unsubscribe", "list-subscribe", "list-post", "list-owner", "list-archive",
      "list-unsubscribe-post"};
  return names;
}

Result<std::string> sign(std::string_view message, const Key& key, std::int64_t now, std::int64_t expire_after) {
  SignOptions o;
  o.expire_after = expire_after;
  return sign(message, key, now, o);
}

Result<std::string> sign(std::string_view message, const Key& key, std::int64_t now, const SignOptions& o) {
  auto m = split_message(message);
  if (auto ok = check_signable(message, key, now, o, m); !ok) return tl::unexpected(ok.error());
  auto names = names_to_sign(m);
  if (!names) return tl::unexpected(names.error());
  auto pkey = detail::load_private_key(key.private_key_pem, key.algorithm);
  if (!pkey) return tl::unexpected(pkey.error());
  auto bh = detail::body_hash(o.body_canon, m.body, std::nullopt);
  Folder field = unsigned_field(key, o, *names, bh.digest, now);
  // RFC 6376 §3.7: the selected fields, then this field with an empty b= and no CRLF.
  std::string data;
  for (const HeaderField* f : select_headers(m, *names, nullptr)) append_canon_header(data, o.header_canon, f->raw);
  std::string own = canon_header(o.header_canon, field.text());
  own.resize(own.size() - 2);
  auto sig = detail::sign_headers(pkey->get(), key.algorithm, data + own);
  if (!sig) return tl::unexpected(sig.error());
  field.run(detail::base64_encode(*sig));
  return field.text() + "\r\n";
}

Result<GeneratedKey> generate_key(Algorithm a, int rsa_bits) {
  auto k = detail::generate(a, rsa_bits);
  if (!k) return tl::unexpected(k.error());
  auto pem = detail::private_key_pem(k->get());
  if (!pem) return tl::unexpected(pem.error());
  auto pub = detail::public_key_octets(k->get(), a);
  if (!pub) return tl::unexpected(pub.error());
  return GeneratedKey{std::move(*pem), detail::base64_encode(*pub)};
}

Result<std::string> public_key_of(std::string_view private_key_pem, Algorithm a) {
  auto k = detail::load_private_key(private_key_pem, a);
  if (!k) return tl::unexpected(k.error());
  auto pub = detail::public_key_octets(k->get(), a);
  if (!pub) return tl::unexpected(pub.error());
  return detail::base64_encode(*pub);
}

std::string key_record(Algorithm a, std::string_view public_key_b64) {
  return fmt::format("v=DKIM1; k={}; p={}", a == Algorithm::Ed25519Sha256 ? "ed25519" : "rsa", public_key_b64);
}

}  // namespace valija::policy::dkim
