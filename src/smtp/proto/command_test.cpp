#include "smtp/proto/command.hpp"

#include <gtest/gtest.h>

namespace valija::smtp::proto {
namespace {

struct Case {
  std::string line;
  int code;  // 0: parses
  std::string status = "";
};

TEST(SmtpCommand, DsnParameters) {
  ParseOptions opts;
  auto m = parse_command("MAIL FROM:<a@b.example> RET=HDRS ENVID=id+2B1+3D2", opts);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->params.ret, Ret::Hdrs);
  EXPECT_EQ(m->params.envid, "id+1=2");
  auto r = parse_command("RCPT TO:<a@b.example> ORCPT=rfc822;ana+2Bx@b.example NOTIFY=failure,DELAY", opts);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->rcpt.notify, notify::kFailure | notify::kDelay);
  EXPECT_EQ(r->rcpt.orcpt, "rfc822;ana+x@b.example");
  EXPECT_EQ(xtext_encode("a+b=c d\xc3\xa9"), "a+2Bb+3Dc+20d+C3+A9");
  EXPECT_EQ(xtext_decode(xtext_encode("a+b=c d\xc3\xa9")), "a+b=c d\xc3\xa9");
  EXPECT_FALSE(xtext_decode("a=b"));
  EXPECT_FALSE(xtext_decode("a+2b"));  // lower-case hex is not xtext
  opts.requiretls_allowed = true;
  auto t = parse_command("MAIL FROM:<a@b.example> REQUIRETLS", opts);
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->params.requiretls);
  EXPECT_FALSE(parse_command("MAIL FROM:<a@b.example> REQUIRETLS=1", opts));
}

TEST(SmtpCommand, Table) {
  const std::vector<Case> cases = {
      {"EHLO client.example", 0},
      {"ehlo [127.0.0.1]", 0},
      {"HELO x", 0},
      {"EHLO", 501, "5.5.4"},
      {"EHLO  ", 501, "5.5.4"},
      {"MAIL FROM:<a@b.example>", 0},
      {"mail from:<a@b.example>", 0},
      {"MAIL FROM: <a@b.example>", 0},  // tolerated space
      {"MAIL FROM:<>", 0},
      {"MAIL FROM:<a@b.example> SIZE=1000 BODY=8BITMIME", 0},
      {"MAIL FROM:<a@b.example> BODY=BINARYMIME", 0},
      {"MAIL FROM:<a@b.example> SMTPUTF8", 0},
      {"MAIL FROM:<a@b.example> SIZE=abc", 501, "5.5.4"},
      {"MAIL FROM:<a@b.example> SIZE=1 SIZE=2", 501, "5.5.4"},
      {"MAIL FROM:<a@b.example> BODY=9BIT", 501, "5.5.4"},
      {"MAIL FROM:<a@b.example> FOO=bar", 555, "5.5.4"},
      {"MAIL FROM:<a@b.example> SMTPUTF8=yes", 501, "5.5.4"},
      {"MAIL FROM:<a@b.example>SIZE=1", 501, "5.5.4"},
      {"MAIL FROM:a@b.example", 501, "5.1.7"},
      {"MAIL TO:<a@b.example>", 501, "5.5.4"},
      {"MAIL", 501, "5.5.4"},
      {"MAIL FROM:<jos\xc3\xa9@b.example>", 553, "5.6.7"},
      {"MAIL FROM:<jos\xc3\xa9@b.example> SMTPUTF8", 0},
      {"RCPT TO:<a@b.example>", 0},
      {"RCPT TO:<Postmaster>", 0},
      {"RCPT TO:<a@b.example> NOTIFY=NEVER", 0},
      {"RCPT TO:<a@b.example> NOTIFY=SUCCESS,FAILURE,DELAY ORCPT=rfc822;a@b.example", 0},
      {"RCPT TO:<a@b.example> NOTIFY=NEVER,SUCCESS", 501, "5.5.4"},
      {"RCPT TO:<a@b.example> NOTIFY=SUCCESS,SUCCESS", 501, "5.5.4"},
      {"RCPT TO:<a@b.example> NOTIFY=SOMETIMES", 501, "5.5.4"},
      {"RCPT TO:<a@b.example> NOTIFY=", 501, "5.5.4"},
      {"RCPT TO:<a@b.example> NOTIFY=NEVER NOTIFY=NEVER", 501, "5.5.4"},
      {"RCPT TO:<a@b.example> ORCPT=a@b.example", 501, "5.5.4"},
      {"RCPT TO:<a@b.example> ORCPT=rfc822;a+2Bb@c", 0},
      {"RCPT TO:<a@b.example> ORCPT=rfc822;a+2", 501, "5.5.4"},
      {"RCPT TO:<a@b.example> ORCPT=rfc822;a+zzb", 501, "5.5.4"},
      {"RCPT TO:<a@b.example> FOO=bar", 555, "5.5.4"},
      {"RCPT TO:<a@b.example>NOTIFY=NEVER", 501, "5.5.4"},
      {"MAIL FROM:<a@b.example> RET=FULL ENVID=QQ314159", 0},
      {"MAIL FROM:<a@b.example> RET=hdrs", 0},
      {"MAIL FROM:<a@b.example> RET=BODY", 501, "5.5.4"},
      {"MAIL FROM:<a@b.example> RET=FULL RET=HDRS", 501, "5.5.4"},
      {"MAIL FROM:<a@b.example> ENVID", 501, "5.5.4"},
      {"MAIL FROM:<a@b.example> ENVID=a+", 501, "5.5.4"},
      {"MAIL FROM:<a@b.example> REQUIRETLS", 555, "5.5.4"},  // not advertised without TLS
      {"RCPT TO:<>", 501, "5.1.3"},
      {"RCPT TO:<jos\xc3\xa9@b.example>", 553, "5.6.7"},
      {"RCPT FROM:<a@b.example>", 501, "5.5.4"},
      {"DATA", 0},
      {"DATA x", 501, "5.5.4"},
      {"BDAT 100", 0},
      {"BDAT 0 LAST", 0},
      {"BDAT 100 last", 0},
      {"BDAT", 501, "5.5.4"},
      {"BDAT -1", 501, "5.5.4"},
      {"BDAT 99999999999999999999999", 501, "5.5.4"},
      {"BDAT 10 NOTLAST", 501, "5.5.4"},
      {"RSET", 0},
      {"NOOP", 0},
      {"NOOP anything goes", 0},
      {"QUIT", 0},
      {"HELP", 0},
      {"VRFY ana", 0},
      {"VRFY", 501, "5.5.4"},
      {"EXPN list", 0},
      {"STARTTLS", 0},
      {"STARTTLS now", 501, "5.5.4"},
      {"AUTH PLAIN", 0},
      {"FOO", 500, "5.5.1"},
      {"", 500, "5.5.1"},
      {std::string("NO\0OP", 5), 500, "5.5.2"},
      {"MAILX FROM:<a@b>", 500, "5.5.1"},
  };
  ParseOptions opts;
  for (const auto& c : cases) {
    auto r = parse_command(c.line, opts);
    if (c.code == 0) {
      EXPECT_TRUE(r.has_value()) << c.line << " -> " << (r ? "" : r.error().summary());
    } else {
      ASSERT_FALSE(r.has_value()) << c.line;
      EXPECT_EQ(r.error().code, c.code) << c.line;
      EXPECT_EQ(r.error().status, c.status) << c.line;
    }
  }
}

