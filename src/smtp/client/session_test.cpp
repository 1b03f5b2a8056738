#include "smtp/client/session.hpp"

#include <gtest/gtest.h>

#include "smtp/client/reply_reader.hpp"

namespace valija::smtp::client {
namespace {

// Drives a session against a scripted server: each server turn is the reply text for
// what the client just did. Records what the client sent and did.
struct Dialogue {
  ClientSession s;
  std::vector<std::string> log;  // "C: EHLO x", "TLS", "BODY", "READY", "CLOSE"
  Action last = act::Wait{};

  explicit Dialogue(ClientOptions o = {"client.example", TlsPolicy::Opportunistic, false, "", ""}) : s(std::move(o)) {
    last = s.start();
  }

  // The server answers with `wire` (one or more replies).
  void server(const std::string& wire) {
    ReplyReader r;
    r.feed(wire);
    while (auto x = r.next()) {
      ASSERT_TRUE(*x) << wire;
      note(s.on_reply(**x));
    }
  }
  void note(Action a) {
    last = a;
    if (auto* send = std::get_if<act::Send>(&a)) {
      std::string b = send->bytes;
      while (!b.empty()) {
        auto nl = b.find("\r\n");
        log.push_back("C: " + b.substr(0, nl));
        b.erase(0, nl + 2);
      }
    } else if (std::holds_alternative<act::StartTls>(a)) {
      log.push_back("TLS");
    } else if (std::holds_alternative<act::SendBody>(a)) {
      log.push_back("BODY");
    } else if (std::holds_alternative<act::Ready>(a)) {
      log.push_back("READY");
    } else if (std::holds_alternative<act::Close>(a)) {
      log.push_back("CLOSE");
    }
  }
  std::vector<std::string> take() {
    auto out = std::move(log);
    log.clear();
    return out;
  }
};

Envelope env(std::vector<std::string> rcpts, std::uint64_t size = 1000) {
  Envelope e;
  e.from = "ana@example.org";
  for (auto& r : rcpts) e.rcpts.push_back({r, ""});
  e.size = size;
  return e;
}

using V = std::vector<std::string>;
constexpr const char* kEhloFull = "250-mx.example.net\r\n250-PIPELINING\r\n250-SIZE 10000\r\n250-8BITMIME\r\n250 STARTTLS\r\n";
constexpr const char* kEhloTls = "250-mx.example.net\r\n250-PIPELINING\r\n250-SIZE 10000\r\n250-8BITMIME\r\n250-DSN\r\n250 REQUIRETLS\r\n";

void connect_tls(Dialogue& r) {
  r.server("220 mx.example.net ESMTP\r\n");
  r.server(kEhloFull);
  r.server("220 2.0.0 Ready to start TLS\r\n");
  ASSERT_TRUE(std::holds_alternative<act::StartTls>(r.last));
  r.note(r.s.tls_started());
  r.server(kEhloTls);
  ASSERT_TRUE(std::holds_alternative<act::Ready>(r.last));
  ASSERT_TRUE(r.s.tls());
  r.take();
}

TEST(ClientSession, StartTlsThenPipelinedTransaction) {
  Dialogue r;
  r.server("220 mx.example.net ESMTP\r\n");
  r.server(kEhloFull);
  r.server("220 2.0.0 Ready to start TLS\r\n");
  r.note(r.s.tls_started());
  r.server(kEhloTls);
  EXPECT_EQ(r.take(), (V{"C: EHLO client.example", "C: STARTTLS", "TLS", "C: EHLO client.example", "READY"}));
  EXPECT_TRUE(r.s.capabilities().requiretls);  // learnt again after TLS
  auto e = env({"bo@example.net", "cy@example.net"});
  e.dsn_params = " RET=HDRS";
  e.rcpts[0].dsn_params = " NOTIFY=FAILURE";
  r.note(r.s.begin(e));
  EXPECT_EQ(r.take(), (V{"C: MAIL FROM:<ana@example.org> SIZE=1000 RET=HDRS", "C: RCPT TO:<bo@example.net> NOTIFY=FAILURE",
                         "C: RCPT TO:<cy@example.net>", "C: DATA"}));
  r.server("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550 5.1.1 No such user\r\n354 End data with <CR><LF>.<CR><LF>\r\n");
  EXPECT_EQ(r.take(), (V{"BODY"}));
  r.server("250 2.0.0 Ok: queued as ABC\r\n");
  EXPECT_EQ(r.take(), (V{"READY"}));
  ASSERT_EQ(r.s.results().size(), 2u);
  EXPECT_EQ(r.s.results()[0].verdict, Verdict::Delivered);
  EXPECT_EQ(r.s.results()[0].reply.summary(), "250 2.0.0 Ok: queued as ABC");
  EXPECT_EQ(r.s.results()[1].verdict, Verdict::Permanent);
  EXPECT_EQ(r.s.results()[1].reply.status, "5.1.1");
  // The connection is reused for the next transaction, then closed politely.
  r.note(r.s.begin(env({"dee@example.net"})));
  r.server("250 Ok\r\n250 Ok\r\n354 Go\r\n");
  r.server("451 4.3.0 Try later\r\n");
  EXPECT_EQ(r.s.results()[0].verdict, Verdict::Temporary);
  r.take();
  r.note(r.s.quit());
  r.server("221 Bye\r\n");
  EXPECT_EQ(r.take(), (V{"C: QUIT", "CLOSE"}));
}

TEST(ClientSession, WithoutPipeliningOneCommandAtATime) {
  Dialogue r({"client.example", TlsPolicy::None, false, "", ""});
  r.server("220 old.example ESMTP\r\n");
  r.server("250-old.example\r\n250 STARTTLS\r\n");  // TLS offered, policy None: not used
  EXPECT_EQ(r.take(), (V{"C: EHLO client.example", "READY"}));
  r.note(r.s.begin(env({"a@old.example", "b@old.example"})));
  EXPECT_EQ(r.take(), (V{"C: MAIL FROM:<ana@example.org>"}));  // no SIZE: not announced
  r.server("250 ok\r\n");
  EXPECT_EQ(r.take(), (V{"C: RCPT TO:<a@old.example>"}));
  r.server("450 4.2.0 mailbox busy\r\n");
  EXPECT_EQ(r.take(), (V{"C: RCPT TO:<b@old.example>"}));
  r.server("250 ok\r\n");
  EXPECT_EQ(r.take(), (V{"C: DATA"}));
  r.server("354 go\r\n");
  EXPECT_EQ(r.take(), (V{"BODY"}));
  r.server("250 done\r\n");
  EXPECT_EQ(r.s.results()[0].verdict, Verdict::Temporary);
  EXPECT_EQ(r.s.results()[1].verdict, Verdict::Delivered);
}

TEST(ClientSession, EveryRecipientRefusedMeansRsetNotData) {
  Dialogue r({"client.example", TlsPolicy::None, false, "", ""});
  r.server("220 x\r\n");
  r.server("250 x\r\n");
  r.take();
  r.note(r.s.begin(env({"a@x.example"})));
  r.server("250 ok\r\n");
  r.server("550 5.1.1 unknown\r\n");
  EXPECT_EQ(r.take(), (V{"C: MAIL FROM:<ana@example.org>", "C: RCPT TO:<a@x.example>", "C: RSET"}));
  r.server("250 reset\r\n");
  EXPECT_EQ(r.take(), (V{"READY"}));
  EXPECT_EQ(r.s.results()[0].verdict, Verdict::Permanent);
}

TEST(ClientSession, PipelinedDataAcceptedWithoutRecipients) {
  // RFC 2920 §3.1: a server may say 354 though every RCPT failed: end it with "." at once.
  Dialogue r({"client.example", TlsPolicy::None, false, "", ""});
  r.server("220 x\r\n");
  r.server("250-x\r\n250 PIPELINING\r\n");
  r.take();
  r.note(r.s.begin(env({"a@x.example"})));
  r.take();
  r.server("250 ok\r\n550 no\r\n354 go ahead\r\n");
  EXPECT_EQ(r.take(), (V{"C: ."}));
  r.server("554 no valid recipients\r\n");
  EXPECT_EQ(r.take(), (V{"READY"}));
  EXPECT_EQ(r.s.results()[0].verdict, Verdict::Permanent);
}

TEST(ClientSession, MailRefusedDecidesEveryone) {
  Dialogue r({"client.example", TlsPolicy::None, false, "", ""});
  r.server("220 x\r\n");
  r.server("250-x\r\n250 PIPELINING\r\n");
  r.take();
  r.note(r.s.begin(env({"a@x.example", "b@x.example"})));
  r.take();
  r.server("451 4.7.1 greylisted, try later\r\n503 5.5.1 no MAIL\r\n503 5.5.1 no MAIL\r\n503 5.5.1 no valid recipients\r\n");
  EXPECT_EQ(r.take(), (V{"READY"}));  // no transaction open: no RSET
  for (const auto& x : r.s.results()) {
    EXPECT_EQ(x.verdict, Verdict::Temporary);
    EXPECT_EQ(x.reply.status, "4.7.1");
  }
}

TEST(ClientSession, EhloRefusedFallsBackToHelo) {
  Dialogue r({"client.example", TlsPolicy::Opportunistic, false, "", ""});
  r.server("220 ancient.example\r\n");
  r.server("502 5.5.2 what?\r\n");
  r.server("250 ancient.example\r\n");
  EXPECT_EQ(r.take(), (V{"C: EHLO client.example", "C: HELO client.example", "READY"}));
  EXPECT_FALSE(r.s.capabilities().pipelining);
}

TEST(ClientSession, GreetingRefusedOrServiceClosing) {
  Dialogue r;
  r.server("554 5.7.1 no mail from you\r\n");
  EXPECT_EQ(r.take(), (V{"C: QUIT"}));
  ASSERT_TRUE(r.s.failure());
  EXPECT_EQ(r.s.failure()->code, 554);
  Dialogue c;
  c.server("421 4.3.2 shutting down\r\n");
  EXPECT_EQ(c.take(), (V{"CLOSE"}));
  // 421 in the middle of a transaction: everyone still open is Temporary.
  Dialogue t({"client.example", TlsPolicy::None, false, "", ""});
  t.server("220 x\r\n");
  t.server("250-x\r\n250 PIPELINING\r\n");
  t.note(t.s.begin(env({"a@x.example", "b@x.example"})));
  t.take();
  t.server("250 ok\r\n550 5.1.1 unknown\r\n421 4.4.2 timeout\r\n");
  EXPECT_EQ(t.take(), (V{"CLOSE"}));
  EXPECT_EQ(t.s.results()[0].verdict, Verdict::Permanent);  // already decided
  EXPECT_EQ(t.s.results()[1].verdict, Verdict::Temporary);
  EXPECT_EQ(t.s.results()[1].reply.code, 421);
}

TEST(ClientSession, TlsRequiredButNotOffered) {
  Dialogue r({"client.example", TlsPolicy::Required, false, "", ""});
  r.server("220 x\r\n");
  r.server("250-x\r\n250 PIPELINING\r\n");
  EXPECT_EQ(r.take(), (V{"C: EHLO client.example", "C: QUIT"}));
  ASSERT_TRUE(r.s.failure());
  EXPECT_EQ(r.s.failure()->status, "4.7.10");
}

TEST(ClientSession, StartTlsRefusedOpportunisticGoesOnInClear) {
  Dialogue r;
  r.server("220 x\r\n");
  r.server(kEhloFull);
  r.server("454 4.7.0 TLS not available\r\n");
  EXPECT_EQ(r.take(), (V{"C: EHLO client.example", "C: STARTTLS", "READY"}));
  EXPECT_FALSE(r.s.tls());
  Dialogue q({"client.example", TlsPolicy::Required, false, "", ""});
  q.server("220 x\r\n");
  q.server(kEhloFull);
  q.server("454 4.7.0 TLS not available\r\n");
  EXPECT_EQ(q.take(), (V{"C: EHLO client.example", "C: STARTTLS", "C: QUIT"}));
  Dialogue h;
  h.server("220 x\r\n");
  h.server(kEhloFull);
  h.server("220 go\r\n");
  h.note(h.s.tls_failed());
  EXPECT_EQ(h.take().back(), "CLOSE");
}

TEST(ClientSession, ImplicitTlsDoesNotStartTls) {
  Dialogue r({"client.example", TlsPolicy::Required, true, "", ""});
  r.server("220 x\r\n");
  r.server(kEhloFull);
  EXPECT_EQ(r.take(), (V{"C: EHLO client.example", "READY"}));
  EXPECT_TRUE(r.s.tls());
}

TEST(ClientSession, WhatTheServerCannotTakeIsNotSent) {
  Dialogue r;
  connect_tls(r);
  r.note(r.s.begin(env({"a@x.example"}, 20000)));  // SIZE 10000
  EXPECT_EQ(r.take(), (V{"READY"}));
  EXPECT_EQ(r.s.results()[0].verdict, Verdict::Permanent);
  EXPECT_EQ(r.s.results()[0].reply.status, "5.3.4");

  auto utf8 = env({"josé@x.example"});
  utf8.smtputf8 = true;  // not offered by kEhloTls
  r.note(r.s.begin(utf8));
  EXPECT_EQ(r.s.results()[0].reply.status, "5.6.7");
  EXPECT_EQ(r.s.results()[0].verdict, Verdict::Permanent);

  auto eight = env({"a@x.example"});
  eight.eight_bit = true;  // 8BITMIME offered: sent with BODY=8BITMIME
  r.take();
  r.note(r.s.begin(eight));
  EXPECT_EQ(r.take().front(), "C: MAIL FROM:<ana@example.org> SIZE=1000 BODY=8BITMIME");
}

TEST(ClientSession, RequireTlsOnlyOverTlsToAServerThatOffersIt) {
  Dialogue r;
  connect_tls(r);
  auto e = env({"a@x.example"});
  e.requiretls = true;
  r.note(r.s.begin(e));
  EXPECT_EQ(r.take().front(), "C: MAIL FROM:<ana@example.org> SIZE=1000 REQUIRETLS");
  Dialogue clear({"client.example", TlsPolicy::Opportunistic, false, "", ""});
  clear.server("220 x\r\n");
  clear.server("250-x\r\n250 REQUIRETLS\r\n");  // but no STARTTLS
  clear.take();
  clear.note(clear.s.begin(e));
  EXPECT_EQ(clear.take(), (V{"READY"}));
  EXPECT_EQ(clear.s.results()[0].reply.status, "5.7.30");
  EXPECT_EQ(clear.s.results()[0].verdict, Verdict::Temporary);  // another exchanger may do
}

TEST(ClientSession, EightBitToSevenBitServerIsRefused) {
  Dialogue r({"client.example", TlsPolicy::None, false, "", ""});
  r.server("220 x\r\n");
  r.server("250 x\r\n");
  auto e = env({"a@x.example"});
  e.eight_bit = true;
  r.take();
  r.note(r.s.begin(e));
  EXPECT_EQ(r.take(), (V{"READY"}));
  EXPECT_EQ(r.s.results()[0].reply.status, "5.6.3");
}

TEST(ClientSession, NullSenderAndTimeouts) {
  Dialogue r({"client.example", TlsPolicy::None, false, "", ""});
  EXPECT_EQ(r.s.reply_timeout(), std::chrono::minutes(5));
  r.server("220 x\r\n");
  r.server("250-x\r\n250 PIPELINING\r\n");
  auto e = env({"a@x.example"});
  e.from = "";
  r.take();
  r.note(r.s.begin(e));
  EXPECT_EQ(r.take().front(), "C: MAIL FROM:<>");
  r.server("250 ok\r\n250 ok\r\n");
  EXPECT_EQ(r.s.reply_timeout(), std::chrono::minutes(2));  // DATA initiation
  r.server("354 go\r\n");
  EXPECT_EQ(r.s.reply_timeout(), std::chrono::minutes(10));  // DATA termination
}

TEST(ClientSession, UnexpectedReplyEndsTheDialogue) {
  Dialogue r({"client.example", TlsPolicy::None, false, "", ""});
  r.server("220 x\r\n");
  r.server("250 x\r\n");
  r.take();
  r.server("250 surprise\r\n");  // nothing was asked
  EXPECT_EQ(r.take(), (V{"C: QUIT"}));
  ASSERT_TRUE(r.s.failure());
  EXPECT_EQ(r.s.failure()->status, "4.5.0");
}

}  // namespace
}  // namespace valija::smtp::client

