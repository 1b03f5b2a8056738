// DKIM verification: the RFC 8463 Appendix A vectors, messages signed by dkimpy, key
// lookup outcomes and key record rules (RFC 6376 §6).
#include <gtest/gtest.h>

#include <map>

#include "policy/dkim.hpp"
#include "policy/dkim_test_util.hpp"

namespace valija::policy::dkim {
namespace {

using R = Verdict::Result;
using test::replace;
using test::txt;

// RFC 8463 Appendix A.2: the keys' records.
const std::string kRfcEd = "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
const std::string kRfcRsa =
    "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/"
    "J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/"
    "K4w3QIDAQAB";
constexpr std::int64_t kRfcTime = 1528637909;  // t= of both signatures

std::map<std::string, std::string> rfc_keys() {
  return {{"brisbane._domainkey.football.example.com", kRfcEd}, {"test._domainkey.football.example.com", kRfcRsa}};
}

// The verdicts on every signature of `msg`, keys found by query name (others: NXDOMAIN).
std::vector<Verdict> verify_all(std::string_view msg, const std::map<std::string, std::string>& keys, std::int64_t now) {
  auto found = signatures(msg);
  std::vector<Verdict> out = found.malformed;
  for (const auto& p : found.pending) {
    EXPECT_EQ(p.key_query.type, dns::RrType::Txt);
    auto it = keys.find(p.key_query.name);
    dns::Answer a;
    a.outcome = dns::Outcome::NxDomain;
    if (it != keys.end()) a = txt({it->second});
    out.push_back(verify(msg, p, a, now));
  }
  return out;
}

// ---------------- RFC 8463 Appendix A ----------------

TEST(DkimRfc8463, BothSignaturesVerify) {
  auto msg = test::data_file("rfc8463.eml");
  auto found = signatures(msg);
  ASSERT_EQ(found.pending.size(), 2u);
  EXPECT_TRUE(found.malformed.empty());
  EXPECT_EQ(found.pending[0].key_query.name, "brisbane._domainkey.football.example.com");
  EXPECT_EQ(found.pending[1].key_query.name, "test._domainkey.football.example.com");
  auto v = verify_all(msg, rfc_keys(), kRfcTime + 86400 * 365 * 10);
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].result, R::Pass) << v[0].reason;
  EXPECT_EQ(v[0].algorithm, "ed25519-sha256");
  EXPECT_EQ(v[0].b_prefix, "/gCrinpc");
  EXPECT_EQ(v[0].domain, "football.example.com");
  EXPECT_EQ(v[0].selector, "brisbane");
  EXPECT_EQ(v[0].auid, "@football.example.com");
  EXPECT_EQ(v[1].result, R::Pass) << v[1].reason;
  EXPECT_EQ(v[1].algorithm, "rsa-sha256");
  EXPECT_EQ(v[1].b_prefix, "F45dVWDf");
  EXPECT_EQ(result_name(v[0].result), "pass");
}

TEST(DkimRfc8463, BareLfCopyVerifiesToo) {
  auto msg = replace(test::data_file("rfc8463.eml"), "\r\n", "\n");
  for (const auto& v : verify_all(msg, rfc_keys(), kRfcTime)) EXPECT_EQ(v.result, R::Pass) << v.reason;
}

TEST(DkimRfc8463, TamperedBodyOrHeaderFails) {
  auto msg = test::data_file("rfc8463.eml");
  for (const auto& v : verify_all(replace(msg, "hungry", "Hungry"), rfc_keys(), kRfcTime)) {
    EXPECT_EQ(v.result, R::Fail);
    EXPECT_EQ(v.reason, "body hash mismatch");
  }
  for (const auto& v : verify_all(replace(msg, "dinner ready?", "dinner ready!"), rfc_keys(), kRfcTime)) {
    EXPECT_EQ(v.result, R::Fail);
    EXPECT_EQ(v.reason, "signature did not verify");
  }
  // Relaxed canonicalisation: whitespace changes in the body and header names' case pass.
  auto respaced = replace(replace(msg, "game.  Are", "game. \t Are"), "\r\nSubject:", "\r\nSUBJECT: ");
  for (const auto& v : verify_all(respaced, rfc_keys(), kRfcTime)) EXPECT_EQ(v.result, R::Pass) << v.reason;
}

