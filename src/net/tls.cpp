#include "net/tls.hpp"

#include <fmt/format.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cstdio>

namespace valija::net {
namespace {

bool exists(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0;
}

std::string openssl_error() {
  unsigned long e = ERR_get_error();
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

}  // namespace

Result<void> ensure_self_signed(const TlsFiles& files, const std::string& hostname) {
  if (exists(files.cert) && exists(files.key)) return {};
  EVP_PKEY* pkey = EVP_EC_gen("P-256");
  if (!pkey) return fail(Errc::Internal, "cannot generate key: " + openssl_error());
  X509* x = X509_new();
  X509_set_version(x, 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 10L * 365 * 24 * 3600);
  X509_set_pubkey(x, pkey);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(hostname.c_str()), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("valija self-signed"), -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, x, x, nullptr, nullptr, 0);
  auto san = fmt::format("DNS:{},DNS:localhost,IP:127.0.0.1,IP:::1", hostname);
  if (X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, NID_subject_alt_name, san.c_str())) {
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
  }
  bool ok = X509_sign(x, pkey, EVP_sha256()) > 0;
  if (ok) {
    auto key_tmp = files.key + ".tmp";
    FILE* kf = std::fopen(key_tmp.c_str(), "w");
    ok = kf && ::chmod(key_tmp.c_str(), 0600) == 0 && PEM_write_PrivateKey(kf, pkey, nullptr, nullptr, 0, nullptr, nullptr);
    if (kf) std::fclose(kf);
    auto cert_tmp = files.cert + ".tmp";
    FILE* cf = ok ? std::fopen(cert_tmp.c_str(), "w") : nullptr;
    ok = ok && cf && PEM_write_X509(cf, x);
    if (cf) std::fclose(cf);
    ok = ok && std::rename(key_tmp.c_str(), files.key.c_str()) == 0 && std::rename(cert_tmp.c_str(), files.cert.c_str()) == 0;
  }
  X509_free(x);
  EVP_PKEY_free(pkey);
  if (!ok) return fail(Errc::Internal, fmt::format("cannot write {} / {}", files.cert, files.key));
  return {};
}

Result<std::shared_ptr<asio::ssl::context>> TlsContexts::load(const TlsFiles& files) {
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  SSL_CTX* raw = ctx->native_handle();
  SSL_CTX_set_min_proto_version(raw, TLS1_2_VERSION);
  SSL_CTX_set_options(raw, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  // Record buffers are freed while a connection has nothing in flight (thousands of idle
  // IMAP connections); writes may complete in parts from a buffer the caller keeps.
  SSL_CTX_set_mode(raw, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // Mozilla "intermediate": forward secrecy and AEAD only for TLS 1.2.
  SSL_CTX_set_cipher_list(raw,
                          "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
                          "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305");
  if (SSL_CTX_use_certificate_chain_file(raw, files.cert.c_str()) != 1)
    return fail(Errc::Invalid, fmt::format("cannot load certificate {}: {}", files.cert, openssl_error()));
  if (SSL_CTX_use_PrivateKey_file(raw, files.key.c_str(), SSL_FILETYPE_PEM) != 1)
    return fail(Errc::Invalid, fmt::format("cannot load key {}: {}", files.key, openssl_error()));
  if (SSL_CTX_check_private_key(raw) != 1)
    return fail(Errc::Invalid, fmt::format("key {} does not match certificate {}", files.key, files.cert));
  return ctx;
}

Result<std::shared_ptr<asio::ssl::context>> client_tls_context(bool verify, const std::string& ca_file) {
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  SSL_CTX* raw = ctx->native_handle();
  SSL_CTX_set_min_proto_version(raw, TLS1_2_VERSION);
  SSL_CTX_set_options(raw, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_mode(raw, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (!verify) {
    SSL_CTX_set_verify(raw, SSL_VERIFY_NONE, nullptr);
    return ctx;
  }
  int ok = ca_file.empty() ? SSL_CTX_set_default_verify_paths(raw) : SSL_CTX_load_verify_locations(raw, ca_file.c_str(), nullptr);
  if (ok != 1)
    return fail(Errc::Invalid, fmt::format("cannot load trusted certificates{}: {}",
                                           ca_file.empty() ? std::string() : " from " + ca_file, openssl_error()));
  SSL_CTX_set_verify(raw, SSL_VERIFY_PEER, nullptr);
  return ctx;
}

}  // namespace valija::net
