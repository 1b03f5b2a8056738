// DKIM's cryptography on OpenSSL's libcrypto (3.0): keys from DER and PEM, RSA PKCS#1
// v1.5 with SHA-256 (RFC 6376 §3.3.1) and Ed25519 over the SHA-256 of the header data
// (RFC 8463 §3), base64. Every function leaves OpenSSL's thread error queue empty: the
// TLS code on the same thread reads it.
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <array>

#include <fmt/format.h>

#include "base/base64.hpp"
#include "policy/dkim_canon.hpp"
#include "policy/dkim_internal.hpp"

namespace valija::policy::dkim::detail {
namespace {

struct ClearErrors {
  ~ClearErrors() { ERR_clear_error(); }
};

struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using Bio = std::unique_ptr<BIO, BioFree>;

constexpr std::size_t kMaxPem = 64 * 1024;  // a 4096-bit RSA key is 3.3 KiB

const unsigned char* bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

// The RSA sizes RFC 8301 §3.2 and our CPU bound allow.
std::optional<std::string> rsa_size_problem(EVP_PKEY* k) {
  int bits = EVP_PKEY_get_bits(k);
  if (bits < kLimits.min_rsa_bits) return fmt::format("RSA key shorter than {} bits", kLimits.min_rsa_bits);
  if (bits > kLimits.max_rsa_bits) return fmt::format("RSA key longer than {} bits", kLimits.max_rsa_bits);
  return std::nullopt;
}

int expected_type(Algorithm a) { return a == Algorithm::Ed25519Sha256 ? EVP_PKEY_ED25519 : EVP_PKEY_RSA; }

// Never ask a terminal for a passphrase: an encrypted key is simply unreadable here.
int no_passphrase(char*, int, int, void*) { return 0; }

}  // namespace

void PkeyFree::operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }

namespace {

// OpenSSL 3 looks EVP_sha256() up in its provider tables (under a lock) on every use;
// fetched once, the digest is used directly. Freed at exit by OpenSSL's cleanup.
const EVP_MD* sha256_md() {
  static const EVP_MD* md = [] {
    const EVP_MD* m = EVP_MD_fetch(nullptr, "SHA2-256", nullptr);
    return m ? m : EVP_sha256();
  }();
  return md;
}

// Decoding a key (d2i, PEM) costs more than a verification: the few keys a thread
// meets again and again (a big sender's, our own signing keys) are kept decoded.
// Per thread, so no lock; bounded.
struct KeyCache {
  static constexpr std::size_t kMax = 32;
  struct Entry {
    std::string id;
    Pkey key;
  };
  std::vector<Entry> entries;  // most recent last

  std::optional<Pkey> find(const std::string& id) {
    for (auto it = entries.begin(); it != entries.end(); ++it) {
      if (it->id != id) continue;
      EVP_PKEY_up_ref(it->key.get());
      Pkey out(it->key.get());
      std::rotate(it, it + 1, entries.end());
      return out;
    }
    return std::nullopt;
  }
  void add(std::string id, const Pkey& key) {
    if (entries.size() == kMax) entries.erase(entries.begin());
    EVP_PKEY_up_ref(key.get());
    entries.push_back(Entry{std::move(id), Pkey(key.get())});
  }
};

thread_local KeyCache public_keys, private_keys;

}  // namespace

std::optional<std::string> base64_decode(std::string_view text, std::size_t max_out) {
  // b=, bh= and p= may be folded (RFC 6376 §3.5): white space goes before decoding.
  auto out = valija::base64_decode(strip_fws(text), max_out, false);
  if (!out) return std::nullopt;
  return std::move(*out);
}

std::string base64_encode(std::string_view data) { return valija::base64_encode(data); }

std::string sha256(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md.data(), &len, sha256_md(), nullptr);
  return std::string(reinterpret_cast<char*>(md.data()), len);
}

namespace {

class HashSink final : public BodySink {
 public:
  explicit HashSink(std::optional<std::uint64_t> limit) : ctx_(EVP_MD_CTX_new()), limit_(limit) {
    if (ctx_) EVP_DigestInit_ex(ctx_.get(), sha256_md(), nullptr);
  }
  void put(std::string_view b) override {
    std::uint64_t take = b.size();
    if (limit_) take = length_ >= *limit_ ? 0 : std::min<std::uint64_t>(take, *limit_ - length_);
    if (ctx_ && take > 0) EVP_DigestUpdate(ctx_.get(), b.data(), static_cast<std::size_t>(take));
    length_ += b.size();
  }
  BodyHash finish() {
    std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
    unsigned int len = 0;
    if (ctx_) EVP_DigestFinal_ex(ctx_.get(), md.data(), &len);
    return {std::string(reinterpret_cast<char*>(md.data()), len), length_};
  }

 private:
  MdCtx ctx_;
  std::optional<std::uint64_t> limit_;
  std::uint64_t length_ = 0;
};

}  // namespace

BodyHash body_hash(Canon c, std::string_view body, std::optional<std::uint64_t> limit) {
  ClearErrors clear;
  HashSink sink(limit);
  canon_body(c, body, sink);
  return sink.finish();
}

Result<Pkey> load_public_key(KeyType type, std::string_view der) {
  std::string id = (type == KeyType::Ed25519 ? "e" : "r") + std::string(der);
  if (auto cached = public_keys.find(id)) return std::move(*cached);
  auto k = decode_public_key(type, der);
  if (k) public_keys.add(std::move(id), *k);
  return k;
}

