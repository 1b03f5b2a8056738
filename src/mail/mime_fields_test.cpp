// Content-Type and friends (RFC 2045, RFC 2183, RFC 3282) and RFC 2231 parameters.
#include "mail/mime_fields.hpp"

#include <gtest/gtest.h>

namespace valija::mail {
namespace {

std::string params(const std::vector<MimeParam>& ps) {
  std::string s;
  for (const auto& p : ps) s += p.name + "=" + p.value + ";";
  return s;
}

TEST(MimeFields, ContentType) {
  auto ct = parse_content_type("(c) Text (d) / (e) HTML (f) ; Charset = \"utf-8\" (g)", 64);
  ASSERT_TRUE(ct);
  EXPECT_EQ(ct->type, "Text");
  EXPECT_EQ(ct->subtype, "HTML");
  EXPECT_EQ(params(ct->params), "Charset=utf-8;");
  ct = parse_content_type("multipart/mixed;\r\n boundary=----=_Part_0_1.2;x=\"a\\\"b;c\"", 64);
  EXPECT_EQ(params(ct->params), "boundary=----=_Part_0_1.2;x=a\"b;c;");
  ct = parse_content_type("text/plain;; a=b c; bad; =x; d=\"e\r\n f\"; g", 64);
  EXPECT_EQ(params(ct->params), "a=b;d=e f;");
  EXPECT_FALSE(parse_content_type("text", 64));
  EXPECT_FALSE(parse_content_type("/plain", 64));
  EXPECT_FALSE(parse_content_type("", 64));
  EXPECT_FALSE(parse_content_type(";charset=utf-8", 64));
  ct = parse_content_type("a/b; p1=1; p2=2; p3=3", 2);
  EXPECT_EQ(ct->params.size(), 2u);
}

TEST(MimeFields, DispositionLanguageToken) {
  auto d = parse_content_disposition("ATTACHMENT; FILENAME=\"a b.txt\"; size=3", 64);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->type, "ATTACHMENT");
  EXPECT_EQ(params(d->params), "FILENAME=a b.txt;size=3;");
  EXPECT_FALSE(parse_content_disposition(" (only comment) ", 64));
  EXPECT_EQ(parse_first_token(" (x) base64 (y)"), "base64");
  EXPECT_FALSE(parse_first_token(""));
  auto langs = parse_language_list("en, de (German),, fr-CA", 16);
  EXPECT_EQ(langs, (std::vector<std::string>{"en", "de", "fr-CA"}));
  EXPECT_EQ(parse_language_list("a,b,c", 2).size(), 2u);
}

TEST(Rfc2231, JoinedAsRfc9051Asks) {
  // RFC 2231 §3, §4, §4.1 examples.
  auto ct = parse_content_type(
      "message/external-body; access-type=URL;\r\n URL*0=\"ftp://\";\r\n URL*1=\"cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar\"", 64);
  EXPECT_EQ(params(ct->params), "access-type=URL;URL=ftp://cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar;");
  ct = parse_content_type("application/x-stuff;\r\n title*=us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A", 64);
  EXPECT_EQ(params(ct->params), "title*=utf-8'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A;");
  ct = parse_content_type(
      "application/x-stuff; title*0*=us-ascii'en'This%20is%20even%20more%20;\r\n title*1*=%2A%2A%2Afun%2A%2A%2A%20;\r\n"
      " title*2=\"isn't it!\"", 64);
  EXPECT_EQ(params(ct->params), "title*=utf-8'en'This%20is%20even%20more%20%2A%2A%2Afun%2A%2A%2A%20isn%27t%20it!;");
  // Converted to UTF-8 from the declared charset, language kept.
  ct = parse_content_type("text/plain; name*=iso-8859-1'es'a%F1o.txt", 64);
  EXPECT_EQ(params(ct->params), "name*=utf-8'es'a%C3%B1o.txt;");
  // Out of order pieces are sorted; gaps and repeats leave the pieces as written.
  ct = parse_content_type("a/b; n*1=\"b\"; x=1; N*0=\"a\"", 64);
  EXPECT_EQ(params(ct->params), "N=ab;x=1;");  // named as piece 0 is
  ct = parse_content_type("a/b; n*0=\"a\"; n*2=\"c\"", 64);
  EXPECT_EQ(params(ct->params), "n*0=a;n*2=c;");
  ct = parse_content_type("a/b; n*0=\"a\"; n*0=\"c\"", 64);
  EXPECT_EQ(params(ct->params), "n*0=a;n*0=c;");
  ct = parse_content_type("a/b; n*01=a; n*x=b; n*=noquotes", 64);
  EXPECT_EQ(params(ct->params), "n*01=a;n*x=b;n*=noquotes;");
}

TEST(Rfc2231, DecodedText) {
  std::vector<MimeParam> ps = {{"filename*", "utf-8''%E2%82%AC.pdf"}, {"name", "=?utf-8?q?caf=C3=A9?="}};
  EXPECT_EQ(param_text(ps, "filename"), "\xE2\x82\xAC.pdf");
  EXPECT_EQ(param_text(ps, "NAME"), "caf\xC3\xA9");
  EXPECT_FALSE(param_text(ps, "other"));
  std::string lang;
  EXPECT_EQ(decode_extended_value("iso-8859-1'es'a%F1o", &lang), "a\xC3\xB1o");
  EXPECT_EQ(lang, "es");
  EXPECT_FALSE(decode_extended_value("no quotes"));
}

}  // namespace
}  // namespace valija::mail