TEST(DkimRfc8463, KeyOfTheOtherTypeIsPermerror) {
  auto msg = test::data_file("rfc8463.eml");
  auto swapped = std::map<std::string, std::string>{{"brisbane._domainkey.football.example.com", kRfcRsa},
                                                    {"test._domainkey.football.example.com", kRfcEd}};
  for (const auto& v : verify_all(msg, swapped, kRfcTime)) {
    EXPECT_EQ(v.result, R::PermError);
    EXPECT_EQ(v.reason, "key type does not match a=");
  }
}

// ---------------- dkimpy ----------------

struct DkimpyCase {
  const char* file;
  const char* key;
};

TEST(DkimDkimpy, SignaturesMadeByDkimpyVerify) {
  const DkimpyCase cases[] = {{"dkimpy-rsa-simple.eml", "dkimpy-rsa.txt"},
                              {"dkimpy-rsa-relaxed.eml", "dkimpy-rsa.txt"},
                              {"dkimpy-rsa-length.eml", "dkimpy-rsa.txt"},
                              {"dkimpy-ed25519-relaxed-simple.eml", "dkimpy-ed25519.txt"},
                              {"dkimpy-ed25519-simple-relaxed.eml", "dkimpy-ed25519.txt"}};
  for (const auto& c : cases) {
    auto msg = test::data_file(c.file);
    auto found = signatures(msg);
    ASSERT_EQ(found.pending.size(), 1u) << c.file;
    auto v = verify(msg, found.pending[0], txt({test::data_file(c.key)}), *found.pending[0].sig.timestamp + 10);
    EXPECT_EQ(v.result, R::Pass) << c.file << ": " << v.reason;
    EXPECT_EQ(v.reason, "") << c.file;
  }
}

TEST(DkimDkimpy, LengthTagLeavesTheRestUnsignedOrIsTooLong) {
  auto msg = test::data_file("dkimpy-rsa-length.eml");
  auto key = txt({test::data_file("dkimpy-rsa.txt")});
  auto check = [&](const std::string& m) {
    auto found = signatures(m);
    return verify(m, found.pending.at(0), key, *found.pending.at(0).sig.timestamp);
  };
  auto v = check(msg);
  EXPECT_EQ(v.result, R::Pass) << v.reason;  // l= covers the whole body
  EXPECT_TRUE(authenticates(v));
  // Appended content verifies but authenticates nothing (RFC 6376 §8.2).
  v = check(msg + "Appended by a list.\r\n");
  EXPECT_EQ(v.result, R::Policy);
  EXPECT_EQ(result_name(v.result), "policy");
  EXPECT_FALSE(authenticates(v));
  // The two empty lines that ended the signed body now count too: 4 + 21 octets.
  EXPECT_EQ(v.reason, "l= leaves 25 octets unsigned");
  // Appended empty lines are not content: relaxed canonicalisation drops them.
  v = check(msg + "\r\n\r\n");
  EXPECT_EQ(v.result, R::Pass) << v.reason;
  v = check(replace(msg, "last line\r\n", ""));
  EXPECT_EQ(v.result, R::Fail);
  EXPECT_EQ(v.reason, "l= is longer than the body");
}

// ---------------- key lookups and key records ----------------

// The RFC 8463 ed25519 signature against `answer`.
Verdict rfc_ed_with(const dns::Answer& answer) {
  auto msg = test::data_file("rfc8463.eml");
  auto found = signatures(msg);
  return verify(msg, found.pending.at(0), answer, kRfcTime);
}

dns::Answer outcome(dns::Outcome o) {
  dns::Answer a;
  a.outcome = o;
  a.detail = "test";
  return a;
}