Result<Pkey> decode_public_key(KeyType type, std::string_view der) {
  ClearErrors clear;
  if (type == KeyType::Ed25519) {
    // RFC 8463 §4.2: p= is the bare 32-octet key, not a SubjectPublicKeyInfo.
    if (der.size() != 32) return fail(Errc::Invalid, "Ed25519 key is not 32 octets");
    Pkey k(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, bytes(der), der.size()));
    if (!k) return fail(Errc::Invalid, "unusable Ed25519 key");
    return k;
  }
  // RFC 6376 §3.6.1: SubjectPublicKeyInfo; some publish the bare RSAPublicKey.
  const unsigned char* p = bytes(der);
  Pkey k(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
  if (!k) {
    p = bytes(der);
    k.reset(d2i_PublicKey(EVP_PKEY_RSA, nullptr, &p, static_cast<long>(der.size())));
  }
  if (!k) return fail(Errc::Invalid, "unusable RSA key");
  if (EVP_PKEY_get_base_id(k.get()) != EVP_PKEY_RSA) return fail(Errc::Invalid, "k=rsa key is not an RSA key");
  if (auto problem = rsa_size_problem(k.get())) return fail(Errc::Invalid, *problem);
  return k;
}

bool verify_headers(EVP_PKEY* key, Algorithm a, std::string_view headers, std::string_view signature) {
  ClearErrors clear;
  MdCtx ctx(EVP_MD_CTX_new());
  if (!ctx) return false;
  std::string digest;
  std::string_view data = headers;
  const EVP_MD* md = sha256_md();
  if (a == Algorithm::Ed25519Sha256) {
    digest = sha256(headers);  // RFC 8463 §3: PureEdDSA over the hash
    data = digest;
    md = nullptr;
  }
  if (EVP_DigestVerifyInit(ctx.get(), nullptr, md, nullptr, key) != 1) return false;
  return EVP_DigestVerify(ctx.get(), bytes(signature), signature.size(), bytes(data), data.size()) == 1;
}

Result<Pkey> load_private_key(std::string_view pem, Algorithm a) {
  std::string id = std::string(algorithm_name(a)) + "\n" + std::string(pem);
  if (auto cached = private_keys.find(id)) return std::move(*cached);
  auto k = decode_private_key(pem, a);
  if (k) private_keys.add(std::move(id), *k);
  return k;
}

Result<Pkey> decode_private_key(std::string_view pem, Algorithm a) {
  ClearErrors clear;
  if (pem.size() > kMaxPem) return fail(Errc::Invalid, "private key PEM too long");
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return fail(Errc::Internal, "out of memory");
  Pkey k(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
  if (!k) return fail(Errc::Invalid, "unreadable private key (PEM, unencrypted)");
  if (EVP_PKEY_get_base_id(k.get()) != expected_type(a))
    return fail(Errc::Invalid, fmt::format("private key is not an {} key", algorithm_name(a)));
  if (a == Algorithm::RsaSha256)
    if (auto problem = rsa_size_problem(k.get())) return fail(Errc::Invalid, *problem);
  return k;
}

Result<std::string> sign_headers(EVP_PKEY* key, Algorithm a, std::string_view headers) {
  ClearErrors clear;
  MdCtx ctx(EVP_MD_CTX_new());
  if (!ctx) return fail(Errc::Internal, "out of memory");
  std::string digest;
  std::string_view data = headers;
  const EVP_MD* md = sha256_md();
  if (a == Algorithm::Ed25519Sha256) {
    digest = sha256(headers);
    data = digest;
    md = nullptr;
  }
  std::size_t len = 0;
  if (EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, key) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, bytes(data), data.size()) != 1)
    return fail(Errc::Internal, "signing failed");
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, bytes(data), data.size()) != 1)
    return fail(Errc::Internal, "signing failed");
  sig.resize(len);
  return sig;
}

Result<std::string> public_key_octets(EVP_PKEY* key, Algorithm a) {
  ClearErrors clear;
  if (a == Algorithm::Ed25519Sha256) {
    std::array<unsigned char, 32> raw{};
    std::size_t len = raw.size();
    if (EVP_PKEY_get_raw_public_key(key, raw.data(), &len) != 1 || len != raw.size())
      return fail(Errc::Invalid, "not an Ed25519 key");
    return std::string(reinterpret_cast<char*>(raw.data()), len);
  }
  unsigned char* der = nullptr;
  int len = i2d_PUBKEY(key, &der);
  if (len <= 0) return fail(Errc::Internal, "cannot encode the public key");
  std::string out(reinterpret_cast<char*>(der), static_cast<std::size_t>(len));
  OPENSSL_free(der);
  return out;
}

Result<Pkey> generate(Algorithm a, int rsa_bits) {
  ClearErrors clear;
  Pkey k;
  if (a == Algorithm::Ed25519Sha256) {
    k.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  } else {
    if (rsa_bits < kLimits.min_rsa_bits || rsa_bits > kLimits.max_rsa_bits)
      return fail(Errc::Invalid, fmt::format("RSA keys have {} to {} bits", kLimits.min_rsa_bits, kLimits.max_rsa_bits));
    k.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(rsa_bits)));
  }
  if (!k) return fail(Errc::Internal, "key generation failed");
  return k;
}

Result<std::string> private_key_pem(EVP_PKEY* key) {
  ClearErrors clear;
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
    return fail(Errc::Internal, "cannot write the private key");
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

}  // namespace valija::policy::dkim::detail
