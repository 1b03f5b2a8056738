#pragma once
// Helpers of the DKIM tests: test data files, DNS answers, keys made with OpenSSL.
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "dns/records.hpp"

namespace valija::policy::dkim::test {

inline std::string data_file(std::string_view name) {
  std::ifstream f(std::string(VALIJA_SOURCE_DIR) + "/tests/data/dkim/" + std::string(name), std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

inline dns::Answer txt(std::vector<std::string> records) {
  dns::Answer a;
  a.outcome = dns::Outcome::Answer;
  a.records = std::move(records);
  return a;
}

// Every occurrence of `from` replaced.
inline std::string replace(std::string s, std::string_view from, std::string_view to) {
  for (auto at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
  return s;
}

inline std::string b64(const unsigned char* p, int n) {
  std::string out(4 * ((static_cast<std::size_t>(n) + 2) / 3) + 1, '\0');
  out.resize(static_cast<std::size_t>(EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), p, n)));
  return out;
}

// A fresh RSA key's SubjectPublicKeyInfo (any size OpenSSL makes, 512 bits included).
inline std::string rsa_spki_b64(std::size_t bits) {
  EVP_PKEY* k = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", bits);
  unsigned char* der = nullptr;
  int n = i2d_PUBKEY(k, &der);
  std::string out = b64(der, n);
  OPENSSL_free(der);
  EVP_PKEY_free(k);
  return out;
}

// A PKCS#1 RSAPublicKey with a 4160-bit modulus (not a real key: size is what counts).
inline std::string oversized_rsa_b64() {
  std::string der = "\x30\x82\x02\x12\x02\x82\x02\x09";
  der += '\0';
  der += '\xc0';
  der += std::string(519, '\x55');
  der += std::string("\x02\x03\x01\x00\x01", 5);
  return b64(reinterpret_cast<const unsigned char*>(der.data()), static_cast<int>(der.size()));
}

}  // namespace valija::policy::dkim::test
