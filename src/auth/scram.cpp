// SCRAM-SHA-1 and SCRAM-SHA-256, with their -PLUS (channel binding) forms, as a SASL
// mechanism (RFC 5802 §5, RFC 7677, RFC 9266).
#include "auth/scram.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <array>

#include "auth/sasl_exchange.hpp"
#include "base/text.hpp"

namespace valija::auth {
namespace {

const EVP_MD* md(ScramHash h) { return h == ScramHash::Sha1 ? EVP_sha1() : EVP_sha256(); }

std::string hmac(ScramHash h, std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(md(h), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()), data.size(),
       out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string digest(ScramHash h, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, md(h), nullptr);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string random_bytes(std::size_t n) {
  std::string s(n, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(s.data()), static_cast<int>(n));
  return s;
}

// RFC 5802 §7 saslname: "=2C" for ',' and "=3D" for '='; any other '=' is an error.
std::optional<std::string> decode_saslname(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == ',') return std::nullopt;
    if (s[i] != '=') {
      out.push_back(s[i]);
      continue;
    }
    if (s.substr(i, 3) == "=2C") out.push_back(',');
    else if (s.substr(i, 3) == "=3D") out.push_back('=');
    else return std::nullopt;
    i += 2;
  }
  if (out.empty() || !text::valid_utf8(out)) return std::nullopt;
  return out;
}

sasl::Failed malformed(std::string why) { return sasl::Failed{SaslErrc::Malformed, std::move(why)}; }

class ScramExchange final : public SaslServer::Exchange {
 public:
  ScramExchange(ScramHash hash, bool plus, ChannelBindings bindings)
      : hash_(hash), plus_(plus), bindings_(std::move(bindings)) {}

  SaslStep start(std::optional<std::string_view> response) override {
    if (!response) return sasl::Challenge{""};  // the client-first message comes next
    return next(*response);
  }

  SaslStep next(std::string_view msg) override {
    switch (state_) {
      case State::ClientFirst: return client_first(msg);
      case State::ClientFinal: return client_final(msg);
      case State::Ack:
        if (!msg.empty()) return malformed("SCRAM: a response after the server's final message");
        return sasl::Done{std::move(credentials_), sasl::Proof::Verified};
      default: return sasl::Failed{SaslErrc::Finished, "SCRAM exchange over"};
    }
  }

  SaslStep keys(const ScramKeys& keys) override {
    if (state_ != State::Keys) return sasl::Failed{SaslErrc::Finished, "no keys expected"};
    keys_ = keys;
    std::string nonce = base64_encode(random_bytes(18));
    nonce_ = client_nonce_ + nonce;
    server_first_ = "r=" + nonce_ + ",s=" + base64_encode(keys.salt) + ",i=" + std::to_string(keys.iterations);
    state_ = State::ClientFinal;
    return sasl::Challenge{server_first_};
  }

 private:
  enum class State { ClientFirst, Keys, ClientFinal, Ack, Over };

  SaslStep client_first(std::string_view msg) {
    // gs2-header: cbind-flag "," [ "a=" authzid ] ","
    auto c1 = msg.find(',');
    if (c1 == std::string_view::npos) return malformed("SCRAM: no GS2 header");
    auto flag = msg.substr(0, c1);
    auto c2 = msg.find(',', c1 + 1);
    if (c2 == std::string_view::npos) return malformed("SCRAM: no GS2 header");
    auto authzid = msg.substr(c1 + 1, c2 - c1 - 1);
    gs2_header_ = std::string(msg.substr(0, c2 + 1));
    if (flag.starts_with("p=")) {
      if (!plus_) return malformed("SCRAM: channel binding asked for with a mechanism without -PLUS");
      cb_name_ = std::string(flag.substr(2));
      if (cb_name_ == "tls-exporter") cb_data_ = bindings_.tls_exporter;
      else if (cb_name_ == "tls-server-end-point") cb_data_ = bindings_.tls_server_end_point;
      else return malformed("SCRAM: unsupported channel binding type " + cb_name_);
      if (cb_data_.empty()) return malformed("SCRAM: channel binding " + cb_name_ + " is not available on this session");
    } else if (flag == "y") {
      // The client could bind but thinks we cannot: when we offered -PLUS, someone
      // removed it on the way (RFC 5802 §6).
      if (plus_ || bindings_.any()) return malformed("SCRAM: channel binding downgrade detected");
    } else if (flag != "n") {
      return malformed("SCRAM: bad GS2 channel binding flag");
    } else if (plus_) {
      return malformed("SCRAM -PLUS without channel binding");
    }
    if (!authzid.empty()) {
      if (!authzid.starts_with("a=")) return malformed("SCRAM: bad authzid");
      auto a = decode_saslname(authzid.substr(2));
      if (!a) return malformed("SCRAM: bad authzid");
      credentials_.authzid = *a;
    }
    client_first_bare_ = std::string(msg.substr(c2 + 1));
    std::string_view bare = client_first_bare_;
    if (bare.starts_with("m=")) return malformed("SCRAM: mandatory extension not supported");
    if (!bare.starts_with("n=")) return malformed("SCRAM: no user name");
    auto comma = bare.find(',');
    if (comma == std::string_view::npos) return malformed("SCRAM: no nonce");
    auto user = decode_saslname(bare.substr(2, comma - 2));
    if (!user) return malformed("SCRAM: bad user name");
    auto rest = bare.substr(comma + 1);
    if (!rest.starts_with("r=")) return malformed("SCRAM: no nonce");
    auto end = rest.find(',');
    client_nonce_ = std::string(rest.substr(2, end == std::string_view::npos ? std::string_view::npos : end - 2));
    if (client_nonce_.empty()) return malformed("SCRAM: empty nonce");
    for (unsigned char c : client_nonce_)
      if (c < 0x21 || c > 0x7e) return malformed("SCRAM: bad nonce");
    credentials_.authcid = *user;
    state_ = State::Keys;
    return sasl::NeedKeys{credentials_.authcid};
  }

