// SCRAM (RFC 5802, RFC 7677): the key derivation against the RFCs' examples, and whole
// exchanges against a client written here from the RFC, with and without channel binding.
#include "auth/scram.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "auth/sasl.hpp"

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

std::string b64d(std::string_view s) { return *base64_decode(s, 1024); }

// RFC 5802 §5 and RFC 7677 §3: the server signatures of the examples.
TEST(Scram, RfcExamplesServerSignature) {
  auto k1 = scram_derive(ScramHash::Sha1, "pencil", b64d("QSXCR+Q6sek8bf92"), 4096);
  std::string am1 =
      "n=user,r=fyko+d2lbbFgONRv9qkxdawL,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096,"
      "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j";
  EXPECT_EQ(base64_encode(hmac(ScramHash::Sha1, k1.server_key, am1)), "rmF9pqV8S7suAoZWja4dJRkFsKQ=");
  auto k256 = scram_derive(ScramHash::Sha256, "pencil", b64d("W22ZaJ0SNY7soEsUEjb6gQ=="), 4096);
  std::string am256 =
      "n=user,r=rOprNGfwEbeRWgbNEkqO,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,"
      "i=4096,c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
  EXPECT_EQ(base64_encode(hmac(ScramHash::Sha256, k256.server_key, am256)),
            "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
}

TEST(Scram, StoredFormRoundTrips) {
  auto k = scram_new(ScramHash::Sha256, "secret");
  auto enc = scram_encode(k);
  auto dec = scram_decode(enc);
  ASSERT_TRUE(dec);
  EXPECT_EQ(dec->iterations, 4096u);
  EXPECT_EQ(dec->salt, k.salt);
  EXPECT_EQ(dec->stored_key, k.stored_key);
  EXPECT_EQ(dec->server_key, k.server_key);
  for (const char* bad : {"", "4096", "4096$a$b", "x$AAAA$AAAA$AAAA", "0$AAAA$AAAA$AAAA", "4096$$AAAA$AAAA",
                          "4096$AAAA$AAAA$AAAA$AAAA", "4096$!!$AAAA$AAAA"})
    EXPECT_FALSE(scram_decode(bad)) << bad;
  // Fake keys: the same salt for the same name (no enumeration by salt), another for another.
  EXPECT_EQ(scram_fake(ScramHash::Sha256, "nobody").salt, scram_fake(ScramHash::Sha256, "nobody").salt);
  EXPECT_NE(scram_fake(ScramHash::Sha256, "nobody").salt, scram_fake(ScramHash::Sha256, "other").salt);
}

// A client from RFC 5802 §3, driving the server through base64 lines as a protocol would.
struct Client {
  Client(ScramHash h, std::string pw, std::string g = "n,,", std::string cb = "")
      : hash(h), password(std::move(pw)), gs2(std::move(g)), cb_data(std::move(cb)) {}
  ScramHash hash;
  std::string password;
  std::string gs2;
  std::string cb_data;
  std::string nonce = "clientnonce123";
  std::string first_bare, auth_message, server_signature;

  std::string first(const std::string& user) {
    first_bare = "n=" + user + ",r=" + nonce;
    return base64_encode(gs2 + first_bare);
  }
  // server-first (decoded) -> client-final (base64)
  std::string final(const std::string& server_first, std::string tamper_nonce = "") {
    auto r = server_first.substr(2, server_first.find(',') - 2);
    auto s_at = server_first.find(",s=") + 3;
    auto salt = b64d(server_first.substr(s_at, server_first.find(",i=") - s_at));
    auto iterations = std::stoul(server_first.substr(server_first.find(",i=") + 3));
    std::string salted(hash == ScramHash::Sha1 ? 20 : 32, '\0');
    PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                      reinterpret_cast<const unsigned char*>(salt.data()), static_cast<int>(salt.size()),
                      static_cast<int>(iterations), md(hash), static_cast<int>(salted.size()),
                      reinterpret_cast<unsigned char*>(salted.data()));
    auto client_key = hmac(hash, salted, "Client Key");
    unsigned char stored[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_Digest(client_key.data(), client_key.size(), stored, &n, md(hash), nullptr);
    std::string without = "c=" + base64_encode(gs2 + cb_data) + ",r=" + (tamper_nonce.empty() ? r : tamper_nonce);
    auth_message = first_bare + "," + server_first + "," + without;
    auto sig = hmac(hash, std::string(reinterpret_cast<char*>(stored), n), auth_message);
    std::string proof(client_key.size(), '\0');
    for (std::size_t i = 0; i < proof.size(); ++i) proof[i] = static_cast<char>(client_key[i] ^ sig[i]);
    server_signature = base64_encode(hmac(hash, hmac(hash, salted, "Server Key"), auth_message));
    return base64_encode(without + ",p=" + base64_encode(proof));
  }
};

// Runs an exchange; returns the final step.
SaslStep run(SaslMechanism m, Client& c, const std::string& user, const ScramKeys& keys, ChannelBindings cb = {},
             std::string tamper_nonce = "") {
  SaslServer s(m, {}, cb);
  auto step = s.start(c.first(user));
  if (!std::holds_alternative<sasl::NeedKeys>(step)) return step;
  EXPECT_EQ(std::get<sasl::NeedKeys>(step).authcid, user);
  step = s.on_keys(keys);
  if (!std::holds_alternative<sasl::Challenge>(step)) return step;
  step = s.on_response(c.final(std::get<sasl::Challenge>(step).data, tamper_nonce));
  auto* ch = std::get_if<sasl::Challenge>(&step);
  if (!ch) return step;
  EXPECT_EQ(ch->data, "v=" + c.server_signature);  // the server proves it knows the keys
  return s.on_response("");
}

sasl::Proof proof_of(const SaslStep& s) {
  auto* d = std::get_if<sasl::Done>(&s);
  return d ? d->proof : sasl::Proof::None;
}

TEST(Scram, ExchangeBothHashes) {
  for (auto [m, h] : {std::pair{SaslMechanism::ScramSha256, ScramHash::Sha256}, {SaslMechanism::ScramSha1, ScramHash::Sha1}}) {
    auto keys = scram_new(h, "pencil");
    Client good{h, "pencil"};
    auto step = run(m, good, "ana@example.org", keys);
    ASSERT_EQ(proof_of(step), sasl::Proof::Verified);
    EXPECT_EQ(std::get<sasl::Done>(step).credentials.authcid, "ana@example.org");
    Client bad{h, "crayon"};
    EXPECT_EQ(proof_of(run(m, bad, "ana@example.org", keys)), sasl::Proof::Rejected);
    Client fake{h, "pencil"};
    EXPECT_EQ(proof_of(run(m, fake, "nobody", scram_fake(h, "nobody"))), sasl::Proof::Rejected);
  }
}

TEST(Scram, ChannelBinding) {
  auto keys = scram_new(ScramHash::Sha256, "pencil");
  ChannelBindings cb{"exporter-bytes-32-long-xxxxxxxxx", "end-point-hash"};
  Client plus{ScramHash::Sha256, "pencil", "p=tls-exporter,,", cb.tls_exporter};
  EXPECT_EQ(proof_of(run(SaslMechanism::ScramSha256Plus, plus, "ana", keys, cb)), sasl::Proof::Verified);
  Client ep{ScramHash::Sha256, "pencil", "p=tls-server-end-point,,", cb.tls_server_end_point};
  EXPECT_EQ(proof_of(run(SaslMechanism::ScramSha256Plus, ep, "ana", keys, cb)), sasl::Proof::Verified);
  // Another TLS session's binding (a man in the middle): refused.
  Client mitm{ScramHash::Sha256, "pencil", "p=tls-exporter,,", "other-session"};
  EXPECT_TRUE(std::holds_alternative<sasl::Failed>(run(SaslMechanism::ScramSha256Plus, mitm, "ana", keys, cb)));
  // "y": the client could bind but saw no -PLUS offered: a downgrade, refused.
  Client y{ScramHash::Sha256, "pencil", "y,,"};
  EXPECT_TRUE(std::holds_alternative<sasl::Failed>(run(SaslMechanism::ScramSha256, y, "ana", keys, cb)));
  // ...but fine where no binding exists (no TLS).
  Client y2{ScramHash::Sha256, "pencil", "y,,"};
  EXPECT_EQ(proof_of(run(SaslMechanism::ScramSha256, y2, "ana", keys)), sasl::Proof::Verified);
  // -PLUS without binding, and binding with the plain mechanism.
  Client n{ScramHash::Sha256, "pencil"};
  EXPECT_TRUE(std::holds_alternative<sasl::Failed>(run(SaslMechanism::ScramSha256Plus, n, "ana", keys, cb)));
  Client p{ScramHash::Sha256, "pencil", "p=tls-exporter,,", cb.tls_exporter};
  EXPECT_TRUE(std::holds_alternative<sasl::Failed>(run(SaslMechanism::ScramSha256, p, "ana", keys, cb)));
  Client unknown{ScramHash::Sha256, "pencil", "p=tls-unique,,", "x"};
  EXPECT_TRUE(std::holds_alternative<sasl::Failed>(run(SaslMechanism::ScramSha256Plus, unknown, "ana", keys, cb)));
}

TEST(Scram, MalformedMessagesAndNonce) {
  auto keys = scram_new(ScramHash::Sha256, "pencil");
  Client c{ScramHash::Sha256, "pencil"};
  EXPECT_TRUE(std::holds_alternative<sasl::Failed>(run(SaslMechanism::ScramSha256, c, "ana", keys, {}, "r=wrong")));
  for (const char* bad : {"", "n", "n,", "n,,", "n,,n=ana", "n,,n=ana,r=", "n,,m=x,n=ana,r=abc", "n,,n=a=b,r=abc",
                          "n,,n=,r=abc", "x,,n=ana,r=abc", "n,b=x,n=ana,r=abc", "n,,r=abc"}) {
    SaslServer s(SaslMechanism::ScramSha256);
    auto step = s.start(base64_encode(bad));
    EXPECT_TRUE(std::holds_alternative<sasl::Failed>(step)) << bad;
  }
  // Escaped names are decoded; the authzid is kept.
  SaslServer s(SaslMechanism::ScramSha256);
  auto step = s.start(base64_encode("n,a=boss,n=a=2Cb=3Dc,r=abc"));
  ASSERT_TRUE(std::holds_alternative<sasl::NeedKeys>(step));
  EXPECT_EQ(std::get<sasl::NeedKeys>(step).authcid, "a,b=c");
  // A response where keys are awaited, and keys where none are.
  EXPECT_TRUE(std::holds_alternative<sasl::Failed>(s.on_response("")));
  SaslServer t(SaslMechanism::ScramSha256);
  EXPECT_TRUE(std::holds_alternative<sasl::Failed>(t.on_keys(keys)));
  // Without an initial response: an empty challenge first.
  SaslServer u(SaslMechanism::ScramSha1);
  auto first = u.start(std::nullopt);
  ASSERT_TRUE(std::holds_alternative<sasl::Challenge>(first));
  EXPECT_EQ(std::get<sasl::Challenge>(first).data, "");
  EXPECT_TRUE(std::holds_alternative<sasl::NeedKeys>(u.on_response(base64_encode("n,,n=ana,r=xyz"))));
}

TEST(Scram, OfferedOnlyWhereTheProtocolRunsIt) {
  EXPECT_EQ(sasl_mechanisms(true), (std::vector<SaslMechanism>{SaslMechanism::Plain, SaslMechanism::Login}));
  EXPECT_EQ(sasl_mechanisms(false, true),
            (std::vector<SaslMechanism>{SaslMechanism::ScramSha256, SaslMechanism::ScramSha1}));
  EXPECT_EQ(sasl_mechanisms(true, true, true).size(), 6u);
  EXPECT_EQ(sasl_mechanisms(true, true, true).front(), SaslMechanism::ScramSha256Plus);
}

}  // namespace
}  // namespace valija::auth
