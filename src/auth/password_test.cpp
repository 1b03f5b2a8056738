// Argon2id password hashes (PHC string format).
#include "auth/password.hpp"

#include <gtest/gtest.h>

#include <regex>
#include <string>
#include <vector>

namespace valija::auth {
namespace {

// Cheap parameters for tests that do not check the defaults (argon2's minimum memory).
constexpr Argon2Params kFast{8, 1, 1};

TEST(Password, HashHasDefaultArgon2idFormat) {
  auto h = hash_password("correct horse battery staple");
  ASSERT_TRUE(h) << h.error().message();
  // 16-byte salt and 32-byte hash, unpadded base64 (PHC string format).
  static const std::regex kPhc(R"(^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$)");
  EXPECT_TRUE(std::regex_match(*h, kPhc)) << *h;
}

TEST(Password, ParamsAreEncoded) {
  auto h = hash_password("pw", kFast);
  ASSERT_TRUE(h) << h.error().message();
  EXPECT_EQ(h->rfind("$argon2id$v=19$m=8,t=1,p=1$", 0), 0u) << *h;
  EXPECT_TRUE(verify_password("pw", *h));
}

TEST(Password, VerifyRightAndWrong) {
  auto h = hash_password("s3cret!");
  ASSERT_TRUE(h);
  EXPECT_TRUE(verify_password("s3cret!", *h));
  EXPECT_FALSE(verify_password("s3cret", *h));
  EXPECT_FALSE(verify_password("S3cret!", *h));
  EXPECT_FALSE(verify_password("s3cret!!", *h));
  EXPECT_FALSE(verify_password("", *h));
}

TEST(Password, VerifyKnownVector) {
  // The reference implementation's test vector (argon2 src/test.c): "password", salt
  // "somesalt", m=65536, t=2, p=1, version 0x13.
  EXPECT_TRUE(verify_password(
      "password", "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"));
  EXPECT_FALSE(verify_password(
      "passwore", "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"));
}

TEST(Password, BytesAfterNulCount) {
  const std::string with_nul("pass\0word", 9);
  auto h = hash_password(with_nul, kFast);
  ASSERT_TRUE(h);
  EXPECT_TRUE(verify_password(with_nul, *h));
  EXPECT_FALSE(verify_password("pass", *h));
}

TEST(Password, Utf8Password) {
  auto h = hash_password("contraseña✓", kFast);
  ASSERT_TRUE(h);
  EXPECT_TRUE(verify_password("contraseña✓", *h));
  EXPECT_FALSE(verify_password("contrasena✓", *h));
}

TEST(Password, MalformedHashRejected) {
  auto h = hash_password("pw", kFast);
  ASSERT_TRUE(h);
  const std::string good = *h;
  const std::vector<std::string> bad{
      "",
      "pw",
      "$argon2id$",
      "$argon2i$" + good.substr(10),                // another variant
      "$argon2d$" + good.substr(10),
      good.substr(0, good.size() - 10),             // truncated hash
      good.substr(0, good.rfind('$')),              // no hash at all
      "$argon2id$v=19$m=8,t=1,p=1$!!!!$!!!!",       // not base64
      "$argon2id$v=19$m=x,t=1,p=1" + good.substr(good.find("$", 20)),
      "{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=",
      "$6$salt$abcdefghijklmnop",
      " " + good,
  };
  for (const auto& b : bad) EXPECT_FALSE(verify_password("pw", b)) << b;
  EXPECT_TRUE(verify_password("pw", good));
}

TEST(Password, TamperedHashRejected) {
  auto h = hash_password("pw", kFast);
  ASSERT_TRUE(h);
  std::string t = *h;
  char& last = t[t.size() - 2];
  last = last == 'A' ? 'B' : 'A';
  EXPECT_FALSE(verify_password("pw", t));
}

TEST(Password, EmptyPasswordRejected) {
  auto h = hash_password("");
  ASSERT_FALSE(h);
  EXPECT_EQ(h.error().code, Errc::Invalid);
}

TEST(Password, OverlongPasswordRejected) {
  auto ok = hash_password(std::string(4096, 'x'), kFast);
  EXPECT_TRUE(ok);
  auto h = hash_password(std::string(4097, 'x'), kFast);
  ASSERT_FALSE(h);
  EXPECT_EQ(h.error().code, Errc::Invalid);
}

TEST(Password, SaltMakesHashesDiffer) {
  auto a = hash_password("same password");
  auto b = hash_password("same password");
  ASSERT_TRUE(a && b);
  EXPECT_NE(*a, *b);
  auto salt = [](const std::string& h) {
    auto end = h.rfind('$');
    auto start = h.rfind('$', end - 1);
    return h.substr(start + 1, end - start - 1);
  };
  EXPECT_NE(salt(*a), salt(*b));
  EXPECT_TRUE(verify_password("same password", *a));
  EXPECT_TRUE(verify_password("same password", *b));
}

// RFC 1939 §7's own example.
TEST(Apop, Rfc1939Example) {
  const std::string ts = "<1896.697170952@dbc.mtview.ca.us>";
  EXPECT_TRUE(verify_apop(ts, "tanstaaf", "c4c9334bac560ecc979e58001b3e22fb"));
  EXPECT_TRUE(verify_apop(ts, "tanstaaf", "C4C9334BAC560ECC979E58001B3E22FB"));
  EXPECT_FALSE(verify_apop(ts, "tanstaaf", "c4c9334bac560ecc979e58001b3e22fc"));
  EXPECT_FALSE(verify_apop(ts, "tanstaag", "c4c9334bac560ecc979e58001b3e22fb"));
  EXPECT_FALSE(verify_apop("<other@dbc.mtview.ca.us>", "tanstaaf", "c4c9334bac560ecc979e58001b3e22fb"));
  EXPECT_FALSE(verify_apop(ts, "", "d41d8cd98f00b204e9800998ecf8427e"));  // no secret: never
  EXPECT_FALSE(verify_apop(ts, "tanstaaf", "c4c9334bac560ecc979e58001b3e22f"));
}

}  // namespace
}  // namespace valija::auth