  SaslStep client_final(std::string_view msg) {
    auto p = msg.rfind(",p=");
    if (p == std::string_view::npos) return malformed("SCRAM: no proof");
    auto without_proof = msg.substr(0, p);
    auto proof = base64_decode(msg.substr(p + 3), 64);
    if (!proof) return malformed("SCRAM: bad proof encoding");
    if (!without_proof.starts_with("c=")) return malformed("SCRAM: no channel binding attribute");
    auto comma = without_proof.find(',');
    if (comma == std::string_view::npos) return malformed("SCRAM: no nonce");
    auto cb = base64_decode(without_proof.substr(2, comma - 2), 4096);
    if (!cb || *cb != gs2_header_ + cb_data_) return malformed("SCRAM: channel binding does not match");
    auto rest = without_proof.substr(comma + 1);
    auto end = rest.find(',');
    auto nonce = rest.substr(0, end);
    if (nonce != "r=" + nonce_) return malformed("SCRAM: nonce does not match");
    std::string auth_message = client_first_bare_ + "," + server_first_ + "," + std::string(without_proof);
    auto client_signature = hmac(hash_, keys_.stored_key, auth_message);
    if (proof->size() != client_signature.size()) {
      state_ = State::Over;
      return sasl::Done{std::move(credentials_), sasl::Proof::Rejected};
    }
    std::string client_key(client_signature.size(), '\0');
    for (std::size_t i = 0; i < client_key.size(); ++i) client_key[i] = static_cast<char>((*proof)[i] ^ client_signature[i]);
    auto stored = digest(hash_, client_key);
    bool ok = stored.size() == keys_.stored_key.size() &&
              CRYPTO_memcmp(stored.data(), keys_.stored_key.data(), stored.size()) == 0;
    if (!ok) {
      state_ = State::Over;
      return sasl::Done{std::move(credentials_), sasl::Proof::Rejected};
    }
    state_ = State::Ack;
    return sasl::Challenge{"v=" + base64_encode(hmac(hash_, keys_.server_key, auth_message))};
  }

  ScramHash hash_;
  bool plus_;
  ChannelBindings bindings_;
  State state_ = State::ClientFirst;
  SaslCredentials credentials_;
  std::string gs2_header_, cb_name_, cb_data_;
  std::string client_first_bare_, client_nonce_, nonce_, server_first_;
  ScramKeys keys_;
};

const std::string& process_secret() {
  static const std::string secret = random_bytes(32);
  return secret;
}

}  // namespace

ScramHash scram_hash_of(SaslMechanism m) {
  return m == SaslMechanism::ScramSha1 || m == SaslMechanism::ScramSha1Plus ? ScramHash::Sha1 : ScramHash::Sha256;
}

std::unique_ptr<SaslServer::Exchange> make_scram_exchange(SaslMechanism m, const ChannelBindings& bindings) {
  bool plus = m == SaslMechanism::ScramSha1Plus || m == SaslMechanism::ScramSha256Plus;
  return std::make_unique<ScramExchange>(scram_hash_of(m), plus, bindings);
}

ScramKeys scram_derive(ScramHash hash, std::string_view password, std::string_view salt, std::uint32_t iterations) {
  ScramKeys k;
  k.iterations = iterations;
  k.salt = std::string(salt);
  std::size_t n = hash == ScramHash::Sha1 ? 20 : 32;
  std::string salted(n, '\0');
  PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()), reinterpret_cast<const unsigned char*>(salt.data()),
                    static_cast<int>(salt.size()), static_cast<int>(iterations), md(hash), static_cast<int>(n),
                    reinterpret_cast<unsigned char*>(salted.data()));
  k.stored_key = digest(hash, hmac(hash, salted, "Client Key"));
  k.server_key = hmac(hash, salted, "Server Key");
  return k;
}

ScramKeys scram_new(ScramHash hash, std::string_view password, std::uint32_t iterations) {
  return scram_derive(hash, password, random_bytes(16), iterations);
}

std::string scram_encode(const ScramKeys& k) {
  return std::to_string(k.iterations) + "$" + base64_encode(k.salt) + "$" + base64_encode(k.stored_key) + "$" +
         base64_encode(k.server_key);
}

std::optional<ScramKeys> scram_decode(std::string_view s) {
  std::array<std::string_view, 4> parts;
  for (std::size_t i = 0; i < 4; ++i) {
    auto d = s.find('$');
    if ((d == std::string_view::npos) != (i == 3)) return std::nullopt;
    parts[i] = s.substr(0, d);
    if (d != std::string_view::npos) s.remove_prefix(d + 1);
  }
  auto iterations = text::parse_u64(parts[0]);
  auto salt = base64_decode(parts[1], 256), stored = base64_decode(parts[2], 64), server = base64_decode(parts[3], 64);
  if (!iterations || *iterations < 1 || *iterations > 10'000'000 || !salt || !stored || !server || salt->empty())
    return std::nullopt;
  return ScramKeys{static_cast<std::uint32_t>(*iterations), *salt, *stored, *server};
}

ScramKeys scram_fake(ScramHash hash, std::string_view user) {
  ScramKeys k;
  k.iterations = kScramIterations;
  k.salt = hmac(ScramHash::Sha256, process_secret(), user).substr(0, 16);
  k.stored_key = random_bytes(hash == ScramHash::Sha1 ? 20 : 32);
  k.server_key = random_bytes(hash == ScramHash::Sha1 ? 20 : 32);
  return k;
}

}  // namespace valija::auth
