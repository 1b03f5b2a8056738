#pragma once
// MIME parameters (RFC 2045 §5.1) and the RFC 2231 extensions: continuations and charset /
// language tagged values.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace valija::mail {

struct MimeParam {
  std::string name;   // as written (RFC 2045: compared case-insensitively)
  std::string value;  // quoted-string unquoted
  friend bool operator==(const MimeParam&, const MimeParam&) = default;
};

// Joins RFC 2231 parameters for BODYSTRUCTURE the way RFC 9051 §7.5.2 asks ("decode them per
// RFC 2231, convert to UTF-8, concatenate, and return the resulting value as a parameter foo*"):
//  - `x*0="a"; x*1="b"` becomes `x="ab"` (RFC 2231 §3);
//  - when any piece is charset-tagged (`x*=` or `x*N*=`, RFC 2231 §4, §4.1), the result is
//    `x*` = `utf-8'<language>'<percent-encoded UTF-8>`: decoded, converted to UTF-8 from the
//    declared charset, and re-encoded so the value stays 7-bit and any client that reads
//    RFC 2231 decodes it (Dovecot 2.3 joins the pieces but keeps the original charset and
//    encoding; the shape `x*` with a charset'lang' prefix is the same);
//  - pieces that are not numbered 0..n-1 without gaps or repeats are left as written.
// The joined parameter takes the place of its first piece; others keep their order.
std::vector<MimeParam> join_rfc2231(const std::vector<MimeParam>& raw);

// Decodes an extended value `charset'language'%XX...` (RFC 2231 §4) to UTF-8; nullopt when it
// lacks the two apostrophes. `language` receives the language tag when given.
std::optional<std::string> decode_extended_value(std::string_view value, std::string* language = nullptr);

// Parameter `name` as UTF-8 text for display and search: `name*` decoded (RFC 2231) if present,
// else `name` with RFC 2047 encoded words decoded (many mailers put them in filename=).
std::optional<std::string> param_text(const std::vector<MimeParam>& params, std::string_view name);

// The value of the first parameter called `name` (case-insensitive), as stored.
const std::string* find_param(const std::vector<MimeParam>& params, std::string_view name);

}  // namespace valija::mail
