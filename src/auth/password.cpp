#include "auth/password.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sodium.h>

#include <cstdio>
#include <cstdlib>

#include "auth/scram.hpp"
#include "base/text.hpp"

namespace valija::auth {
namespace {

// libsodium's Argon2id (SIMD-optimised: 10 ms where libargon2 takes 17 for valija's
// parameters on the benchmark machine) reads and writes the same PHC strings.
void init_sodium() {
  static const bool ok = sodium_init() >= 0;
  if (!ok) {
    std::fputs("valija: fatal: libsodium failed to initialise\n", stderr);
    std::abort();
  }
}

}  // namespace

Result<std::string> hash_password(std::string_view password, const Argon2Params& p) {
  init_sodium();
  if (password.empty()) return fail(Errc::Invalid, "empty password");
  if (password.size() > 4096) return fail(Errc::Invalid, "password longer than 4096 octets");
  if (p.lanes != 1) return fail(Errc::Invalid, "Argon2id with more than one lane is not supported");
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), p.passes,
                            static_cast<std::size_t>(p.memory_kib) * 1024, crypto_pwhash_ALG_ARGON2ID13) != 0)
    return fail(Errc::Internal, "Argon2id hashing failed (out of memory?)");
  return std::string(out);
}

bool verify_password(std::string_view password, const std::string& encoded) {
  init_sodium();
  if (encoded.rfind("$argon2id$", 0) != 0) return false;
  return crypto_pwhash_str_verify(encoded.c_str(), password.data(), password.size()) == 0;
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
  auto want = text::hex(md, 16);
  auto got = text::to_lower(digest);
  return CRYPTO_memcmp(want.data(), got.data(), 32) == 0;
}

}  // namespace valija::auth

namespace valija::auth {

Result<PasswordSecrets> password_secrets(std::string_view password) {
  auto hash = hash_password(password);
  if (!hash) return tl::unexpected(hash.error());
  PasswordSecrets s;
  s.hash = std::move(*hash);
  s.scram_sha1 = scram_encode(scram_new(ScramHash::Sha1, password));
  s.scram_sha256 = scram_encode(scram_new(ScramHash::Sha256, password));
  return s;
}

Result<void> store_password(store::Store& store, std::string_view local, std::string_view domain,
                            const PasswordSecrets& secrets) {
  auto r = store.set_password(local, domain, secrets.hash);
  if (!r) return r;
  return store.set_scram(local, domain, secrets.scram_sha1, secrets.scram_sha256);
}

}  // namespace valija::auth
