#pragma once
// DKIM (RFC 6376): signing and verification of RFC 5322 messages, with rsa-sha256 and
// ed25519-sha256 (RFC 8463), under the RFC 8301 rules (no SHA-1, RSA keys of at least
// 1024 bits). Pure: messages and key records are bytes, time is a parameter, and the key
// lookups are the caller's (dns/records.hpp), so the server runs them concurrently:
//
//   auto found = dkim::signatures(message);       // malformed ones already carry verdicts
//   for (auto& p : found.pending)                 // look up p.key_query (TXT), then
//     verdicts.push_back(dkim::verify(message, p, answer, now));
//
// Messages are complete as received: header fields, an empty line, the body. Lines end in
// CRLF; a bare LF is taken as a line end too and canonicalised as CRLF, so a message
// stored with LF endings verifies like the one on the wire.
// The canonicalisation steps themselves are in policy/dkim_canon.hpp.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "dns/records.hpp"

namespace valija::policy::dkim {

// rsa-sha1 is not here: RFC 8301 §3.1 forbids accepting it.
enum class Algorithm { RsaSha256, Ed25519Sha256 };
enum class Canon { Simple, Relaxed };
enum class KeyType { Rsa, Ed25519 };

std::string_view algorithm_name(Algorithm a);  // "rsa-sha256", "ed25519-sha256"
// The inverse; rsa-sha1 is Errc::Permission (RFC 8301), anything else Errc::Invalid.
Result<Algorithm> parse_algorithm(std::string_view name);

// The bounds of this module. Messages themselves are bounded by the caller
// (Limits::message_size); everything here is linear in the message.
struct Limits {
  // Header fields of one message; a message with more has no signature checked or made.
  std::size_t header_fields = 1000;
  // Octets of one DKIM-Signature field value (a 4096-bit b= is 684 characters).
  std::size_t signature_field = 16 * 1024;
  // Octets of one key record (a 4096-bit RSA p= is 736 characters).
  std::size_t key_record = 8 * 1024;
  // Tags in one tag-list (RFC 6376 defines 14 for signatures).
  std::size_t tags = 64;
  // h= entries of one signature (oversigning doubles the usual ten or twenty).
  std::size_t signed_headers = 64;
  // TXT records tried per key lookup.
  std::size_t key_records = 8;
  // RSA key sizes: RFC 8301 §3.2 forbids fewer than 1024 bits; larger than 4096 bits
  // costs a verifier more CPU than any signer needs.
  int min_rsa_bits = 1024;
  int max_rsa_bits = 4096;
  // Seconds a signature stays valid after its x= (clocks drift: RFC 6376 §3.5 x= says
  // verifiers MAY allow for skew).
  std::int64_t expiry_skew = 300;
};
inline constexpr Limits kLimits{};

// A parsed DKIM-Signature field (RFC 6376 §3.5).
struct Signature {
  Algorithm algorithm = Algorithm::RsaSha256;  // a=
  std::string signature;                       // b=, decoded
  std::string b_text;                          // b= as written, folding removed (base64)
  std::string body_hash;                       // bh=, decoded (32 octets)
  Canon header_canon = Canon::Simple;          // c= (default simple/simple)
  Canon body_canon = Canon::Simple;
  std::string domain;                          // d=, lower case (the SDID)
  std::vector<std::string> headers;            // h=, lower case, in order
  std::string auid;                            // i=, default "@" + d
  std::optional<std::uint64_t> length;         // l=
  std::string selector;                        // s=
  std::optional<std::int64_t> timestamp;       // t=
  std::optional<std::int64_t> expiration;      // x=
  // The whole field as it appears in the message, name and value, without the final
  // line end: what verification hashes with b= emptied (RFC 6376 §3.7).
  // parse_signature() sets "DKIM-Signature:" + value; signatures() the raw field.
  std::string field;
};

// RFC 6376 §3.5 with the tag-list syntax of §3.2: v=1, a= b= bh= d= h= s= required;
// h= must name "from"; i= must be under d=; x= not before t=; unknown tags are
// ignored, a repeated tag is an error. Errors: Errc::Permission for a signature refused
// by rule rather than broken (rsa-sha1, RFC 8301), Errc::Invalid for everything else.
Result<Signature> parse_signature(std::string_view field_value);

// A key record (RFC 6376 §3.6.1, RFC 8463 §4.2).
struct KeyRecord {
  KeyType type = KeyType::Rsa;        // k= (default rsa)
  std::string public_key;             // p=, decoded; empty: the key is revoked
  std::vector<std::string> hashes;    // h=, lower case; empty: any
  std::vector<std::string> services;  // s=, lower case (default "*")
  bool testing = false;               // t=y
  bool strict = false;                // t=s: the i= domain must equal d=
};

// v= if present must come first and be "DKIM1"; p= is required (empty = revoked);
// unknown tags, hashes, services and flags are ignored.
Result<KeyRecord> parse_key_record(std::string_view txt);

// The verdict on one signature, as Authentication-Results reports it (RFC 8601 §2.7.1).
struct Verdict {
  enum class Result { Pass, Fail, Neutral, Policy, TempError, PermError };
  Result result = Result::PermError;
  std::string domain;     // d=
  std::string selector;   // s=
  std::string auid;       // i=
  std::string algorithm;  // a= as written
  std::string b_prefix;   // first 8 characters of b=, for header.b= (RFC 6008)
  std::string reason;     // "body hash mismatch", "signature expired", "key revoked", ...
  bool testing = false;   // the key has t=y (see authenticates())
};

std::string_view result_name(Verdict::Result r);  // "pass", "fail", "neutral", "policy", ...

// Whether the verdict authenticates its d= for DMARC (RFC 7489 §4.2) and anything else
// that trusts a signature: a pass by a key not in testing mode. RFC 6376 §3.6.1 t=y:
// "Verifiers MUST NOT treat messages from Signers in testing mode differently from
// unsigned email"; the pass is still reported, with a comment.
bool authenticates(const Verdict& v);

// A well-formed signature waiting for its key.
struct Pending {
  Signature sig;
  dns::Query key_query;  // TXT at <s>._domainkey.<d> (RFC 6376 §3.6.2.1)
  // Offset of the signature's field in the message, so verify() finds the field that
  // signs itself and never mistakes another DKIM-Signature for it.
  std::size_t field_offset = 0;
};

struct Found {
  std::vector<Pending> pending;
  // Fields that did not parse: PermError (Policy for rsa-sha1), with whatever d=, s=, i=
  // could be read, so they show in Authentication-Results rather than vanish.
  std::vector<Verdict> malformed;
};

// Every DKIM-Signature field of the message, at most `max_signatures` counted from the
// top (the newest signatures; malformed ones count too).
Found signatures(std::string_view message, std::size_t max_signatures = 5);

// The verdict on one signature of `message` (the message signatures() saw), given the
// answer to p.key_query, at unix time `now`:
//   temperror  the key lookup failed temporarily
//   permerror  no key, no usable key record, revoked key (empty p=), key type not a=,
//              key h= without sha256, key s= without email, t=s and i= not exactly d=,
//              RSA key under 1024 or over 4096 bits, too many header fields
//   fail       expired (x= plus Limits::expiry_skew before now), l= beyond the body,
//              body hash mismatch, signature mismatch
//   policy     the signature verified but its l= leaves part of the body unsigned
//              ("l= leaves N octets unsigned"): content anyone could have appended
//              (RFC 6376 §8.2), so it authenticates nothing
//   pass       otherwise (with a t=y key: see authenticates())
// Expiry is "fail", as OpenDKIM and dkimpy report it: the signature was checked and is
// no longer good; the message itself is fine. A t= in the future is accepted (RFC 6376
// §3.5 t= allows ignoring such signatures; a signer's fast clock should not cost it).
Verdict verify(std::string_view message, const Pending& p, const dns::Answer& key_answer, std::int64_t now);

// --- Signing ---

struct Key {
  std::string domain;    // d=
  std::string selector;  // s=
  Algorithm algorithm = Algorithm::Ed25519Sha256;
  std::string private_key_pem;  // PKCS#8 ("BEGIN PRIVATE KEY") or traditional RSA PEM
};

// The DKIM-Signature field to prepend to `message`: name, value folded at 76 columns,
// ending in CRLF. t=now; h= names every field of default_signed_headers() present, once
// per instance, and oversigns From, To, Cc, Subject and Reply-To once more, so none can
// be added after signing (RFC 6376 §8.15). The message must have exactly one From field
// (RFC 6376 §5.4: From is always signed; two From fields are how DMARC is fooled).
struct SignOptions {
  std::int64_t expire_after = 0;  // x= now + expire_after when > 0
  Canon header_canon = Canon::Relaxed;
  Canon body_canon = Canon::Relaxed;
  std::string auid;  // i= ("user@sub.d"); empty: none (verifiers take "@" + d)
};
Result<std::string> sign(std::string_view message, const Key& key, std::int64_t now, const SignOptions& options);
// relaxed/relaxed.
Result<std::string> sign(std::string_view message, const Key& key, std::int64_t now, std::int64_t expire_after = 0);

// RFC 6376 §5.4.1's list, with Sender, Message-ID, the MIME fields and
// List-Unsubscribe-Post (RFC 8058 §4 requires it signed); lower case.
const std::vector<std::string>& default_signed_headers();

struct GeneratedKey {
  std::string private_key_pem;  // PKCS#8 PEM
  std::string public_key_b64;   // the p= value
};
// rsa_bits between Limits::min_rsa_bits and max_rsa_bits; ignored for Ed25519.
Result<GeneratedKey> generate_key(Algorithm a, int rsa_bits = 2048);
// The p= value of a private key: base64 of the SubjectPublicKeyInfo (RSA) or of the raw
// 32-octet key (Ed25519, RFC 8463 §4.2).
Result<std::string> public_key_of(std::string_view private_key_pem, Algorithm a);
// "v=DKIM1; k=rsa; p=..." or "v=DKIM1; k=ed25519; p=...".
std::string key_record(Algorithm a, std::string_view public_key_b64);

}  // namespace valija::policy::dkim
