#include "auth/sasl.hpp"

#include <gtest/gtest.h>

namespace valija::auth {
namespace {

using namespace std::string_literals;

// --- Base64 ---

TEST(Base64, Rfc4648Vectors) {
  const std::pair<std::string, std::string> kVectors[] = {
      {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},         {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},  // RFC 4648 §10
  };
  for (const auto& [plain, encoded] : kVectors) {
    EXPECT_EQ(base64_encode(plain), encoded);
    auto d = base64_decode(encoded, 100);
    ASSERT_TRUE(d) << encoded;
    EXPECT_EQ(*d, plain);
  }
}

TEST(Base64, RoundTripsEveryByte) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (std::size_t len = 0; len <= all.size(); len += 7) {
    auto s = all.substr(0, len);
    auto d = base64_decode(base64_encode(s), 1000);
    ASSERT_TRUE(d);
    EXPECT_EQ(*d, s);
  }
}

TEST(Base64, RejectsBadInput) {
  const std::pair<std::string, Base64Error> kBad[] = {
      {"Zg=", Base64Error::Length},
      {"Zm9", Base64Error::Length},
      {"Z", Base64Error::Length},
      {"Zm9v\r\n", Base64Error::Length},
      {"Zm 9", Base64Error::Character},       // whitespace is not skipped
      {"Zm9v Zm9", Base64Error::Character},
      {"Zm9-", Base64Error::Character},       // base64url alphabet is not base64
      {"Zm9_", Base64Error::Character},
      {"Zm\0v"s, Base64Error::Character},
      {"Zm\xc3\xa9", Base64Error::Character},
      {"Zg==Zg==", Base64Error::Padding},     // padding inside
      {"=Zg=", Base64Error::Padding},
      {"Z===", Base64Error::Padding},         // three '=': the third from last is data
      {"====", Base64Error::Padding},
      {"Zh==", Base64Error::Padding},         // non-zero pad bits (RFC 4648 §3.5)
      {"Zm9=", Base64Error::Padding},
      {"Zg=x", Base64Error::Padding},
  };
  for (const auto& [in, err] : kBad) {
    auto d = base64_decode(in, 100);
    ASSERT_FALSE(d) << in;
    EXPECT_EQ(d.error(), err) << in;
    EXPECT_FALSE(base64_error_text(err).empty());
  }
}

TEST(Base64, BoundCheckedExactly) {
  EXPECT_TRUE(base64_decode("Zm9vYmFy", 6));
  EXPECT_EQ(base64_decode("Zm9vYmFy", 5).error(), Base64Error::TooLong);
  EXPECT_TRUE(base64_decode("Zm9vYg==", 4));
  EXPECT_EQ(base64_decode("Zm9vYg==", 3).error(), Base64Error::TooLong);
  EXPECT_TRUE(base64_decode("", 0));
  // A huge claimed length is refused before anything is decoded or allocated.
  std::string big(4 * 1000 * 1000, 'A');
  EXPECT_EQ(base64_decode(big, 8192).error(), Base64Error::TooLong);
}

// --- Mechanism table ---

TEST(Sasl, MechanismNamesCaseInsensitive) {
  EXPECT_EQ(parse_sasl_mechanism("PLAIN"), SaslMechanism::Plain);
  EXPECT_EQ(parse_sasl_mechanism("plain"), SaslMechanism::Plain);
  EXPECT_EQ(parse_sasl_mechanism("LoGiN"), SaslMechanism::Login);
  EXPECT_FALSE(parse_sasl_mechanism("CRAM-MD5"));
  EXPECT_EQ(parse_sasl_mechanism("scram-sha-256-plus"), SaslMechanism::ScramSha256Plus);
  EXPECT_FALSE(parse_sasl_mechanism(""));
  EXPECT_FALSE(parse_sasl_mechanism("PLAIN "));
  EXPECT_FALSE(parse_sasl_mechanism("PLAI"));
  EXPECT_EQ(sasl_mechanism_name(SaslMechanism::Plain), "PLAIN");
  EXPECT_EQ(sasl_mechanism_name(SaslMechanism::Login), "LOGIN");
  EXPECT_FALSE(SaslServer::create("XOAUTH2"));
  ASSERT_TRUE(SaslServer::create("login"));
  EXPECT_EQ(SaslServer::create("login")->mechanism(), SaslMechanism::Login);
}

TEST(Sasl, OfferedMechanismsFollowCleartextPolicy) {
  EXPECT_EQ(sasl_mechanisms(true), (std::vector<SaslMechanism>{SaslMechanism::Plain, SaslMechanism::Login}));
  EXPECT_TRUE(sasl_mechanisms(false).empty());  // both send the password itself
  EXPECT_TRUE(sasl_sends_password(SaslMechanism::Plain));
  EXPECT_TRUE(sasl_sends_password(SaslMechanism::Login));
}

TEST(Sasl, LineLimitCoversTheDecodedLimit) {
  SaslLimits l;
  EXPECT_EQ(sasl_line_limit(l), 10924u);
  std::string max(l.max_response, 'x');
  EXPECT_EQ(base64_encode(max).size(), sasl_line_limit(l));
  l.max_response = 3;
  EXPECT_EQ(sasl_line_limit(l), 4u);
  l.max_response = 4;
  EXPECT_EQ(sasl_line_limit(l), 8u);
}

// --- Helpers ---

// By value: the steps under test are temporaries.
std::optional<SaslCredentials> done(const SaslStep& s) {
  auto* d = std::get_if<sasl::Done>(&s);
  if (!d) return std::nullopt;
  return d->credentials;
}
std::optional<std::string> challenge(const SaslStep& s) {
  auto* c = std::get_if<sasl::Challenge>(&s);
  if (!c) return std::nullopt;
  return c->data;
}
std::optional<SaslErrc> failed(const SaslStep& s) {
  auto* f = std::get_if<sasl::Failed>(&s);
  if (!f) return std::nullopt;
  EXPECT_FALSE(f->reason.empty());
  return f->code;
}

// --- PLAIN (RFC 4616) ---

TEST(SaslPlain, InitialResponse) {
  SaslServer s(SaslMechanism::Plain);
  auto step = s.start(base64_encode("\0tim\0tanstaaftanstaaf"s));  // RFC 4616 §4
  auto c = done(step);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->authzid, "");
  EXPECT_EQ(c->authcid, "tim");
  EXPECT_EQ(c->password, "tanstaaftanstaaf");
  EXPECT_TRUE(s.finished());
}