namespace valija::smtp::client {
namespace {

TEST(ClientSession, RelayAuthPlainAfterTlsAndSecretsMarked) {
  ClientSession s({"client.example", TlsPolicy::Required, false, "relay-user", "pa55"});
  s.start();
  (void)s.on_reply(proto::Reply(220, "", "relay.example ESMTP"));
  proto::Reply ehlo(250, "", "relay.example");
  ehlo.lines = {"relay.example", "STARTTLS", "AUTH LOGIN PLAIN"};
  auto a = s.on_reply(ehlo);
  ASSERT_TRUE(std::holds_alternative<act::Send>(a));
  EXPECT_EQ(std::get<act::Send>(a).bytes, "STARTTLS\r\n");
  a = s.on_reply(proto::Reply(220, "2.0.0", "go"));
  ASSERT_TRUE(std::holds_alternative<act::StartTls>(a));
  (void)s.tls_started();
  a = s.on_reply(ehlo);
  ASSERT_TRUE(std::holds_alternative<act::Send>(a));
  EXPECT_TRUE(std::get<act::Send>(a).secret);
  EXPECT_EQ(std::get<act::Send>(a).bytes, "AUTH PLAIN AHJlbGF5LXVzZXIAcGE1NQ==\r\n");  // \0relay-user\0pa55
  EXPECT_TRUE(std::holds_alternative<act::Ready>(s.on_reply(proto::Reply(235, "2.7.0", "ok"))));
}

TEST(ClientSession, RelayAuthLoginAndFailure) {
  ClientSession s({"client.example", TlsPolicy::None, false, "u", "p"});  // a loopback relay: the admin's choice
  s.start();
  (void)s.on_reply(proto::Reply(220, "", "relay ESMTP"));
  proto::Reply ehlo(250, "", "relay");
  ehlo.lines = {"relay", "AUTH LOGIN"};
  auto a = s.on_reply(ehlo);
  EXPECT_EQ(std::get<act::Send>(a).bytes, "AUTH LOGIN\r\n");
  a = s.on_reply(proto::Reply(334, "", "VXNlcm5hbWU6"));
  EXPECT_EQ(std::get<act::Send>(a).bytes, "dQ==\r\n");
  EXPECT_TRUE(std::get<act::Send>(a).secret);
  a = s.on_reply(proto::Reply(334, "", "UGFzc3dvcmQ6"));
  EXPECT_EQ(std::get<act::Send>(a).bytes, "cA==\r\n");
  a = s.on_reply(proto::Reply(535, "5.7.8", "bad"));
  EXPECT_EQ(std::get<act::Send>(a).bytes, "QUIT\r\n");
  ASSERT_TRUE(s.failure());
  EXPECT_EQ(s.failure()->code, 535);
  // Opportunistic TLS not offered: the password is not sent in the clear.
  ClientSession c({"client.example", TlsPolicy::Opportunistic, false, "u", "p"});
  c.start();
  (void)c.on_reply(proto::Reply(220, "", "relay ESMTP"));
  a = c.on_reply(ehlo);
  EXPECT_EQ(std::get<act::Send>(a).bytes, "QUIT\r\n");
  EXPECT_EQ(c.failure()->status, "4.7.10");
}

}  // namespace
}  // namespace valija::smtp::client

