// SMTP engine transcripts: client input in, exact server replies out. The harness plays
// the connection's part (line splitting, DATA/BDAT reading, policy answers) without I/O.
#include "smtp/server/engine.hpp"

#include <gtest/gtest.h>

#include "base/line_splitter.hpp"

namespace valija::smtp::server {
namespace {

class Harness {
 public:
  explicit Harness(EngineConfig cfg = make_config(), std::optional<Reply> refuse = std::nullopt)
      : engine_(cfg), lines_(engine_.max_line()) {
    run(refuse ? engine_.start_refused(*refuse) : engine_.start("127.0.0.1"));
  }

  static EngineConfig make_config() {
    EngineConfig c;
    c.hostname = "mx.local.example";
    c.starttls_available = true;
    c.limits.message_size = 1000;
    c.limits.recipients_per_message = 3;
    c.limits.smtp_errors = 5;
    c.limits.messages_per_connection = 3;
    return c;
  }

  // Sends raw client bytes; returns every reply line the server wrote meanwhile.
  std::string send(std::string_view bytes) {
    out_.clear();
    input_ += bytes;
    pump();
    return out_;
  }

  bool closed() const { return closed_; }
  Engine& engine() { return engine_; }
  std::vector<std::string> delivered;
  std::vector<std::string> rcpts_checked;
  std::vector<std::string> auth_mechanisms;
  bool tls_started = false;
  // Content octets the server may still hold (the message memory budget).
  std::uint64_t memory = UINT64_MAX;

 private:
  void run(Step s) {
    while (true) {
      out_ += s.out;
      if (std::holds_alternative<next::ReadCommand>(s.next) || std::holds_alternative<next::ReadAuthLine>(s.next)) {
        next_ = s.next;
        return;
      }
      if (std::holds_alternative<next::CheckMail>(s.next)) {
        std::optional<Reply> reject;
        if (engine_.tx().from.local == "blocked") reject = Reply(550, "5.7.1", "Sender refused");
        s = engine_.on_mail_checked(reject);
      } else if (auto* r = std::get_if<next::CheckRcpt>(&s.next)) {
        rcpts_checked.push_back(r->address.str());
        if (r->postmaster) s = engine_.on_rcpt_checked(Reply(250, "2.1.5", "OK"), std::string("postmaster"));
        else if (r->address.domain != "local.example") s = engine_.on_rcpt_checked(Reply(554, "5.7.1", "Relay access denied"), {});
        else if (r->address.local == "unknown") s = engine_.on_rcpt_checked(Reply(550, "5.1.1", "User unknown"), {});
        else s = engine_.on_rcpt_checked(Reply(250, "2.1.5", "OK"), r->address.str());
      } else if (std::holds_alternative<next::Deliver>(s.next)) {
        delivered.push_back(engine_.tx().message);
        s = engine_.on_delivered(Reply(250, "2.0.0", "Ok: delivered as T"));
      } else if (auto* a = std::get_if<next::CheckAuth>(&s.next)) {
        auth_mechanisms.push_back(a->mechanism);
        bool ok = a->credentials.authcid == "ana@local.example" && a->credentials.password == "good" &&
                  a->credentials.authzid.empty();
        s = ok ? engine_.on_auth_checked(Reply(235, "2.7.0", "Authentication successful"), a->credentials.authcid)
               : engine_.on_auth_checked(Reply(535, "5.7.8", "Authentication credentials invalid"), "");
      } else if (std::holds_alternative<next::StartTls>(s.next)) {
        lines_.clear();  // RFC 3207: what was pipelined is discarded
        input_.clear();
        tls_started = true;
        s = engine_.on_tls(true);
      } else if (std::holds_alternative<next::Close>(s.next)) {
        closed_ = true;
        next_ = s.next;
        return;
      } else {
        next_ = s.next;  // ReadData / ReadChunk: wait for input
        return;
      }
    }
  }