TEST(SaslPlain, AuthzidAndUtf8) {
  SaslServer s(SaslMechanism::Plain);
  auto c = done(s.start(base64_encode("Ursel\0Kurt\0xipj3plmq"s)));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->authzid, "Ursel");
  EXPECT_EQ(c->authcid, "Kurt");
  EXPECT_EQ(c->password, "xipj3plmq");

  SaslServer u(SaslMechanism::Plain);
  c = done(u.start(base64_encode("\0j\xc3\xb6rg@b\xc3\xbc\x63her.example\0p\xc3\xa4ss wort"s)));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->authcid, "j\xc3\xb6rg@b\xc3\xbc\x63her.example");
  EXPECT_EQ(c->password, "p\xc3\xa4ss wort");  // spaces belong to the password
}

TEST(SaslPlain, PasswordMayBeLegacyBytes) {
  SaslServer s(SaslMechanism::Plain);
  auto c = done(s.start(base64_encode("\0user\0caf\xe9"s)));  // Latin-1, not UTF-8
  ASSERT_TRUE(c);
  EXPECT_EQ(c->password, "caf\xe9");
}

TEST(SaslPlain, EmptyChallengeThenResponse) {
  SaslServer s(SaslMechanism::Plain);
  auto step = s.start(std::nullopt);
  ASSERT_TRUE(challenge(step));
  EXPECT_EQ(*challenge(step), "");
  EXPECT_FALSE(s.finished());
  auto c = done(s.on_response(base64_encode("\0bob\0secret"s)));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->authcid, "bob");
  EXPECT_EQ(c->password, "secret");
}

