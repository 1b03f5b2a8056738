#include "auth/password.hpp"

#include <argon2.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
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

bool verify_apop(std::string_view timestamp, std::string_view secret, std::string_view digest) {
  if (secret.empty() || digest.size() != 32) return false;
  std::string msg(timestamp);
  msg.append(secret);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  bool ok = EVP_Digest(msg.data(), msg.size(), md, &len, EVP_md5(), nullptr) == 1 && len == 16;
  OPENSSL_cleanse(msg.data(), msg.size());
  if (!ok) return false;
  static constexpr char kHex[] = "0123456789abcdef";
  char want[32];
  for (unsigned i = 0; i < 16; ++i) {
    want[2 * i] = kHex[md[i] >> 4];
    want[2 * i + 1] = kHex[md[i] & 15];
  }
  char got[32];
  for (std::size_t i = 0; i < 32; ++i) got[i] = (digest[i] >= 'A' && digest[i] <= 'F') ? static_cast<char>(digest[i] + 32) : digest[i];
  return CRYPTO_memcmp(want, got, 32) == 0;
}

}  // namespace valija::auth
