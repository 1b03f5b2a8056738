#include "auth/password.hpp"

#include <argon2.h>
#include <openssl/rand.h>

#include <vector>

namespace valija::auth {

Result<std::string> hash_password(std::string_view password, const Argon2Params& p) {
  if (password.empty()) return fail(Errc::Invalid, "empty password");
  if (password.size() > 4096) return fail(Errc::Invalid, "password longer than 4096 octets");
  unsigned char salt[16];
  if (RAND_bytes(salt, sizeof salt) != 1) return fail(Errc::Internal, "no randomness for the salt");
  constexpr std::size_t kHashLen = 32;
  std::size_t len = argon2_encodedlen(p.passes, p.memory_kib, p.lanes, sizeof salt, kHashLen, Argon2_id);
  std::vector<char> out(len);
  int rc = argon2id_hash_encoded(p.passes, p.memory_kib, p.lanes, password.data(), password.size(), salt,
                                 sizeof salt, kHashLen, out.data(), out.size());
  if (rc != ARGON2_OK) return fail(Errc::Internal, argon2_error_message(rc));
  return std::string(out.data());
}

bool verify_password(std::string_view password, const std::string& encoded) {
  if (encoded.rfind("$argon2id$", 0) != 0) return false;
  return argon2id_verify(encoded.c_str(), password.data(), password.size()) == ARGON2_OK;
}

}  // namespace valija::auth