TEST(SaslPlain, MalformedMessages) {
  const std::string kBad[] = {
      "",                       // "=": empty initial response
      "bobsecret",              // no NUL
      "\0bobsecret"s,           // one NUL
      "\0bob\0sec\0ret"s,       // three NULs
      "\0\0secret"s,            // empty user
      "\0bob\0"s,               // empty password
      "\0\0"s,
      "\0b\xff\xfe\0secret"s,   // user not UTF-8
      "\xc0\xaf\0bob\0secret"s, // authzid overlong UTF-8
      "\0\xed\xa0\x80\0pw"s,    // surrogate
      "\0\xc3\0pw"s,            // truncated sequence
  };
  for (const auto& msg : kBad) {
    SaslServer s(SaslMechanism::Plain);
    auto ir = msg.empty() ? std::string("=") : base64_encode(msg);
    EXPECT_EQ(failed(s.start(ir)), SaslErrc::Malformed) << ir;
    EXPECT_TRUE(s.finished());
  }
}

TEST(SaslPlain, EmptyInitialResponseIsEqualsSign) {
  // RFC 4954 §4 / RFC 5034 §4: "=" is an empty initial response (PLAIN: malformed).
  SaslServer s(SaslMechanism::Plain);
  EXPECT_EQ(failed(s.start("=")), SaslErrc::Malformed);
  // A literally empty argument is not the "=" form.
  SaslServer e(SaslMechanism::Plain);
  EXPECT_EQ(failed(e.start("")), SaslErrc::Encoding);
}

TEST(SaslPlain, BadBase64) {
  for (std::string_view bad : {"AGJvYgBzZWNyZXQ", "AGJvYgBzZWNyZXQ=x", "AGJv YgBz", "*", "AGJvYgBzZWNyZXQ=\r"}) {
    SaslServer s(SaslMechanism::Plain);
    EXPECT_EQ(failed(s.start(bad)), SaslErrc::Encoding) << bad;
  }
  SaslServer s(SaslMechanism::Plain);
  ASSERT_TRUE(challenge(s.start(std::nullopt)));
  EXPECT_EQ(failed(s.on_response("not base64!")), SaslErrc::Encoding);
  EXPECT_TRUE(s.finished());
}

TEST(SaslPlain, ResponseLimit) {
  SaslLimits lim;
  lim.max_response = 64;
  std::string at_limit = "\0u\0"s + std::string(61, 'p');
  ASSERT_EQ(at_limit.size(), 64u);
  SaslServer ok(SaslMechanism::Plain, lim);
  EXPECT_TRUE(done(ok.start(base64_encode(at_limit))));
  SaslServer big(SaslMechanism::Plain, lim);
  EXPECT_EQ(failed(big.start(base64_encode(at_limit + "p"))), SaslErrc::TooLong);
  SaslServer big2(SaslMechanism::Plain, lim);
  ASSERT_TRUE(challenge(big2.start(std::nullopt)));
  EXPECT_EQ(failed(big2.on_response(base64_encode(at_limit + "p"))), SaslErrc::TooLong);
  // The default: 8 KiB decoded.
  SaslServer def(SaslMechanism::Plain);
  EXPECT_EQ(failed(def.start(base64_encode("\0u\0"s + std::string(8190, 'p')))), SaslErrc::TooLong);
}

TEST(SaslPlain, CancelAndAfterEnd) {
  SaslServer s(SaslMechanism::Plain);
  ASSERT_TRUE(challenge(s.start(std::nullopt)));
  EXPECT_TRUE(std::holds_alternative<sasl::Cancelled>(s.on_response("*")));
  EXPECT_TRUE(s.finished());
  EXPECT_EQ(failed(s.on_response(base64_encode("\0a\0b"s))), SaslErrc::Finished);
  EXPECT_EQ(failed(s.start(std::nullopt)), SaslErrc::Finished);

  SaslServer d(SaslMechanism::Plain);
  ASSERT_TRUE(done(d.start(base64_encode("\0a\0b"s))));
  EXPECT_EQ(failed(d.on_response(base64_encode("\0a\0b"s))), SaslErrc::Finished);
  EXPECT_EQ(failed(d.on_response("*")), SaslErrc::Finished);
}

TEST(SaslPlain, ResponseBeforeStart) {
  SaslServer s(SaslMechanism::Plain);
  EXPECT_EQ(failed(s.on_response(base64_encode("\0a\0b"s))), SaslErrc::Finished);
}