  void pump() {
    while (!closed_) {
      if (std::holds_alternative<next::ReadAuthLine>(next_)) {
        lines_.feed(input_);
        input_.clear();
        std::string line;
        auto st = lines_.next(line);
        if (st == LineSplitter::Status::NeedMore) return;
        if (st == LineSplitter::Status::TooLong) run(engine_.on_auth_line_too_long());
        else run(engine_.on_auth_line(line));
      } else if (std::holds_alternative<next::ReadCommand>(next_)) {
        lines_.feed(input_);
        input_.clear();
        std::string line;
        auto st = lines_.next(line);
        if (st == LineSplitter::Status::NeedMore) return;
        if (st == LineSplitter::Status::TooLong) run(engine_.on_line_too_long());
        else run(engine_.on_line(line));
      } else if (std::holds_alternative<next::ReadData>(next_)) {
        if (!reader_) reader_.emplace(engine_.config().limits.message_size);
        std::string pending = lines_.take_pending() + input_;
        input_.clear();
        auto used = reader_->feed(pending);
        if (reader_->content().size() > memory) {
          reader_->drop();
          engine_.tx().no_memory = true;
        }
        if (!reader_->done()) return;
        lines_.feed(std::string_view(pending).substr(used));
        Step s = engine_.on_data(*reader_);
        if (std::holds_alternative<next::Deliver>(s.next)) engine_.tx().message = reader_->content();
        reader_.reset();
        run(std::move(s));
      } else if (auto* c = std::get_if<next::ReadChunk>(&next_)) {
        std::string pending = lines_.take_pending() + input_;
        input_.clear();
        if (pending.size() < c->size) {
          lines_.feed(pending);
          return;
        }
        std::string chunk = pending.substr(0, c->size);
        lines_.feed(std::string_view(pending).substr(c->size));
        bool keep = c->keep;
        if (keep && engine_.tx().message.size() + chunk.size() > memory) {
          keep = false;
          engine_.tx().no_memory = true;
        }
        run(engine_.on_chunk(keep ? chunk : std::string(), keep));
      } else {
        return;
      }
    }
  }

