// DKIM signing: round trips through verify() for both algorithms and all
// canonicalisations, tampering, oversigning, expiry, t=s, refusals, keys.
#include <gtest/gtest.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "policy/dkim.hpp"
#include "policy/dkim_test_util.hpp"

namespace valija::policy::dkim {
namespace {

using R = Verdict::Result;
using test::replace;
using test::txt;

constexpr std::int64_t kNow = 1'700'000'000;

// RFC 8463 Appendix A.1's Ed25519 secret key as PKCS#8.
constexpr std::string_view kRfcEdPem =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
    "-----END PRIVATE KEY-----\n";

const std::string kMessage =
    "From: Ana <ana@example.org>\r\n"
    "To: bo@example.net\r\n"
    "Subject: Lunch\r\n"
    "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
    "Message-ID: <lunch@example.org>\r\n"
    "X-Mailer: test\r\n"
    "\r\n"
    "Noon,  at the usual place?\r\n"
    "\r\n";

struct TestKey {
  Key key;
  std::string record;
};

// One key of each algorithm for the whole run (1024-bit RSA: fast; production uses 2048).
const TestKey& test_key(Algorithm a) {
  static const std::vector<TestKey> keys = [] {
    std::vector<TestKey> out;
    for (auto alg : {Algorithm::RsaSha256, Algorithm::Ed25519Sha256}) {
      auto g = generate_key(alg, 1024);
      if (!g) std::abort();
      out.push_back({Key{"example.org", alg == Algorithm::RsaSha256 ? "rsa" : "ed", alg, g->private_key_pem},
                     key_record(alg, g->public_key_b64)});
    }
    return out;
  }();
  return keys[a == Algorithm::RsaSha256 ? 0 : 1];
}

constexpr Algorithm kBoth[] = {Algorithm::RsaSha256, Algorithm::Ed25519Sha256};

std::string signed_message(Algorithm a, const std::string& msg, const SignOptions& o = {}) {
  auto field = sign(msg, test_key(a).key, kNow, o);
  EXPECT_TRUE(field) << field.error().detail;
  return field ? *field + msg : msg;
}

// The verdict on the topmost signature of `msg`.
Verdict check(Algorithm a, const std::string& msg, std::int64_t now = kNow, const std::string& record = "") {
  auto found = signatures(msg);
  if (found.pending.empty()) return Verdict{R::PermError, "", "", "", "", "", "no signature found", false};
  return verify(msg, found.pending[0], txt({record.empty() ? test_key(a).record : record}), now);
}

TEST(DkimSign, RoundTripEveryAlgorithmAndCanonicalisation) {
  for (auto a : kBoth)
    for (auto hc : {Canon::Simple, Canon::Relaxed})
      for (auto bc : {Canon::Simple, Canon::Relaxed}) {
        SignOptions o;
        o.header_canon = hc;
        o.body_canon = bc;
        auto v = check(a, signed_message(a, kMessage, o));
        EXPECT_EQ(v.result, R::Pass) << algorithm_name(a) << " " << int(hc) << int(bc) << ": " << v.reason;
        EXPECT_EQ(v.reason, "");
      }
}

TEST(DkimSign, FieldShapeAndOversigning) {
  auto field = sign(kMessage, test_key(Algorithm::Ed25519Sha256).key, kNow);
  ASSERT_TRUE(field);
  EXPECT_EQ(field->rfind("DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed; d=example.org;\r\n s=ed;", 0), 0u)
      << *field;
  ASSERT_TRUE(field->ends_with("\r\n"));
  std::size_t pos = 0, lines = 0;
  for (auto end = field->find("\r\n"); end != std::string::npos; pos = end + 2, end = field->find("\r\n", pos)) {
    EXPECT_LE(end - pos, 76u) << field->substr(pos, end - pos);
    if (lines++ > 0) {
      EXPECT_EQ((*field)[pos], ' ');
    }
  }
  auto found = signatures(*field + kMessage);
  ASSERT_EQ(found.pending.size(), 1u);
  const auto& sig = found.pending[0].sig;
  EXPECT_EQ(sig.headers, (std::vector<std::string>{"from", "from", "reply-to", "subject", "subject", "date",
                                                   "message-id", "to", "to", "cc"}));
  EXPECT_EQ(sig.timestamp, kNow);
  EXPECT_FALSE(sig.expiration);
  // Ed25519 is deterministic (RFC 8032 §5.1.6): the same input signs the same.
  EXPECT_EQ(*field, *sign(kMessage, test_key(Algorithm::Ed25519Sha256).key, kNow));
}

TEST(DkimSign, LongDomainMakesALongLineNotAnEmptyOne) {
  Key k = test_key(Algorithm::Ed25519Sha256).key;
  k.domain = std::string(63, 'a') + "." + std::string(63, 'b') + ".example.org";
  auto field = sign(kMessage, k, kNow);
  ASSERT_TRUE(field);
  EXPECT_EQ(field->find("\r\n \r\n"), std::string::npos);
  EXPECT_NE(field->find("\r\n d=" + k.domain + ";"), std::string::npos) << *field;
  auto found = signatures(*field + kMessage);
  ASSERT_EQ(found.pending.size(), 1u);
  EXPECT_EQ(verify(*field + kMessage, found.pending[0], txt({test_key(Algorithm::Ed25519Sha256).record}), kNow).result,
            R::Pass);
}

TEST(DkimSign, TamperingFails) {
  struct Change {
    const char* what;
    std::string from, to;
    const char* reason;
  };
  const Change changes[] = {
      {"body", "usual place", "other place", "body hash mismatch"},
      {"signed header", "Subject: Lunch", "Subject: Dinner", "signature did not verify"},
      {"second From", "From: Ana", "From: Mallory <m@evil.example>\r\nFrom: Ana", "signature did not verify"},
      {"second Subject", "X-Mailer: test", "X-Mailer: test\r\nSubject: Urgent", "signature did not verify"},
      {"added Cc", "X-Mailer: test", "X-Mailer: test\r\nCc: x@evil.example", "signature did not verify"},
      {"added Reply-To", "X-Mailer: test", "X-Mailer: test\r\nReply-To: x@evil.example", "signature did not verify"},
      {"removed Date", "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n", "", "signature did not verify"},
  };
  for (auto a : kBoth) {
    auto msg = signed_message(a, kMessage);
    for (const auto& c : changes) {
      auto v = check(a, replace(msg, c.from, c.to));
      EXPECT_EQ(v.result, R::Fail) << c.what;
      EXPECT_EQ(v.reason, c.reason) << c.what;
    }
    // A field nobody signed may come and go.
    EXPECT_EQ(check(a, replace(msg, "X-Mailer: test\r\n", "X-Spam: no\r\n")).result, R::Pass);
  }
}

TEST(DkimSign, RelaxedToleratesWhitespaceSimpleDoesNot) {
  auto respace = [](const std::string& m) {
    return replace(replace(m, "Subject: Lunch", "Subject:\r\n   Lunch "), "Noon,  at", "Noon, at");
  };
  for (auto a : kBoth) {
    EXPECT_EQ(check(a, respace(signed_message(a, kMessage))).result, R::Pass);
    SignOptions simple;
    simple.header_canon = simple.body_canon = Canon::Simple;
    EXPECT_EQ(check(a, respace(signed_message(a, kMessage, simple))).result, R::Fail);
  }
}

TEST(DkimSign, ExpiryAllowsFiveMinutesOfSkew) {
  SignOptions o;
  o.expire_after = 3600;
  auto msg = signed_message(Algorithm::Ed25519Sha256, kMessage, o);
  EXPECT_EQ(signatures(msg).pending.at(0).sig.expiration, kNow + 3600);
  EXPECT_EQ(check(Algorithm::Ed25519Sha256, msg, kNow + 3600 + 300).result, R::Pass);
  auto v = check(Algorithm::Ed25519Sha256, msg, kNow + 3600 + 301);
  EXPECT_EQ(v.result, R::Fail);
  EXPECT_EQ(v.reason, "signature expired");
  EXPECT_EQ(result_name(v.result), "fail");
}

TEST(DkimSign, StrictKeyWantsTheAuidDomainToBeD) {
  auto a = Algorithm::Ed25519Sha256;
  const std::string strict = test_key(a).record + "; t=s";
  SignOptions sub;
  sub.auid = "ana@mail.example.org";
  auto msg = signed_message(a, kMessage, sub);
  auto v = check(a, msg);
  EXPECT_EQ(v.result, R::Pass);
  EXPECT_EQ(v.auid, "ana@mail.example.org");
  v = check(a, msg, kNow, strict);
  EXPECT_EQ(v.result, R::PermError);
  EXPECT_EQ(v.reason, "key t=s requires the i= domain to equal d=");
  SignOptions same;
  same.auid = "ana@Example.org";
  EXPECT_EQ(check(a, signed_message(a, kMessage, same), kNow, strict).result, R::Pass);
  EXPECT_EQ(check(a, signed_message(a, kMessage), kNow, strict).result, R::Pass);
}

TEST(DkimSign, Refusals) {
  const Key& ed = test_key(Algorithm::Ed25519Sha256).key;
  const Key& rsa = test_key(Algorithm::RsaSha256).key;
  auto refused = [](std::string_view msg, const Key& k, const SignOptions& o = {}, std::int64_t now = kNow) {
    auto r = sign(msg, k, now, o);
    return r ? Errc::Internal : r.error().code;
  };
  EXPECT_EQ(refused("To: bo@example.net\r\n\r\nno From\r\n", ed), Errc::Invalid);
  EXPECT_EQ(refused("From: a@example.org\r\nFrom: b@example.org\r\n\r\nx\r\n", ed), Errc::Invalid);
  EXPECT_EQ(refused(" folded: x\r\n" + kMessage, ed), Errc::Invalid);
  EXPECT_EQ(refused("", ed), Errc::Invalid);
  Key bad = ed;
  bad.private_key_pem = "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n";
  EXPECT_EQ(refused(kMessage, bad), Errc::Invalid);
  bad = rsa;
  bad.algorithm = Algorithm::Ed25519Sha256;  // an RSA key for ed25519-sha256
  EXPECT_EQ(refused(kMessage, bad), Errc::Invalid);
  bad = ed;
  bad.domain = "exa mple.org";
  EXPECT_EQ(refused(kMessage, bad), Errc::Invalid);
  bad = ed;
  bad.selector = "";
  EXPECT_EQ(refused(kMessage, bad), Errc::Invalid);
  SignOptions o;
  o.auid = "ana@evil.example";
  EXPECT_EQ(refused(kMessage, ed, o), Errc::Invalid);
  o.auid = "ana;x=1@example.org";
  EXPECT_EQ(refused(kMessage, ed, o), Errc::Invalid);
  o = {};
  o.expire_after = std::numeric_limits<std::int64_t>::max();
  EXPECT_EQ(refused(kMessage, ed, o), Errc::Invalid);
  EXPECT_EQ(refused(kMessage, ed, {}, -1), Errc::Invalid);
  std::string many;
  for (int i = 0; i < 1000; ++i) many += "X-Filler: " + std::to_string(i) + "\r\n";
  EXPECT_EQ(refused(many + kMessage, ed), Errc::Limit);
  std::string tos;
  for (int i = 0; i < 60; ++i) tos += "To: x" + std::to_string(i) + "@example.net\r\n";
  EXPECT_EQ(refused(tos + kMessage, ed), Errc::Limit);  // h= would pass its limit
}

TEST(DkimSign, BareLfMessages) {
  for (auto a : kBoth) {
    auto crlf = signed_message(a, kMessage);
    EXPECT_EQ(check(a, replace(crlf, "\r\n", "\n")).result, R::Pass);
    auto lf = replace(kMessage, "\r\n", "\n");
    auto signed_lf = signed_message(a, lf);
    EXPECT_EQ(check(a, signed_lf).result, R::Pass);
    EXPECT_EQ(check(a, replace(replace(signed_lf, "\r\n", "\n"), "\n", "\r\n")).result, R::Pass);
  }
}

TEST(DkimSign, OnTopOfOtherSignatures) {
  auto rfc = test::data_file("rfc8463.eml");
  auto msg = signed_message(Algorithm::RsaSha256, rfc);
  EXPECT_EQ(signatures(msg).pending.size(), 3u);
  EXPECT_EQ(check(Algorithm::RsaSha256, msg).result, R::Pass);
}

// ---------------- keys ----------------

TEST(DkimKeysMade, GenerateAndPublicKeys) {
  EXPECT_FALSE(generate_key(Algorithm::RsaSha256, 512));
  EXPECT_FALSE(generate_key(Algorithm::RsaSha256, 8192));
  for (auto a : kBoth) {
    const auto& k = test_key(a);
    auto p = public_key_of(k.key.private_key_pem, a);
    ASSERT_TRUE(p);
    EXPECT_EQ(k.record, key_record(a, *p));
  }
  EXPECT_EQ(key_record(Algorithm::RsaSha256, "AAAA"), "v=DKIM1; k=rsa; p=AAAA");
  EXPECT_EQ(key_record(Algorithm::Ed25519Sha256, "AAAA"), "v=DKIM1; k=ed25519; p=AAAA");
  EXPECT_FALSE(public_key_of(test_key(Algorithm::RsaSha256).key.private_key_pem, Algorithm::Ed25519Sha256));
  EXPECT_FALSE(public_key_of("", Algorithm::RsaSha256));
  // RFC 8463 Appendix A.1/A.2: the secret key's public half is the published one.
  EXPECT_EQ(public_key_of(kRfcEdPem, Algorithm::Ed25519Sha256), "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
}

TEST(DkimKeysMade, Rfc8463KeySignsForItsRecord) {
  Key k{"football.example.com", "brisbane", Algorithm::Ed25519Sha256, std::string(kRfcEdPem)};
  auto field = sign(kMessage, k, kNow);
  ASSERT_TRUE(field);
  EXPECT_EQ(check(Algorithm::Ed25519Sha256, *field + kMessage, kNow,
                  "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=")
                .result,
            R::Pass);
}

TEST(DkimKeysMade, BareRsaPublicKeyIsAccepted) {
  const auto& k = test_key(Algorithm::RsaSha256);
  BIO* bio = BIO_new_mem_buf(k.key.private_key_pem.data(), static_cast<int>(k.key.private_key_pem.size()));
  EVP_PKEY* pkey = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  ASSERT_NE(pkey, nullptr);
  unsigned char* der = nullptr;
  int n = i2d_PublicKey(pkey, &der);  // PKCS#1 RSAPublicKey
  std::string p = test::b64(der, n);
  OPENSSL_free(der);
  EVP_PKEY_free(pkey);
  auto msg = signed_message(Algorithm::RsaSha256, kMessage);
  EXPECT_EQ(check(Algorithm::RsaSha256, msg, kNow, "v=DKIM1; k=rsa; p=" + p).result, R::Pass);
}

TEST(DkimKeysMade, DefaultSignedHeaders) {
  const auto& h = default_signed_headers();
  EXPECT_EQ(h.front(), "from");
  for (std::size_t i = 0; i < h.size(); ++i)
    for (std::size_t j = i + 1; j < h.size(); ++j) EXPECT_NE(h[i], h[j]);
  EXPECT_NE(std::find(h.begin(), h.end(), "list-unsubscribe-post"), h.end());
}

}  // namespace
}  // namespace valija::policy::dkim
