#include "policy/authres.hpp"

#include <gtest/gtest.h>

namespace valija::policy {
namespace {

TEST(AuthenticationResults, RendersOneMethodPerLine) {
  std::vector<MethodResult> r{
      {"spf", "pass", "", {{"smtp.mailfrom", "jqd@d1.example"}}},
      {"dkim", "pass", "", {{"header.d", "d1.example"}, {"header.s", "sel"}, {"header.b", "AbC+/dEf"}}},
      {"dmarc", "fail", "p=reject dis=reject", {{"header.from", "d1.example"}}},
  };
  EXPECT_EQ(authentication_results("mail.example.org", r),
            "Authentication-Results: mail.example.org;\r\n"
            "\tspf=pass smtp.mailfrom=jqd@d1.example;\r\n"
            "\tdkim=pass header.d=d1.example header.s=sel header.b=\"AbC+/dEf\";\r\n"
            "\tdmarc=fail (p=reject dis=reject) header.from=d1.example\r\n");
  EXPECT_EQ(authentication_results("mx.example", {}), "Authentication-Results: mx.example; none\r\n");
}

TEST(AuthenticationResults, ClientTextCannotBreakTheField) {
  std::vector<MethodResult> r{{"spf", "none", "helo (evil)\r\nX-Injected: 1",
                               {{"smtp.helo", "evil\r\nX-Injected: yes"}, {"smtp.mailfrom", "\"a b\"@x.example"}}}};
  auto f = authentication_results("mx.example", r);
  EXPECT_EQ(f.find("\r\nX-"), std::string::npos);
  EXPECT_NE(f.find("smtp.helo=\"evilX-Injected: yes\""), std::string::npos) << f;
  EXPECT_NE(f.find("smtp.mailfrom=\"\\\"a b\\\"@x.example\""), std::string::npos) << f;
  EXPECT_NE(f.find("(helo \\(evil\\)X-Injected: 1)"), std::string::npos) << f;
}

TEST(AuthenticationResults, FindsTheAuthservId) {
  EXPECT_EQ(authserv_id_of(" mail.example.org; spf=pass"), "mail.example.org");
  EXPECT_EQ(authserv_id_of(" (comment (nested)) mail.example.org 1; none"), "mail.example.org");
  EXPECT_EQ(authserv_id_of(" \"quoted.example\"; none"), "quoted.example");
  EXPECT_EQ(authserv_id_of("   "), "");
}

TEST(AuthenticationResults, StripsOnlyFieldsClaimingOurId) {
  std::string m =
      "Authentication-Results: MAIL.example.org.;\r\n\tdkim=pass header.d=bank.example\r\n"
      "Received: from x\r\n"
      "Authentication-Results: other.example; spf=pass\r\n"
      "authentication-results: (forged) mail.example.org; dmarc=pass\r\n"
      "Subject: Authentication-Results: mail.example.org\r\n"
      "\r\n"
      "Authentication-Results: mail.example.org; body text stays\r\n";
  EXPECT_EQ(strip_authentication_results(m, "mail.example.org", 65536), 2u);
  EXPECT_EQ(m,
            "Received: from x\r\n"
            "Authentication-Results: other.example; spf=pass\r\n"
            "Subject: Authentication-Results: mail.example.org\r\n"
            "\r\n"
            "Authentication-Results: mail.example.org; body text stays\r\n");
}

}  // namespace
}  // namespace valija::policy