TEST(DkimKeys, LookupOutcomes) {
  auto v = rfc_ed_with(outcome(dns::Outcome::Temporary));
  EXPECT_EQ(v.result, R::TempError);
  EXPECT_EQ(result_name(v.result), "temperror");
  for (auto o : {dns::Outcome::NxDomain, dns::Outcome::NoData}) {
    v = rfc_ed_with(outcome(o));
    EXPECT_EQ(v.result, R::PermError);
    EXPECT_EQ(v.reason, "no key for signature");
  }
  EXPECT_EQ(rfc_ed_with(txt({})).reason, "no key for signature");
  EXPECT_EQ(rfc_ed_with(txt({"v=spf1 -all", "garbage", kRfcEd})).result, R::Pass);
  v = rfc_ed_with(txt({"v=spf1 -all", "k=ed25519"}));
  EXPECT_EQ(v.result, R::PermError);
  EXPECT_EQ(v.reason.rfind("no valid key record", 0), 0u) << v.reason;
}

TEST(DkimKeys, RecordRules) {
  const std::string p = "p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
  auto v = rfc_ed_with(txt({"v=DKIM1; k=ed25519; p="}));
  EXPECT_EQ(v.result, R::PermError);
  EXPECT_EQ(v.reason, "key revoked");
  v = rfc_ed_with(txt({"v=DKIM1; k=ed25519; h=sha1; " + p}));
  EXPECT_EQ(v.result, R::PermError);
  EXPECT_EQ(v.reason, "key h= does not allow sha256");
  EXPECT_EQ(rfc_ed_with(txt({"v=DKIM1; k=ed25519; h=sha1:sha256; " + p})).result, R::Pass);
  EXPECT_EQ(rfc_ed_with(txt({"v=DKIM1; k=ed25519; s=email; " + p})).result, R::Pass);
  EXPECT_EQ(rfc_ed_with(txt({"v=DKIM1; k=ed25519; s=other:*; " + p})).result, R::Pass);
  v = rfc_ed_with(txt({"v=DKIM1; k=ed25519; s=other; " + p}));
  EXPECT_EQ(v.result, R::PermError);
  EXPECT_EQ(v.reason, "key s= is not for email");
  // t=s with the default i= (= d=) is fine; t=y passes and is reported as testing, but
  // authenticates nothing (RFC 6376 §3.6.1: treated as unsigned).
  v = rfc_ed_with(txt({"v=DKIM1; k=ed25519; t=s; " + p}));
  EXPECT_EQ(v.result, R::Pass);
  EXPECT_FALSE(v.testing);
  EXPECT_TRUE(authenticates(v));
  for (const char* flags : {"t=y; ", "t=y:s; ", "t=s:y; "}) {
    v = rfc_ed_with(txt({"v=DKIM1; k=ed25519; " + std::string(flags) + p}));
    EXPECT_EQ(v.result, R::Pass) << flags;
    EXPECT_TRUE(v.testing) << flags;
    EXPECT_FALSE(authenticates(v)) << flags;
  }
  v = rfc_ed_with(txt({"v=DKIM1; k=ed25519; p=AAAA"}));
  EXPECT_EQ(v.result, R::PermError);
  EXPECT_EQ(v.reason, "Ed25519 key is not 32 octets");
  v = rfc_ed_with(txt({test::data_file("dkimpy-ed25519.txt")}));  // another key
  EXPECT_EQ(v.result, R::Fail);
  EXPECT_EQ(v.reason, "signature did not verify");
}

