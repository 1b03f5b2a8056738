#pragma once
// Argon2id password hashes in the PHC string format ($argon2id$v=19$m=...,t=...,p=...$salt$hash).
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "store/store.hpp"

namespace valija::auth {

struct Argon2Params {
  // OWASP's first recommended Argon2id setting: 19 MiB, 2 passes, 1 lane.
  unsigned memory_kib = 19 * 1024;
  unsigned passes = 2;
  unsigned lanes = 1;
};

Result<std::string> hash_password(std::string_view password, const Argon2Params& params = {});

// What a new password stores: its Argon2id hash and the SCRAM keys (auth/scram.hpp).
struct PasswordSecrets {
  std::string hash;
  std::string scram_sha1, scram_sha256;
};
Result<PasswordSecrets> password_secrets(std::string_view password);
// Stores them for the account (password and SCRAM keys).
Result<void> store_password(store::Store& store, std::string_view local, std::string_view domain,
                            const PasswordSecrets& secrets);
// Constant-time comparison inside libsodium. False for a malformed hash.
bool verify_password(std::string_view password, const std::string& encoded);
// RFC 1939 §7 APOP: `digest` (hex, either case) == MD5(timestamp + secret). Constant time.
bool verify_apop(std::string_view timestamp, std::string_view secret, std::string_view digest);

}  // namespace valija::auth
