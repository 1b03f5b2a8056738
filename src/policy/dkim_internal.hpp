#pragma once
// Helpers shared by the DKIM files (not part of the module's interface): the tag-list
// syntax, base64, and the OpenSSL keys.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/types.h>

#include "policy/dkim.hpp"
#include "policy/tag_list.hpp"

namespace valija::policy::dkim::detail {

// The tag-list syntax is shared with DMARC (policy/tag_list.hpp).
using policy::find_tag;
using policy::is_fws;
using policy::is_wsp;
using policy::parse_tag_list;
using policy::Tag;
using policy::trim_fws;
std::string strip_fws(std::string_view s);

// A ':'-separated list with FWS around the items (h=, q=, key s= h= t=), lower case.
std::vector<std::string> split_list(std::string_view value);

// d=, s= and the i= domain (RFC 6376 §3.5): dot-separated labels of letters, digits,
// '-' and '_', 63 octets each, 253 in all.
bool valid_domain(std::string_view d);

// Strict base64 (RFC 4648 §4, padding required) after removing FWS; nullopt when
// invalid or longer than max_out decoded octets.
std::optional<std::string> base64_decode(std::string_view text, std::size_t max_out);
std::string base64_encode(std::string_view bytes);

std::string sha256(std::string_view data);

// The SHA-256 of the canonicalised body, of its first `limit` octets with l= (RFC 6376
// §3.4.5), and the canonicalised length, for "l= beyond the body" and what l= leaves out.
struct BodyHash {
  std::string digest;
  std::uint64_t length = 0;
};
BodyHash body_hash(Canon c, std::string_view body, std::optional<std::uint64_t> limit);

struct PkeyFree {
  void operator()(EVP_PKEY* k) const;
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

// A public key from a record's p= octets: SubjectPublicKeyInfo or PKCS#1 RSAPublicKey
// DER for RSA, the raw 32 octets for Ed25519. The error detail is a verdict reason.
Result<Pkey> load_public_key(KeyType type, std::string_view der);  // cached per thread
Result<Pkey> decode_public_key(KeyType type, std::string_view der);
// RFC 6376 §3.3 / RFC 8463 §3: `headers` is the canonicalised header data; RSA signs its
// SHA-256 with PKCS#1 v1.5, Ed25519 signs its SHA-256 with PureEdDSA.
bool verify_headers(EVP_PKEY* key, Algorithm a, std::string_view headers, std::string_view signature);
Result<Pkey> load_private_key(std::string_view pem, Algorithm a);  // cached per thread
Result<Pkey> decode_private_key(std::string_view pem, Algorithm a);
Result<std::string> sign_headers(EVP_PKEY* key, Algorithm a, std::string_view headers);
// The p= octets of a key (SubjectPublicKeyInfo DER for RSA, raw for Ed25519).
Result<std::string> public_key_octets(EVP_PKEY* key, Algorithm a);
Result<Pkey> generate(Algorithm a, int rsa_bits);
Result<std::string> private_key_pem(EVP_PKEY* key);  // PKCS#8

}  // namespace valija::policy::dkim::detail