TEST(DkimKeys, RsaKeySizes) {
  auto msg = test::data_file("rfc8463.eml");
  auto found = signatures(msg);
  auto rsa_with = [&](const std::string& p) {
    return verify(msg, found.pending.at(1), txt({"v=DKIM1; k=rsa; p=" + p}), kRfcTime);
  };
  auto v = rsa_with(test::rsa_spki_b64(512));
  EXPECT_EQ(v.result, R::PermError);
  EXPECT_EQ(v.reason, "RSA key shorter than 1024 bits");  // RFC 8301 §3.2
  v = rsa_with(test::oversized_rsa_b64());
  EXPECT_EQ(v.result, R::PermError);
  EXPECT_EQ(v.reason, "RSA key longer than 4096 bits");
  v = rsa_with("AAAA");
  EXPECT_EQ(v.result, R::PermError);
  EXPECT_EQ(v.reason, "unusable RSA key");
  // An Ed25519 SubjectPublicKeyInfo is not an RSA key.
  v = rsa_with("MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
  EXPECT_EQ(v.result, R::PermError);
}

// ---------------- finding signatures ----------------

std::string with_field(std::string_view field) { return std::string(field) + "\r\n" + test::data_file("rfc8463.eml"); }

TEST(DkimFound, RsaSha1IsPolicyAndStillNamesItsSigner) {
  auto found = signatures(with_field(
      "DKIM-Signature: v=1; a=rsa-sha1; d=Old.Example; s=sel;\r\n h=from; bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;"
      " b=abcdefghijkl"));
  ASSERT_EQ(found.malformed.size(), 1u);
  EXPECT_EQ(found.pending.size(), 2u);
  const auto& v = found.malformed[0];
  EXPECT_EQ(v.result, R::Policy);
  EXPECT_EQ(result_name(v.result), "policy");
  EXPECT_EQ(v.domain, "old.example");
  EXPECT_EQ(v.selector, "sel");
  EXPECT_EQ(v.algorithm, "rsa-sha1");
  EXPECT_EQ(v.b_prefix, "abcdefgh");
}

TEST(DkimFound, MalformedSignaturesArePermerrors) {
  for (std::string_view field :
       {"DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=sel; h=from; b=AAAA",  // no bh=
        "DKIM-Signature: garbage", "DKIM-Signature:", "dkim-signature: v=1; v=1",
        "DKIM-Signature: v=1; a=rsa-sha256; d=example.org; i=@evil.example; s=sel; h=from; bh=AAAA; b=AAAA"}) {
    auto found = signatures(with_field(field));
    ASSERT_EQ(found.malformed.size(), 1u) << field;
    EXPECT_EQ(found.malformed[0].result, R::PermError) << field;
    EXPECT_FALSE(found.malformed[0].reason.empty());
  }
  auto found = signatures(with_field("DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=sel; h=from; b=AAAA"));
  EXPECT_EQ(found.malformed[0].domain, "example.org");
}

TEST(DkimFound, AtMostMaxSignaturesFromTheTop) {
  std::string extra;
  for (int i = 0; i < 5; ++i) extra += "DKIM-Signature: v=1; broken\r\n";
  auto found = signatures(extra + test::data_file("rfc8463.eml"));
  EXPECT_EQ(found.malformed.size(), 5u);
  EXPECT_TRUE(found.pending.empty());
  found = signatures(test::data_file("rfc8463.eml"), 1);
  EXPECT_EQ(found.pending.size(), 1u);
  EXPECT_EQ(found.pending[0].sig.selector, "brisbane");
}

TEST(DkimFound, TooManyHeaderFields) {
  auto msg = test::data_file("rfc8463.eml");
  std::string many;
  for (int i = 0; i < 1000; ++i) many += "X-Filler: " + std::to_string(i) + "\r\n";
  auto found = signatures(replace(msg, "From:", many + "From:"));
  EXPECT_TRUE(found.pending.empty());
  ASSERT_EQ(found.malformed.size(), 2u);
  EXPECT_EQ(found.malformed[0].reason, "more than 1000 header fields");
  EXPECT_EQ(found.malformed[0].domain, "football.example.com");
}

TEST(DkimFound, PendingOfAnotherMessageIsNotVerified) {
  auto msg = test::data_file("rfc8463.eml");
  auto found = signatures(msg);
  auto v = verify("X: y\r\n" + msg, found.pending.at(0), txt({kRfcEd}), kRfcTime);
  EXPECT_EQ(v.result, R::PermError);
  EXPECT_EQ(v.reason, "signature field not found in the message");
}

TEST(DkimFound, NothingToFindInOddMessages) {
  for (std::string_view m : {"", "\r\n", "\r\n\r\nDKIM-Signature: v=1", "DKIM-Signature", " DKIM-Signature: x",
                             "DKIM-Signature : v=1\r\n"}) {
    auto found = signatures(m);
    EXPECT_TRUE(found.pending.empty());
  }
}

}  // namespace
}  // namespace valija::policy::dkim