TEST(SmtpCommand, MailParamsTyped) {
  auto r = parse_command("MAIL FROM:<a@b.example> SIZE=1000 BODY=8BITMIME SMTPUTF8", {});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->verb, Verb::Mail);
  EXPECT_EQ(r->path.str(), "a@b.example");
  ASSERT_TRUE(r->params.size);
  EXPECT_EQ(*r->params.size, 1000u);
  EXPECT_EQ(r->params.body, BodyType::EightBitMime);
  EXPECT_TRUE(r->params.smtputf8);
}

TEST(SmtpCommand, RcptUtf8OnlyInUtf8Transaction) {
  EXPECT_FALSE(parse_command("RCPT TO:<jos\xc3\xa9@b.example>", {}, false));
  auto r = parse_command("RCPT TO:<jos\xc3\xa9@b.example>", {}, true);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->path.utf8);
}

TEST(SmtpCommand, Postmaster) {
  auto r = parse_command("RCPT TO:<POSTMASTER>", {});
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->postmaster);
  r = parse_command("RCPT TO:<postmaster@b.example>", {});
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->postmaster);
}

TEST(SmtpCommand, Bdat) {
  auto r = parse_command("BDAT 4096 LAST", {});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->chunk_size, 4096u);
  EXPECT_TRUE(r->last);
}

TEST(SmtpCommand, RelayTricksStayLocalParts) {
  // None of these may be interpreted as routing: the local part is taken literally.
  auto r = parse_command("RCPT TO:<user%foreign.example@local.example>", {});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->path.domain, "local.example");
  r = parse_command("RCPT TO:<\"user@foreign.example\"@local.example>", {});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->path.domain, "local.example");
  EXPECT_EQ(r->path.local, "user@foreign.example");
  // A source route is ignored: the mailbox is the final address.
  r = parse_command("RCPT TO:<@local.example:user@foreign.example>", {});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->path.domain, "foreign.example");
}

TEST(Reply, Wire) {
  EXPECT_EQ(Reply(250, "2.0.0", "OK").wire(), "250 2.0.0 OK\r\n");
  EXPECT_EQ(Reply(220, "", "host ESMTP").wire(), "220 host ESMTP\r\n");
  Reply multi;
  multi.code = 250;
  multi.lines = {"host greets you", "PIPELINING", "SIZE 10"};
  EXPECT_EQ(multi.wire(), "250-host greets you\r\n250-PIPELINING\r\n250 SIZE 10\r\n");
  EXPECT_EQ(Reply(550, "5.1.1", "User unknown").summary(), "550 5.1.1 User unknown");
}

}  // namespace
}  // namespace valija::smtp::proto