TEST(SaslPlain, MovedServerKeepsState) {
  SaslServer s(SaslMechanism::Plain);
  ASSERT_TRUE(challenge(s.start(std::nullopt)));
  SaslServer moved = std::move(s);
  EXPECT_TRUE(done(moved.on_response(base64_encode("\0a\0b"s))));
}

// --- LOGIN (draft-murchison-sasl-login) ---

TEST(SaslLogin, TwoChallenges) {
  SaslServer s(SaslMechanism::Login);
  auto step = s.start(std::nullopt);
  ASSERT_TRUE(challenge(step));
  EXPECT_EQ(*challenge(step), "Username:");
  step = s.on_response(base64_encode("alice@example.org"));
  ASSERT_TRUE(challenge(step));
  EXPECT_EQ(*challenge(step), "Password:");
  EXPECT_FALSE(s.finished());
  auto c = done(s.on_response(base64_encode("pass word")));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->authzid, "");
  EXPECT_EQ(c->authcid, "alice@example.org");
  EXPECT_EQ(c->password, "pass word");
  EXPECT_TRUE(s.finished());
}

TEST(SaslLogin, InitialResponseIsUserName) {
  SaslServer s(SaslMechanism::Login);
  auto step = s.start(base64_encode("alice"));
  ASSERT_TRUE(challenge(step));
  EXPECT_EQ(*challenge(step), "Password:");
  auto c = done(s.on_response(base64_encode("pw")));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->authcid, "alice");
}

TEST(SaslLogin, Malformed) {
  {
    SaslServer s(SaslMechanism::Login);
    EXPECT_EQ(failed(s.start("=")), SaslErrc::Malformed);  // empty user name
  }
  {
    SaslServer s(SaslMechanism::Login);
    s.start(std::nullopt);
    EXPECT_EQ(failed(s.on_response("")), SaslErrc::Malformed);  // empty line = empty response
  }
  {
    SaslServer s(SaslMechanism::Login);
    s.start(std::nullopt);
    EXPECT_EQ(failed(s.on_response(base64_encode("al\0ice"s))), SaslErrc::Malformed);
  }
  {
    SaslServer s(SaslMechanism::Login);
    s.start(std::nullopt);
    EXPECT_EQ(failed(s.on_response(base64_encode("\xff"s))), SaslErrc::Malformed);
  }
  {
    SaslServer s(SaslMechanism::Login);
    s.start(std::nullopt);
    s.on_response(base64_encode("alice"));
    EXPECT_EQ(failed(s.on_response(base64_encode("p\0w"s))), SaslErrc::Malformed);
  }
  {
    SaslServer s(SaslMechanism::Login);
    s.start(std::nullopt);
    s.on_response(base64_encode("alice"));
    EXPECT_EQ(failed(s.on_response("")), SaslErrc::Malformed);
  }
}

TEST(SaslLogin, CancelAtEitherStep) {
  SaslServer a(SaslMechanism::Login);
  a.start(std::nullopt);
  EXPECT_TRUE(std::holds_alternative<sasl::Cancelled>(a.on_response("*")));
  SaslServer b(SaslMechanism::Login);
  b.start(std::nullopt);
  b.on_response(base64_encode("alice"));
  EXPECT_TRUE(std::holds_alternative<sasl::Cancelled>(b.on_response("*")));
  EXPECT_TRUE(b.finished());
  // "*" as a user name is bad base64 in the initial response, not a cancellation.
  SaslServer c(SaslMechanism::Login);
  EXPECT_EQ(failed(c.start("*")), SaslErrc::Encoding);
  // "**" is neither.
  SaslServer d(SaslMechanism::Login);
  d.start(std::nullopt);
  EXPECT_EQ(failed(d.on_response("**")), SaslErrc::Encoding);
}

TEST(SaslLogin, ResponseLimitAtEachStep) {
  SaslLimits lim;
  lim.max_response = 10;
  SaslServer s(SaslMechanism::Login, lim);
  s.start(std::nullopt);
  EXPECT_EQ(failed(s.on_response(base64_encode(std::string(11, 'u')))), SaslErrc::TooLong);
  SaslServer p(SaslMechanism::Login, lim);
  p.start(base64_encode(std::string(10, 'u')));
  EXPECT_EQ(failed(p.on_response(base64_encode(std::string(11, 'p')))), SaslErrc::TooLong);
}

}  // namespace
}  // namespace valija::auth
