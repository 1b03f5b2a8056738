#include "queue/srs.hpp"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "base/text.hpp"

namespace valija::queue {
namespace {

constexpr std::string_view kBase32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
constexpr std::int64_t kDay = 86400;
constexpr int kTimestampCycle = 1024;  // two base32 characters
constexpr std::size_t kMaxLocal = 64;  // RFC 5321 §4.5.3.1.1

std::string timestamp(std::int64_t now) {
  auto t = static_cast<int>((now / kDay) % kTimestampCycle);
  return {kBase32[(t >> 5) & 31], kBase32[t & 31]};
}

std::optional<int> decode_timestamp(std::string_view s) {
  if (s.size() != 2) return std::nullopt;
  int t = 0;
  for (char c : s) {
    auto at = kBase32.find(static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c));
    if (at == std::string_view::npos) return std::nullopt;
    t = t * 32 + static_cast<int>(at);
  }
  return t;
}

bool is_sep(char c) { return c == '=' || c == '+' || c == '-'; }

}  // namespace

std::string Srs::hash(std::string_view data) const {
  std::string lower = text::to_lower(data);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha1(), secret_.data(), static_cast<int>(secret_.size()), reinterpret_cast<const unsigned char*>(lower.data()),
       lower.size(), md, &len);
  unsigned char b64[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
  EVP_EncodeBlock(b64, md, static_cast<int>(len));
  return std::string(reinterpret_cast<char*>(b64), 4);
}

// Compared without regard to case: some MTAs fold local parts to lower case.
bool Srs::hash_ok(std::string_view given, std::string_view data) const {
  return text::iequals(given, hash(data));
}

bool Srs::is_srs(std::string_view local) {
  return local.size() > 5 && (text::istarts_with(local, "SRS0") || text::istarts_with(local, "SRS1")) && is_sep(local[4]);
}

std::optional<std::string> Srs::forward(std::string_view local, std::string_view domain, std::string_view our_domain,
                                        std::int64_t now) const {
  (void)our_domain;  // the rewritten address is local@our_domain; the form depends only on the input
  std::string out;
  if (text::istarts_with(local, "SRS1") && local.size() > 5 && is_sep(local[4])) {
    // Already twice forwarded: keep the first forwarder and the SRS0 part, hash anew.
    // (A local part only shaped like SRS1 is rewritten as any other, below.)
    auto rest = local.substr(5);
    auto hash_end = rest.find('=');
    auto tail = hash_end == std::string_view::npos ? std::string_view() : rest.substr(hash_end + 1);
    auto first_end = tail.find('=');
    if (first_end != std::string_view::npos && first_end > 0 && first_end + 1 < tail.size() &&
        is_sep(tail[first_end + 1])) {
      auto first = tail.substr(0, first_end);
      auto srs0_rest = tail.substr(first_end + 1);  // "=HHHH=TT=orig=user"
      out = fmt::format("SRS1={}={}={}", hash(std::string(first) + std::string(srs0_rest)), first, srs0_rest);
    }
  } else if (text::istarts_with(local, "SRS0") && local.size() > 5 && is_sep(local[4])) {
    // Forwarded once already (by `domain`): SRS1 names that forwarder.
    auto srs0_rest = local.substr(4);  // "=HHHH=TT=orig=user", separator included
    out = fmt::format("SRS1={}={}={}", hash(std::string(domain) + std::string(srs0_rest)), domain, srs0_rest);
  }
  if (out.empty()) {
    auto ts = timestamp(now);
    out = fmt::format("SRS0={}={}={}={}", hash(ts + std::string(domain) + std::string(local)), ts, domain, local);
  }
  if (out.size() > kMaxLocal) return std::nullopt;
  return out;
}

Result<std::string> Srs::reverse(std::string_view local, std::int64_t now) const {
  if (!is_srs(local)) return fail(Errc::Invalid, "not an SRS address");
  bool srs1 = local[3] == '1';
  auto rest = local.substr(5);
  auto hash_end = rest.find('=');
  if (hash_end == std::string_view::npos) return fail(Errc::Invalid, "malformed SRS address");
  auto given = rest.substr(0, hash_end);
  rest.remove_prefix(hash_end + 1);
  if (srs1) {
    // first.example==HHHH=TT=orig=user: the SRS0 address at the first forwarder.
    auto first_end = rest.find('=');
    if (first_end == std::string_view::npos || first_end == 0) return fail(Errc::Invalid, "malformed SRS1 address");
    auto first = rest.substr(0, first_end);
    auto srs0_rest = rest.substr(first_end + 1);
    if (srs0_rest.empty() || !is_sep(srs0_rest[0])) return fail(Errc::Invalid, "malformed SRS1 address");
    if (!hash_ok(given, std::string(first) + std::string(srs0_rest)))
      return fail(Errc::Permission, "SRS1 hash does not verify");
    return fmt::format("SRS0{}@{}", srs0_rest, first);
  }
  // TT=orig.example=user
  if (rest.size() < 3 || rest[2] != '=') return fail(Errc::Invalid, "malformed SRS0 address");
  auto ts = rest.substr(0, 2);
  rest.remove_prefix(3);
  auto domain_end = rest.find('=');
  if (domain_end == std::string_view::npos || domain_end == 0 || domain_end + 1 == rest.size())
    return fail(Errc::Invalid, "malformed SRS0 address");
  auto domain = rest.substr(0, domain_end);
  auto user = rest.substr(domain_end + 1);
  if (!hash_ok(given, std::string(ts) + std::string(domain) + std::string(user)))
    return fail(Errc::Permission, "SRS0 hash does not verify");
  auto then = decode_timestamp(ts);
  if (!then) return fail(Errc::Invalid, "malformed SRS0 timestamp");
  int today = static_cast<int>((now / kDay) % kTimestampCycle);
  int age = (today - *then + kTimestampCycle) % kTimestampCycle;
  if (age > max_age_) return fail(Errc::Permission, fmt::format("SRS0 address expired ({} days old)", age));
  return fmt::format("{}@{}", user, domain);
}

}  // namespace valija::queue
