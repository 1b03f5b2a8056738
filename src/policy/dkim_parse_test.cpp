// DKIM: DKIM-Signature fields (RFC 6376 §3.5, tag-lists §3.2) and key records (§3.6.1).
#include <gtest/gtest.h>

#include "policy/dkim.hpp"

namespace valija::policy::dkim {
namespace {

constexpr std::string_view kBh = "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=";

// A valid signature value with `extra` tags appended (or replacing none: the tests that
// need a tag changed build the value themselves).
std::string sig_value(std::string_view extra = "") {
  return "v=1; a=rsa-sha256; d=Example.ORG; s=sel; h=From:To; bh=" + std::string(kBh) + "; b=AAAA" +
         std::string(extra);
}

Errc error_of(std::string_view value) {
  auto s = parse_signature(value);
  EXPECT_FALSE(s) << value;
  return s ? Errc::Internal : s.error().code;
}

TEST(DkimSignature, ParsesTagsAndDefaults) {
  auto s = parse_signature(sig_value());
  ASSERT_TRUE(s) << s.error().detail;
  EXPECT_EQ(s->algorithm, Algorithm::RsaSha256);
  EXPECT_EQ(s->domain, "example.org");
  EXPECT_EQ(s->selector, "sel");
  EXPECT_EQ(s->headers, (std::vector<std::string>{"from", "to"}));
  EXPECT_EQ(s->auid, "@example.org");  // §3.5 i= default
  EXPECT_EQ(s->header_canon, Canon::Simple);
  EXPECT_EQ(s->body_canon, Canon::Simple);
  EXPECT_EQ(s->signature, std::string(3, '\0'));
  EXPECT_EQ(s->b_text, "AAAA");
  EXPECT_EQ(s->body_hash.size(), 32u);
  EXPECT_FALSE(s->length);
  EXPECT_FALSE(s->timestamp);
  EXPECT_EQ(s->field, "DKIM-Signature:" + sig_value());
}

TEST(DkimSignature, AllTagsFoldedAndUnknownOnesIgnored) {
  auto s = parse_signature(
      " v = 1 ;\r\n\ta=ed25519-sha256; c=relaxed/simple; d=example.org; s=sel;\r\n"
      " h=from : subject\r\n :to; i=ana@mail.Example.org; l=12; q=dns/txt; t=100; x=200;\r\n"
      " z=From:ana|20example.org; future_tag=whatever; bh=2jUSOH9NhtVGCQWNr9BrIAPr\r\n eKQjO6Sn7XIkfJVOzv8=;\r\n"
      " b=AB\r\n CD;");
  ASSERT_TRUE(s) << s.error().detail;
  EXPECT_EQ(s->algorithm, Algorithm::Ed25519Sha256);
  EXPECT_EQ(s->header_canon, Canon::Relaxed);
  EXPECT_EQ(s->body_canon, Canon::Simple);
  EXPECT_EQ(s->headers, (std::vector<std::string>{"from", "subject", "to"}));
  EXPECT_EQ(s->auid, "ana@mail.Example.org");
  EXPECT_EQ(s->length, 12u);
  EXPECT_EQ(s->timestamp, 100);
  EXPECT_EQ(s->expiration, 200);
  EXPECT_EQ(s->b_text, "ABCD");
}

TEST(DkimSignature, HeaderCanonAloneMeansSimpleBody) {
  auto s = parse_signature(sig_value("; c=relaxed"));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->header_canon, Canon::Relaxed);
  EXPECT_EQ(s->body_canon, Canon::Simple);
  EXPECT_EQ(error_of(sig_value("; c=relaxed/fancy")), Errc::Invalid);
  EXPECT_EQ(error_of(sig_value("; c=nowsp")), Errc::Invalid);
}

TEST(DkimSignature, MissingRequiredTags) {
  const std::string full = sig_value();
  for (std::string tag : {"v=1; ", "a=rsa-sha256; ", "d=Example.ORG; ", "s=sel; ", "h=From:To; "}) {
    std::string v = full;
    v.erase(v.find(tag), tag.size());
    EXPECT_EQ(error_of(v), Errc::Invalid) << tag;
  }
  EXPECT_EQ(error_of("v=1; a=rsa-sha256; d=example.org; s=sel; h=from; b=AAAA"), Errc::Invalid);  // no bh=
  EXPECT_EQ(error_of("v=1; a=rsa-sha256; d=example.org; s=sel; h=from; bh=" + std::string(kBh)), Errc::Invalid);
}

TEST(DkimSignature, TagListSyntaxErrors) {
  EXPECT_EQ(error_of(sig_value("; d=other.example")), Errc::Invalid);  // duplicate
  EXPECT_EQ(error_of(sig_value("; nonsense")), Errc::Invalid);        // no '='
  EXPECT_EQ(error_of(sig_value("; 9x=1")), Errc::Invalid);            // tag name
  EXPECT_EQ(error_of(sig_value("; z=a\x01")), Errc::Invalid);         // control octet
  EXPECT_TRUE(parse_signature(sig_value(";; ;")));                     // empty specs are fine
  EXPECT_EQ(error_of(""), Errc::Invalid);
  EXPECT_EQ(error_of(sig_value("; z=" + std::string(20000, 'a'))), Errc::Invalid);  // too long
  std::string many = sig_value();
  for (int i = 0; i < 70; ++i) many += "; t" + std::to_string(i) + "=1";
  EXPECT_EQ(error_of(many), Errc::Invalid);
}

TEST(DkimSignature, BadValues) {
  EXPECT_EQ(error_of("v=2; a=rsa-sha256; d=example.org; s=sel; h=from; bh=" + std::string(kBh) + "; b=AAAA"),
            Errc::Invalid);
  EXPECT_EQ(error_of("v=1; a=rsa-sha512; d=example.org; s=sel; h=from; bh=" + std::string(kBh) + "; b=AAAA"),
            Errc::Invalid);
  // Base64: bad characters, bad padding, '=' inside, empty; bh= must be a SHA-256.
  for (std::string b : {"AA!A", "AAA", "A=AA", "AAAA=", ""})
    EXPECT_EQ(error_of("v=1; a=rsa-sha256; d=example.org; s=sel; h=from; bh=" + std::string(kBh) + "; b=" + b),
              Errc::Invalid)
        << b;
  EXPECT_EQ(error_of("v=1; a=rsa-sha256; d=example.org; s=sel; h=from; bh=AAAA; b=AAAA"), Errc::Invalid);
  EXPECT_EQ(error_of(sig_value("; l=-1")), Errc::Invalid);
  EXPECT_EQ(error_of(sig_value("; l=99999999999999999999999")), Errc::Invalid);
  EXPECT_EQ(error_of(sig_value("; t=1x")), Errc::Invalid);
  EXPECT_EQ(error_of(sig_value("; t=200; x=100")), Errc::Invalid);  // x= before t=
  EXPECT_EQ(error_of(sig_value("; t=99999999999999999999")), Errc::Invalid);
  EXPECT_EQ(error_of(sig_value("; q=http/well-known")), Errc::Invalid);
  EXPECT_TRUE(parse_signature(sig_value("; q=other:dns/txt")));
}

TEST(DkimSignature, DomainsAndSelectors) {
  auto with = [](std::string_view d, std::string_view s) {
    return "v=1; a=rsa-sha256; d=" + std::string(d) + "; s=" + std::string(s) + "; h=from; bh=" + std::string(kBh) +
           "; b=AAAA";
  };
  EXPECT_TRUE(parse_signature(with("example.org", "2024._rsa.sel")));
  EXPECT_EQ(error_of(with("exa mple.org", "sel")), Errc::Invalid);
  EXPECT_EQ(error_of(with("example..org", "sel")), Errc::Invalid);
  EXPECT_EQ(error_of(with("example.org.", "sel")), Errc::Invalid);
  EXPECT_EQ(error_of(with("example.org", "se/l")), Errc::Invalid);
  EXPECT_EQ(error_of(with(std::string(64, 'a') + ".org", "sel")), Errc::Invalid);
}

TEST(DkimSignature, HMustNameFrom) {
  EXPECT_EQ(error_of("v=1; a=rsa-sha256; d=example.org; s=sel; h=to:subject; bh=" + std::string(kBh) + "; b=AAAA"),
            Errc::Invalid);
  EXPECT_EQ(error_of("v=1; a=rsa-sha256; d=example.org; s=sel; h=from::to; bh=" + std::string(kBh) + "; b=AAAA"),
            Errc::Invalid);
  std::string h = "from";
  for (int i = 0; i < 64; ++i) h += ":to";
  EXPECT_EQ(error_of("v=1; a=rsa-sha256; d=example.org; s=sel; h=" + h + "; bh=" + std::string(kBh) + "; b=AAAA"),
            Errc::Invalid);
}

TEST(DkimSignature, AuidMustBeUnderTheSigningDomain) {
  EXPECT_TRUE(parse_signature(sig_value("; i=@example.org")));
  EXPECT_TRUE(parse_signature(sig_value("; i=user@Sub.Example.org")));
  EXPECT_TRUE(parse_signature(sig_value("; i=\"odd@local\"@example.org")));
  EXPECT_EQ(error_of(sig_value("; i=user@evil.example")), Errc::Invalid);
  EXPECT_EQ(error_of(sig_value("; i=user@notexample.org")), Errc::Invalid);  // a suffix, not a subdomain
  EXPECT_EQ(error_of(sig_value("; i=user@org")), Errc::Invalid);
  EXPECT_EQ(error_of(sig_value("; i=no-at-sign")), Errc::Invalid);
}

TEST(DkimSignature, RsaSha1IsRefusedByRule) {
  // RFC 8301 §3.1: a refusal by policy, not a syntax error.
  EXPECT_EQ(error_of("v=1; a=rsa-sha1; d=example.org; s=sel; h=from; bh=" + std::string(kBh) + "; b=AAAA"),
            Errc::Permission);
}

// ---------------- key records ----------------

TEST(DkimKeyRecord, DefaultsAndTags) {
  auto k = parse_key_record("p=AAAA");
  ASSERT_TRUE(k);
  EXPECT_EQ(k->type, KeyType::Rsa);
  EXPECT_EQ(k->public_key, std::string(3, '\0'));
  EXPECT_TRUE(k->hashes.empty());
  EXPECT_EQ(k->services, std::vector<std::string>{"*"});
  EXPECT_FALSE(k->testing);
  EXPECT_FALSE(k->strict);
  k = parse_key_record("v=DKIM1; k=ed25519; h=sha1 : SHA256; s=email:other; t=y:s:unknown; n=notes; p=AA AA;");
  ASSERT_TRUE(k) << k.error().detail;
  EXPECT_EQ(k->type, KeyType::Ed25519);
  EXPECT_EQ(k->hashes, (std::vector<std::string>{"sha1", "sha256"}));
  EXPECT_EQ(k->services, (std::vector<std::string>{"email", "other"}));
  EXPECT_TRUE(k->testing);
  EXPECT_TRUE(k->strict);
  EXPECT_EQ(k->public_key.size(), 3u);
}

TEST(DkimKeyRecord, EmptyPIsARevokedKey) {
  auto k = parse_key_record("v=DKIM1; k=rsa; p=");
  ASSERT_TRUE(k);
  EXPECT_TRUE(k->public_key.empty());
}

TEST(DkimKeyRecord, Errors) {
  EXPECT_FALSE(parse_key_record("k=rsa; v=DKIM1; p=AAAA"));  // v= not first
  EXPECT_FALSE(parse_key_record("v=DKIM2; p=AAAA"));
  EXPECT_FALSE(parse_key_record("v=DKIM1; k=rsa"));  // no p=
  EXPECT_FALSE(parse_key_record("v=DKIM1; k=dsa; p=AAAA"));
  EXPECT_FALSE(parse_key_record("v=DKIM1; p=AA*A"));
  EXPECT_FALSE(parse_key_record("v=DKIM1; p=AAAA; p=AAAA"));
  EXPECT_FALSE(parse_key_record("v=spf1 -all"));
  EXPECT_FALSE(parse_key_record("some text"));
  EXPECT_FALSE(parse_key_record(""));
  EXPECT_FALSE(parse_key_record("p=" + std::string(9000, 'A')));
}

}  // namespace
}  // namespace valija::policy::dkim
