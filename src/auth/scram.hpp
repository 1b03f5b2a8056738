#pragma once
// SCRAM (RFC 5802, RFC 7677) key derivation and the stored form of the keys. The
// exchange itself is a SASL mechanism (scram.cpp, behind SaslServer).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "auth/sasl.hpp"

namespace valija::auth {

enum class ScramHash { Sha1, Sha256 };
ScramHash scram_hash_of(SaslMechanism m);

// RFC 7677 §4: at least 4096 iterations.
inline constexpr std::uint32_t kScramIterations = 4096;

// StoredKey and ServerKey for `password` (RFC 5802 §3). The password is used as its
// UTF-8 octets (SASLprep is not applied: identical for ASCII passwords).
ScramKeys scram_derive(ScramHash hash, std::string_view password, std::string_view salt, std::uint32_t iterations);
// A fresh random salt and the keys.
ScramKeys scram_new(ScramHash hash, std::string_view password, std::uint32_t iterations = kScramIterations);

// Stored form: "<iterations>$<salt>$<StoredKey>$<ServerKey>", each base64.
std::string scram_encode(const ScramKeys& keys);
std::optional<ScramKeys> scram_decode(std::string_view stored);

// Keys for a user that does not exist (or has none for this hash): the salt is derived
// from the name with a process secret, so repeated tries see the same salt; the keys
// match no password.
ScramKeys scram_fake(ScramHash hash, std::string_view user);

}  // namespace valija::auth