  Engine engine_;
  LineSplitter lines_;
  std::string input_;
  std::string out_;
  Next next_;
  std::optional<proto::DataReader> reader_;
  bool closed_ = false;
};

// Reply codes (with enhanced status) of each final reply line in `out`.
std::vector<std::string> codes(const std::string& out) {
  std::vector<std::string> v;
  std::size_t pos = 0;
  while (pos < out.size()) {
    auto end = out.find("\r\n", pos);
    auto line = out.substr(pos, end - pos);
    pos = end + 2;
    if (line.size() >= 4 && line[3] == '-') continue;
    // "250 2.1.0 Sender OK" -> "250 2.1.0"; "354 Start..." -> "354"
    auto sp2 = line.find(' ', 4);
    std::string code = line.substr(0, 3);
    if (sp2 != std::string::npos && line.size() > 4 && line[4] >= '2' && line[4] <= '5' && line[5] == '.')
      code = line.substr(0, sp2);
    v.push_back(code);
  }
  return v;
}

using V = std::vector<std::string>;

TEST(SmtpEngine, Greeting) {
  Harness h;
  Harness h2;
  EXPECT_EQ(h2.send(""), "");
}

// RFC 5321 §3.1: a refused connection gets 554 instead of the greeting, then 503 to
// everything but QUIT; the error limit ends a client that does not leave.
TEST(SmtpEngine, RefusedConnectionWaitsForQuit) {
  Harness h(Harness::make_config(), Reply(554, "5.7.1", "Service unavailable; client [192.0.2.1] blocked using bl.example"));
  EXPECT_EQ(h.send(""), "");
  EXPECT_EQ(h.send("EHLO client.example\r\n"),
            "503 5.5.1 Bad sequence of commands: the connection was refused, please QUIT\r\n");
  EXPECT_EQ(h.send("MAIL FROM:<a@b.example>\r\n").substr(0, 4), "503 ");
  EXPECT_FALSE(h.closed());
  EXPECT_EQ(h.send("QUIT\r\n"), "221 2.0.0 mx.local.example closing connection\r\n");
  EXPECT_TRUE(h.closed());
  Harness stubborn(Harness::make_config(), Reply(554, "5.7.1", "Refused"));
  for (int i = 0; i < 4; ++i) stubborn.send("NOOP\r\n");
  EXPECT_NE(stubborn.send("NOOP\r\n").find("421 4.7.0"), std::string::npos);
  EXPECT_TRUE(stubborn.closed());
  Harness busy(Harness::make_config(), Reply(421, "4.7.0", "Too many connections from your address"));
  EXPECT_TRUE(busy.closed());
}

TEST(SmtpEngine, BasicTransaction) {
  Harness h;
  auto ehlo = h.send("EHLO client.example\r\n");
  EXPECT_NE(ehlo.find("250-PIPELINING\r\n"), std::string::npos);
  EXPECT_NE(ehlo.find("250-SIZE 1000\r\n"), std::string::npos);
  EXPECT_NE(ehlo.find("250-STARTTLS\r\n"), std::string::npos);
  EXPECT_NE(ehlo.find("250-CHUNKING\r\n"), std::string::npos);
  EXPECT_NE(ehlo.find("250-SMTPUTF8\r\n"), std::string::npos);
  EXPECT_NE(ehlo.find("250-LIMITS RCPTMAX=3 MAILMAX=3\r\n"), std::string::npos);
  EXPECT_EQ(codes(h.send("MAIL FROM:<a@remote.example>\r\n")), V{"250 2.1.0"});
  EXPECT_EQ(codes(h.send("RCPT TO:<ana@local.example>\r\n")), V{"250 2.1.5"});
  EXPECT_EQ(codes(h.send("DATA\r\n")), V{"354"});
  EXPECT_EQ(codes(h.send("Subject: hi\r\n\r\n..dot\r\n.\r\n")), V{"250 2.0.0"});
  ASSERT_EQ(h.delivered.size(), 1u);
  EXPECT_EQ(h.delivered[0], "Subject: hi\r\n\r\n.dot\r\n");
  EXPECT_EQ(codes(h.send("QUIT\r\n")), V{"221 2.0.0"});
  EXPECT_TRUE(h.closed());
}

TEST(SmtpEngine, PipelinedTransactionInOnePacket) {
  Harness h;
  auto out = h.send(
      "EHLO c\r\nMAIL FROM:<a@remote.example>\r\nRCPT TO:<ana@local.example>\r\nRCPT TO:<unknown@local.example>\r\n"
      "RCPT TO:<x@elsewhere.example>\r\nDATA\r\nhello\r\n.\r\nQUIT\r\n");
  auto c = codes(out);
  EXPECT_EQ(c, (V{"250", "250 2.1.0", "250 2.1.5", "550 5.1.1", "554 5.7.1", "354", "250 2.0.0", "221 2.0.0"}));
  ASSERT_EQ(h.delivered.size(), 1u);
  EXPECT_EQ(h.delivered[0], "hello\r\n");
}

TEST(SmtpEngine, Sequencing) {
  auto cfg = Harness::make_config();
  cfg.limits.smtp_errors = 20;
  Harness h(cfg);
  EXPECT_EQ(codes(h.send("MAIL FROM:<a@b.example>\r\n")), V{"503 5.5.1"});
  EXPECT_EQ(codes(h.send("RCPT TO:<ana@local.example>\r\n")), V{"503 5.5.1"});
  EXPECT_EQ(codes(h.send("DATA\r\n")), V{"503 5.5.1"});
  h.send("HELO c\r\n");
  EXPECT_EQ(codes(h.send("DATA\r\n")), V{"503 5.5.1"});
  EXPECT_EQ(codes(h.send("MAIL FROM:<a@b.example>\r\n")), V{"250 2.1.0"});
  EXPECT_EQ(codes(h.send("MAIL FROM:<a@b.example>\r\n")), V{"503 5.5.1"});  // nested
  EXPECT_EQ(codes(h.send("DATA\r\n")), V{"503 5.5.1"});                     // no RCPT yet
  EXPECT_EQ(codes(h.send("RCPT TO:<unknown@local.example>\r\n")), V{"550 5.1.1"});
  EXPECT_EQ(codes(h.send("DATA\r\n")), V{"554 5.5.1"});                     // all refused
  EXPECT_EQ(codes(h.send("RSET\r\n")), V{"250 2.0.0"});
  EXPECT_EQ(codes(h.send("RCPT TO:<ana@local.example>\r\n")), V{"503 5.5.1"});
}

TEST(SmtpEngine, HeloGivesNoExtensions) {
  Harness h;
  auto out = h.send("HELO c\r\n");
  EXPECT_EQ(out, "250 mx.local.example\r\n");
  EXPECT_EQ(codes(h.send("MAIL FROM:<a@b.example> SIZE=10\r\n")), V{"555 5.5.4"});
}

TEST(SmtpEngine, RecipientLimit) {
  Harness h;
  h.send("EHLO c\r\nMAIL FROM:<a@b.example>\r\n");
  auto out = h.send(
      "RCPT TO:<a@local.example>\r\nRCPT TO:<b@local.example>\r\nRCPT TO:<c@local.example>\r\nRCPT TO:<d@local.example>\r\n");
  EXPECT_EQ(codes(out), (V{"250 2.1.5", "250 2.1.5", "250 2.1.5", "452 4.5.3"}));
  EXPECT_EQ(codes(h.send("DATA\r\nx\r\n.\r\n")), (V{"354", "250 2.0.0"}));
}

TEST(SmtpEngine, SizeDeclaredAndActual) {
  Harness h;
  h.send("EHLO c\r\n");
  EXPECT_EQ(codes(h.send("MAIL FROM:<a@b.example> SIZE=1001\r\n")), V{"552 5.3.4"});
  h.send("MAIL FROM:<a@b.example> SIZE=10\r\nRCPT TO:<ana@local.example>\r\nDATA\r\n");
  std::string big(2000, 'x');
  EXPECT_EQ(codes(h.send(big + "\r\n.\r\n")), V{"552 5.3.4"});
  EXPECT_TRUE(h.delivered.empty());
  // The session goes on.
  EXPECT_EQ(codes(h.send("NOOP\r\n")), V{"250 2.0.0"});
}

TEST(SmtpEngine, SmugglingIsOneRejectedMessage) {
  for (std::string fake : {"\n.\n", "\r.\r", "\n.\r\n", "\r\n.\n"}) {
    Harness h;
    h.send("EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<ana@local.example>\r\nDATA\r\n");
    auto out = h.send("Subject: a\r\n\r\nbody" + fake +
                      "MAIL FROM:<evil@b.example>\r\nRCPT TO:<ana@local.example>\r\nDATA\r\nsmuggled\r\n.\r\n");
    EXPECT_EQ(codes(out), V{"550 5.6.0"}) << "fake end " << testing::PrintToString(fake);
    EXPECT_TRUE(h.delivered.empty());
    EXPECT_EQ(h.rcpts_checked.size(), 1u);
  }
}

TEST(SmtpEngine, CommandLineTooLongThenRecovers) {
  Harness h;
  h.send("EHLO c\r\n");
  std::string longline = "NOOP " + std::string(600, 'x') + "\r\n";
  EXPECT_EQ(codes(h.send(longline)), V{"500 5.5.2"});
  EXPECT_EQ(codes(h.send("NOOP\r\n")), V{"250 2.0.0"});
}

TEST(SmtpEngine, TooManyErrorsCloses) {
  Harness h;
  auto out = h.send("FOO\r\nFOO\r\nFOO\r\nFOO\r\nFOO\r\nNOOP\r\n");
  auto c = codes(out);
  ASSERT_EQ(c.size(), 6u);
  EXPECT_EQ(c[4], "500 5.5.1");
  EXPECT_EQ(c[5], "421 4.7.0");
  EXPECT_TRUE(h.closed());
}

TEST(SmtpEngine, StartTlsDiscardsPipelinedAndResets) {
  Harness h;
  h.send("EHLO c\r\n");
  auto out = h.send("STARTTLS\r\nMAIL FROM:<a@b.example>\r\n");
  EXPECT_EQ(codes(out), V{"220 2.0.0"});
  EXPECT_TRUE(h.tls_started);
  // State is reset: the client must EHLO again; STARTTLS is no longer offered.
  EXPECT_EQ(codes(h.send("MAIL FROM:<a@b.example>\r\n")), V{"503 5.5.1"});
  auto ehlo = h.send("EHLO c\r\n");
  EXPECT_EQ(ehlo.find("STARTTLS"), std::string::npos);
  EXPECT_EQ(codes(h.send("STARTTLS\r\n")), V{"503 5.5.1"});
}

TEST(SmtpEngine, DsnParametersReachTheRecipientsAndRequireTlsOnlyUnderTls) {
  auto cfg = Harness::make_config();
  cfg.requiretls = true;
  Harness h(cfg);
  auto ehlo = h.send("EHLO c\r\n");
  EXPECT_NE(ehlo.find("250-DSN\r\n"), std::string::npos);
  EXPECT_EQ(ehlo.find("REQUIRETLS"), std::string::npos);
  EXPECT_EQ(codes(h.send("MAIL FROM:<a@b.example> REQUIRETLS\r\n")), V{"555 5.5.4"});
  EXPECT_EQ(codes(h.send("MAIL FROM:<a@b.example> RET=HDRS ENVID=e1\r\n"
                         "RCPT TO:<ana@local.example> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;x+2By@local.example\r\n")),
            (V{"250 2.1.0", "250 2.1.5"}));
  ASSERT_EQ(h.engine().tx().recipients.size(), 1u);
  EXPECT_EQ(h.engine().tx().recipients[0].params.notify, proto::notify::kSuccess | proto::notify::kFailure);
  EXPECT_EQ(h.engine().tx().recipients[0].params.orcpt, "rfc822;x+y@local.example");
  EXPECT_EQ(h.engine().tx().params.ret, proto::Ret::Hdrs);
  EXPECT_EQ(h.engine().tx().params.envid, "e1");
  h.send("RSET\r\nSTARTTLS\r\n");
  ASSERT_TRUE(h.tls_started);
  ehlo = h.send("EHLO c\r\n");
  EXPECT_NE(ehlo.find("250-REQUIRETLS\r\n"), std::string::npos);
  EXPECT_EQ(codes(h.send("MAIL FROM:<a@b.example> REQUIRETLS\r\n")), V{"250 2.1.0"});
  EXPECT_TRUE(h.engine().tx().params.requiretls);
  // HELO sessions take no DSN parameters.
  Harness old;
  old.send("HELO c\r\nMAIL FROM:<a@b.example>\r\n");
  EXPECT_EQ(codes(old.send("RCPT TO:<ana@local.example> NOTIFY=NEVER\r\n")), V{"555 5.5.4"});
}

EngineConfig submission_config() {
  auto c = Harness::make_config();
  c.auth = true;
  return c;
}

TEST(SmtpEngine, AuthOnlyAfterStartTls) {
  Harness h(submission_config());
  auto ehlo = h.send("EHLO c\r\n");
  EXPECT_EQ(ehlo.find("AUTH"), std::string::npos);
  EXPECT_EQ(codes(h.send("AUTH PLAIN AGFuYUBsb2NhbC5leGFtcGxlAGdvb2Q=\r\n")), V{"538 5.7.11"});
  h.send("STARTTLS\r\n");
  ehlo = h.send("EHLO c\r\n");
  EXPECT_NE(ehlo.find("250-AUTH SCRAM-SHA-256 SCRAM-SHA-1 PLAIN LOGIN\r\n"), std::string::npos) << ehlo;
  EXPECT_EQ(codes(h.send("AUTH CRAM-MD5\r\n")), V{"504 5.5.4"});
  // PLAIN with an initial response: "\0ana@local.example\0good".
  EXPECT_EQ(codes(h.send("AUTH PLAIN AGFuYUBsb2NhbC5leGFtcGxlAGdvb2Q=\r\n")), V{"235 2.7.0"});
  EXPECT_EQ(h.engine().auth_user(), "ana@local.example");
  EXPECT_EQ(codes(h.send("AUTH PLAIN AGFuYUBsb2NhbC5leGFtcGxlAGdvb2Q=\r\n")), V{"503 5.5.1"});
  EXPECT_EQ(h.send("EHLO c\r\n").find("AUTH"), std::string::npos);  // not offered again
}

TEST(SmtpEngine, AuthLoginChallengesCancelAndFailure) {
  auto cfg = submission_config();
  cfg.auth_cleartext = true;  // a loopback client, say
  Harness h(cfg);
  h.send("EHLO c\r\n");
  // LOGIN: two challenges ("Username:", "Password:").
  EXPECT_EQ(h.send("AUTH LOGIN\r\n"), "334 VXNlcm5hbWU6\r\n");
  EXPECT_EQ(h.send("YW5hQGxvY2FsLmV4YW1wbGU=\r\n"), "334 UGFzc3dvcmQ6\r\n");
  EXPECT_EQ(codes(h.send("YmFk\r\n")), V{"535 5.7.8"});  // "bad"
  EXPECT_TRUE(h.engine().auth_user().empty());
  EXPECT_EQ(codes(h.send("AUTH PLAIN\r\n")), V{"334"});
  EXPECT_EQ(codes(h.send("*\r\n")), V{"501 5.0.0"});
  EXPECT_EQ(codes(h.send("AUTH PLAIN !!!\r\n")), V{"501 5.5.2"});
  EXPECT_EQ(codes(h.send("MAIL FROM:<a@b.example>\r\nAUTH PLAIN AGFuYUBsb2NhbC5leGFtcGxlAGdvb2Q=\r\n")),
            (V{"250 2.1.0", "503 5.5.1"}));
  EXPECT_EQ(codes(h.send("RSET\r\nAUTH PLAIN AGFuYUBsb2NhbC5leGFtcGxlAGdvb2Q=\r\n")), (V{"250 2.0.0", "235 2.7.0"}));
  EXPECT_EQ(h.auth_mechanisms, (std::vector<std::string>{"LOGIN", "PLAIN"}));
}

TEST(SmtpEngine, AuthNotOnPort25AndLongLinesOnlyForAuth) {
  Harness h;
  h.send("EHLO c\r\n");
  EXPECT_EQ(codes(h.send("AUTH PLAIN AGFuYUBsb2NhbC5leGFtcGxlAGdvb2Q=\r\n")), V{"502 5.5.1"});
  Harness s(submission_config());
  s.send("EHLO c\r\nSTARTTLS\r\n");
  s.send("EHLO c\r\n");
  EXPECT_EQ(codes(s.send("NOOP " + std::string(600, 'x') + "\r\n")), V{"500 5.5.2"});
  // A long (but allowed) initial response is read whole.
  std::string creds = std::string("\0", 1) + "ana@local.example" + std::string("\0", 1) + std::string(3000, 'p');
  EXPECT_EQ(codes(s.send("AUTH PLAIN " + auth::base64_encode(creds) + "\r\n")), V{"535 5.7.8"});
}

TEST(SmtpEngine, StartTlsRefusedDuringTransaction) {
  Harness h;
  h.send("EHLO c\r\nMAIL FROM:<a@b.example>\r\n");
  EXPECT_EQ(codes(h.send("STARTTLS\r\n")), V{"503 5.5.1"});
  EXPECT_FALSE(h.tls_started);
  EXPECT_EQ(codes(h.send("RSET\r\nSTARTTLS\r\n")), (V{"250 2.0.0", "220 2.0.0"}));
  EXPECT_TRUE(h.tls_started);
}

TEST(SmtpEngine, StartTlsUnavailable) {
  auto cfg = Harness::make_config();
  cfg.starttls_available = false;
  Harness h(cfg);
  auto ehlo = h.send("EHLO c\r\n");
  EXPECT_EQ(ehlo.find("STARTTLS"), std::string::npos);
  EXPECT_EQ(codes(h.send("STARTTLS\r\n")), V{"502 5.5.1"});
}

TEST(SmtpEngine, Bdat) {
  Harness h;
  h.send("EHLO c\r\nMAIL FROM:<a@b.example> BODY=BINARYMIME\r\nRCPT TO:<ana@local.example>\r\n");
  EXPECT_EQ(codes(h.send("DATA\r\n")), V{"503 5.5.1"});  // BINARYMIME needs BDAT
  EXPECT_EQ(codes(h.send("BDAT 5\r\nab\ncd")), V{"250 2.0.0"});
  EXPECT_EQ(codes(h.send("BDAT 3 LAST\r\n\r\n.")), V{"250 2.0.0"});
  ASSERT_EQ(h.delivered.size(), 1u);
  EXPECT_EQ(h.delivered[0], "ab\ncd\r\n.");
}

TEST(SmtpEngine, BdatChunkDataIsNotACommand) {
  Harness h;
  h.send("EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<ana@local.example>\r\n");
  // The chunk holds text that looks like commands; it must be taken as data.
  std::string chunk = "QUIT\r\nRSET\r\n";
  auto out = h.send("BDAT " + std::to_string(chunk.size()) + " LAST\r\n" + chunk + "NOOP\r\n");
  EXPECT_EQ(codes(out), (V{"250 2.0.0", "250 2.0.0"}));
  ASSERT_EQ(h.delivered.size(), 1u);
  EXPECT_EQ(h.delivered[0], chunk);
  EXPECT_FALSE(h.closed());
}

TEST(SmtpEngine, BdatWithoutTransactionDiscardsChunk) {
  Harness h;
  h.send("EHLO c\r\n");
  auto out = h.send("BDAT 6\r\nQUIT\r\nNOOP\r\n");
  EXPECT_EQ(codes(out), (V{"503 5.5.1", "250 2.0.0"}));
  EXPECT_FALSE(h.closed());
}

TEST(SmtpEngine, BdatTooBig) {
  Harness h;
  h.send("EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<ana@local.example>\r\n");
  std::string chunk(900, 'x');
  EXPECT_EQ(codes(h.send("BDAT 900\r\n" + chunk)), V{"250 2.0.0"});
  EXPECT_EQ(codes(h.send("BDAT 900 LAST\r\n" + chunk)), V{"552 5.3.4"});
  EXPECT_TRUE(h.delivered.empty());
  EXPECT_EQ(codes(h.send("DATA\r\n")), V{"503 5.5.1"});  // transaction ended
}

TEST(SmtpEngine, BdatBareNewlineRefusedUnlessBinaryMime) {
  for (std::string bad : {"a\nb\r\n", "a\rb\r\n", "ab\r\n\r"}) {
    Harness h;
    h.send("EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<ana@local.example>\r\n");
    // Split across chunks: the check looks at the whole message.
    EXPECT_EQ(codes(h.send("BDAT 1\r\n" + bad.substr(0, 1))), V{"250 2.0.0"});
    auto rest = bad.substr(1);
    EXPECT_EQ(codes(h.send("BDAT " + std::to_string(rest.size()) + " LAST\r\n" + rest)), V{"550 5.6.0"})
        << testing::PrintToString(bad);
    EXPECT_TRUE(h.delivered.empty());
  }
  Harness ok;  // a CRLF split over two chunks is fine
  ok.send("EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<ana@local.example>\r\n");
  EXPECT_EQ(codes(ok.send("BDAT 3\r\nab\r")), V{"250 2.0.0"});
  EXPECT_EQ(codes(ok.send("BDAT 1 LAST\r\n\n")), V{"250 2.0.0"});
  EXPECT_EQ(ok.delivered, std::vector<std::string>{"ab\r\n"});
}

TEST(SmtpEngine, OutOfMemoryDefersData) {
  Harness h;
  h.memory = 10;
  h.send("EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<ana@local.example>\r\nDATA\r\n");
  EXPECT_EQ(codes(h.send("Subject: longer than ten\r\n\r\nbody\r\n.\r\nNOOP\r\n")), (V{"452 4.3.1", "250 2.0.0"}));
  EXPECT_TRUE(h.delivered.empty());
  EXPECT_EQ(codes(h.send("DATA\r\n")), V{"503 5.5.1"});  // the transaction ended
  h.memory = UINT64_MAX;  // memory again: the retry goes through
  h.send("MAIL FROM:<a@b.example>\r\nRCPT TO:<ana@local.example>\r\nDATA\r\n");
  EXPECT_EQ(codes(h.send("Subject: x\r\n\r\nbody\r\n.\r\n")), V{"250 2.0.0"});
}

TEST(SmtpEngine, OutOfMemoryDefersBdatAtLast) {
  Harness h;
  h.memory = 10;
  h.send("EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<ana@local.example>\r\n");
  EXPECT_EQ(codes(h.send("BDAT 8\r\n12345678")), V{"250 2.0.0"});
  EXPECT_EQ(codes(h.send("BDAT 8\r\n12345678")), V{"250 2.0.0"});  // read, not kept
  EXPECT_EQ(codes(h.send("BDAT 2 LAST\r\n\r\n")), V{"452 4.3.1"});
  EXPECT_TRUE(h.delivered.empty());
}

TEST(SmtpEngine, RefusedRecipientsEndTheSession) {
  auto cfg = Harness::make_config();
  cfg.limits.rcpt_refusals = 3;
  cfg.limits.recipients_per_message = 100;
  Harness h(cfg);
  h.send("EHLO c\r\nMAIL FROM:<a@b.example>\r\n");
  EXPECT_EQ(codes(h.send("RCPT TO:<unknown@local.example>\r\n")), V{"550 5.1.1"});
  EXPECT_EQ(codes(h.send("RCPT TO:<ana@local.example>\r\n")), V{"250 2.1.5"});  // accepted ones do not count
  EXPECT_EQ(codes(h.send("RCPT TO:<x@elsewhere.example>\r\n")), V{"554 5.7.1"});
  EXPECT_FALSE(h.closed());
  EXPECT_EQ(codes(h.send("RCPT TO:<unknown@local.example>\r\nNOOP\r\n")), (V{"550 5.1.1", "421 4.7.0"}));
  EXPECT_TRUE(h.closed());
}

TEST(SmtpEngine, DataAfterBdatRefused) {
  Harness h;
  h.send("EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<ana@local.example>\r\nBDAT 1\r\nx");
  EXPECT_EQ(codes(h.send("DATA\r\n")), V{"503 5.5.1"});
}

TEST(SmtpEngine, VrfyNeverConfirms) {
  Harness h;
  EXPECT_EQ(codes(h.send("VRFY ana\r\n")), V{"252 2.5.0"});
  EXPECT_EQ(codes(h.send("EXPN list\r\n")), V{"502 5.5.1"});
  EXPECT_EQ(codes(h.send("HELP\r\n")), V{"214 2.0.0"});
}

TEST(SmtpEngine, PostmasterWithoutDomain) {
  Harness h;
  h.send("EHLO c\r\nMAIL FROM:<>\r\n");
  EXPECT_EQ(codes(h.send("RCPT TO:<Postmaster>\r\n")), V{"250 2.1.5"});
}

TEST(SmtpEngine, SenderRefusedResetsTransaction) {
  Harness h;
  h.send("EHLO c\r\n");
  EXPECT_EQ(codes(h.send("MAIL FROM:<blocked@b.example>\r\n")), V{"550 5.7.1"});
  EXPECT_EQ(codes(h.send("MAIL FROM:<ok@b.example>\r\n")), V{"250 2.1.0"});
}

TEST(SmtpEngine, TransactionsPerConnectionLimit) {
  Harness h;
  h.send("EHLO c\r\n");
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(codes(h.send("MAIL FROM:<a@b.example>\r\nRCPT TO:<ana@local.example>\r\nDATA\r\nx\r\n.\r\n")),
              (V{"250 2.1.0", "250 2.1.5", "354", "250 2.0.0"}));
  EXPECT_EQ(codes(h.send("MAIL FROM:<a@b.example>\r\n")), V{"421 4.7.0"});
  EXPECT_TRUE(h.closed());
}

TEST(SmtpEngine, EhloResetsTransaction) {
  Harness h;
  h.send("EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<ana@local.example>\r\n");
  h.send("EHLO c\r\n");
  EXPECT_EQ(codes(h.send("DATA\r\n")), V{"503 5.5.1"});
}

TEST(SmtpEngine, TimeoutAndShutdownReplies) {
  Engine e(Harness::make_config());
  e.start("127.0.0.1");
  auto s = e.on_timeout();
  EXPECT_EQ(codes(s.out), V{"421 4.4.2"});
  EXPECT_TRUE(std::holds_alternative<next::Close>(s.next));
  Engine e2(Harness::make_config());
  s = e2.on_shutdown();
  EXPECT_EQ(codes(s.out), V{"421 4.3.2"});
}

}  // namespace
}  // namespace valija::smtp::server