namespace valija::smtp::client {
namespace {

TEST(ClientSession, ChunkingSendsBdatAfterTheEnvelope) {
  ClientSession s({"client.example", TlsPolicy::None, false, "", ""});
  s.start();
  (void)s.on_reply(proto::Reply(220, "", "mx ESMTP"));
  proto::Reply ehlo(250, "", "mx");
  ehlo.lines = {"mx", "PIPELINING", "CHUNKING", "8BITMIME"};
  ASSERT_TRUE(std::holds_alternative<act::Ready>(s.on_reply(ehlo)));
  Envelope e;
  e.from = "ana@example.org";
  e.rcpts = {{"bo@example.net", ""}, {"cy@example.net", ""}};
  e.size = 10;
  auto a = s.begin(e);
  ASSERT_TRUE(std::holds_alternative<act::Send>(a));
  EXPECT_EQ(std::get<act::Send>(a).bytes, "MAIL FROM:<ana@example.org>\r\nRCPT TO:<bo@example.net>\r\nRCPT TO:<cy@example.net>\r\n");
  EXPECT_TRUE(std::holds_alternative<act::Wait>(s.on_reply(proto::Reply(250, "2.1.0", "ok"))));
  EXPECT_TRUE(std::holds_alternative<act::Wait>(s.on_reply(proto::Reply(550, "5.1.1", "no"))));
  a = s.on_reply(proto::Reply(250, "2.1.5", "ok"));
  ASSERT_TRUE(std::holds_alternative<act::SendBody>(a));
  EXPECT_TRUE(std::get<act::SendBody>(a).chunked);
  ASSERT_TRUE(std::holds_alternative<act::Ready>(s.on_reply(proto::Reply(250, "2.0.0", "queued"))));
  EXPECT_EQ(s.results()[0].verdict, Verdict::Permanent);
  EXPECT_EQ(s.results()[1].verdict, Verdict::Delivered);
  // Nobody accepted: no BDAT at all, RSET.
  a = s.begin(e);
  (void)s.on_reply(proto::Reply(250, "2.1.0", "ok"));
  (void)s.on_reply(proto::Reply(550, "5.1.1", "no"));
  a = s.on_reply(proto::Reply(450, "4.2.0", "busy"));
  ASSERT_TRUE(std::holds_alternative<act::Send>(a));
  EXPECT_EQ(std::get<act::Send>(a).bytes, "RSET\r\n");
}

}  // namespace
}  // namespace valija::smtp::client

namespace valija::smtp::client {
namespace {

TEST(ClientSession, BinaryOnlyWithBinaryMimeAndChunking) {
  for (bool chunking : {false, true}) {
    ClientSession s({"client.example", TlsPolicy::None, false, "", ""});
    s.start();
    (void)s.on_reply(proto::Reply(220, "", "mx ESMTP"));
    proto::Reply ehlo(250, "", "mx");
    ehlo.lines = {"mx", "8BITMIME", "BINARYMIME"};
    if (chunking) ehlo.lines.push_back("CHUNKING");
    (void)s.on_reply(ehlo);
    Envelope e;
    e.from = "a@example.org";
    e.rcpts = {{"b@example.net", ""}};
    e.eight_bit = e.binary = true;
    auto a = s.begin(e);
    if (!chunking) {
      ASSERT_TRUE(std::holds_alternative<act::Ready>(a));
      EXPECT_EQ(s.results()[0].verdict, Verdict::Permanent);
      EXPECT_EQ(s.results()[0].reply.status, "5.6.3");
    } else {
      ASSERT_TRUE(std::holds_alternative<act::Send>(a));
      EXPECT_EQ(std::get<act::Send>(a).bytes, "MAIL FROM:<a@example.org> BODY=BINARYMIME\r\n");
    }
  }
}

}  // namespace
}  // namespace valija::smtp::client
