// POP3 engine transcripts: client bytes in, exact server bytes out. The harness plays the
// connection's part (line splitting, credential checks, message streaming, expunge)
// without I/O.
#include "pop3/proto/engine.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "base/line_splitter.hpp"
#include "pop3/proto/stuffing.hpp"

namespace valija::pop3::proto {
namespace {

using namespace std::string_literals;

const std::vector<std::string> kMessages = {
    "Subject: one\r\n\r\nHello\r\n",
    "Subject: two\r\n\r\n.dot line\r\nline 2\r\n.\r\nend\r\n",
    "Subject: three\r\nX: y\r\n\r\nbody1\r\nbody2\r\nbody3\r\n",
};

std::string sz(std::size_t i) { return std::to_string(kMessages[i].size()); }
std::string total() { return std::to_string(kMessages[0].size() + kMessages[1].size() + kMessages[2].size()); }

class Harness {
 public:
  explicit Harness(EngineConfig cfg = make_config(), std::string_view token = "1896.697170952")
      : engine_(cfg), lines_(auth::sasl_line_limit(cfg.limits.sasl) + 2) {
    greeting = run(engine_.start(token));
  }

  static EngineConfig make_config() {
    EngineConfig c;
    c.hostname = "pop.example.org";
    c.cleartext_auth = true;
    c.limits.errors = 8;
    return c;
  }

  // Sends raw client bytes; returns everything the server wrote meanwhile.
  std::string send(std::string_view bytes) {
    out_.clear();
    input_ += bytes;
    pump();
    return out_;
  }

  std::string login(std::string_view user = "alice", std::string_view pass = "secret") {
    return send("USER "s + std::string(user) + "\r\nPASS " + std::string(pass) + "\r\n");
  }

  Engine& engine() { return engine_; }
  bool closed() const { return closed_; }

  // The world the connection would consult.
  std::map<std::string, std::string> passwords{{"alice", "secret"}, {"bob", "pw"}};
  std::vector<std::string> messages = kMessages;
  std::set<std::size_t> unreadable;
  bool commit_ok = true;
  // What the engine asked for.
  std::vector<next::CheckLogin> logins;
  std::vector<next::CheckApop> apops;
  std::vector<std::vector<std::size_t>> commits;
  std::vector<next::Send> sends;
  bool tls_started = false;
  bool tls_ok = true;
  std::string greeting;

 private:
  std::vector<MaildropEntry> listing() const {
    std::vector<MaildropEntry> v;
    for (std::size_t i = 0; i < messages.size(); ++i) v.push_back({messages[i].size(), "uid." + std::to_string(i + 1)});
    return v;
  }

  LoginResult check(const std::string& user, const std::string& password) const {
    if (user == "busy") return LoginResult::InUse;
    if (user == "temp") return LoginResult::TempFail;
    if (user == "early") return LoginResult::LoginDelay;
    if (user == "disabled") return LoginResult::PermFail;
    auto it = passwords.find(user);
    return it != passwords.end() && it->second == password ? LoginResult::Ok : LoginResult::BadCredentials;
  }

  std::string stream(const next::Send& s) {
    const std::string& msg = messages.at(s.index);
    DotStuffer stuff;
    std::optional<TopCutter> cut;
    if (s.top_lines) cut.emplace(*s.top_lines);
    std::string out;
    for (std::size_t i = 0; i < msg.size(); i += 5) {  // small chunks: boundaries everywhere
      auto chunk = std::string_view(msg).substr(i, 5);
      auto keep = cut ? cut->feed(chunk) : chunk.size();
      stuff.feed(chunk.substr(0, keep), out);
      if (cut && cut->done()) break;
    }
    stuff.finish(out);
    return out;
  }

  std::string run(Step s) {
    std::string written;
    while (true) {
      if (auto* l = std::get_if<next::CheckLogin>(&s.next)) {
        written += s.out;
        logins.push_back(*l);
        auto r = check(l->user, l->password);
        s = engine_.on_login(r, r == LoginResult::Ok ? listing() : std::vector<MaildropEntry>{});
      } else if (auto* a = std::get_if<next::CheckApop>(&s.next)) {
        written += s.out;
        apops.push_back(*a);
        bool good = a->user == "alice" && a->digest == "c4c9334bac560ecc979e58001b3e22fb";
        s = engine_.on_login(good ? LoginResult::Ok : LoginResult::BadCredentials, good ? listing() : std::vector<MaildropEntry>{});
      } else if (auto* snd = std::get_if<next::Send>(&s.next)) {
        sends.push_back(*snd);
        if (unreadable.count(snd->index)) {
          s = engine_.on_send_failed();  // Step::out (the +OK) is not written
        } else {
          written += s.out;
          written += stream(*snd);
          s = engine_.on_sent();
        }
      } else if (std::holds_alternative<next::StartTls>(s.next)) {
        written += s.out;
        lines_.clear();  // RFC 2595 §4: what was pipelined is discarded
        input_.clear();
        tls_started = true;
        s = engine_.on_tls(tls_ok);
      } else if (auto* c = std::get_if<next::Commit>(&s.next)) {
        written += s.out;
        commits.push_back(c->deleted);
        s = engine_.on_commit(commit_ok);
      } else if (std::holds_alternative<next::Close>(s.next)) {
        written += s.out;
        closed_ = true;
        return written;
      } else {
        written += s.out;
        return written;
      }
    }
  }

  void pump() {
    while (!closed_) {
      lines_.feed(input_);
      input_.clear();
      std::string line;
      auto st = lines_.next(line);
      if (st == LineSplitter::Status::NeedMore) return;
      Step s = st == LineSplitter::Status::TooLong ? engine_.on_line_too_long() : engine_.on_line(line);
      bool reading = std::holds_alternative<next::ReadCommand>(s.next);
      auto w = run(std::move(s));
      if (reading && w.empty()) ADD_FAILURE() << "no answer to: " << line;
      out_ += w;
    }
  }

  Engine engine_;
  LineSplitter lines_;
  std::string input_;
  std::string out_;
  bool closed_ = false;
};

std::string logged_in() { return "+OK Send PASS\r\n+OK Maildrop has 3 messages (" + total() + " octets)\r\n"; }

// --- Greeting and APOP timestamp ---

TEST(Pop3Engine, Greeting) {
  Harness h;
  EXPECT_EQ(h.greeting, "+OK pop.example.org POP3 server ready\r\n");  // no timestamp without APOP
  auto cfg = Harness::make_config();
  cfg.apop = true;
  Harness a(cfg);
  EXPECT_EQ(a.greeting, "+OK pop.example.org POP3 server ready <1896.697170952@pop.example.org>\r\n");
}

TEST(Pop3Engine, ApopTimestamp) {
  EXPECT_EQ(apop_timestamp("1896.697170952", "dbc.mtview.ca.us"), "<1896.697170952@dbc.mtview.ca.us>");
  EXPECT_EQ(apop_timestamp("a-b_c+d=", "h"), "<a-b_c+d=@h>");
  EXPECT_FALSE(apop_timestamp("", "h"));
  EXPECT_FALSE(apop_timestamp("t", ""));
  EXPECT_FALSE(apop_timestamp("a>b", "h"));
  EXPECT_FALSE(apop_timestamp("a b", "h"));
  EXPECT_FALSE(apop_timestamp("a@b", "h"));
  EXPECT_FALSE(apop_timestamp("a\r\n", "h"));
  EXPECT_FALSE(apop_timestamp("t", "h_x"));
  EXPECT_FALSE(apop_timestamp("t", "h>"));
  EXPECT_FALSE(apop_timestamp(std::string(200, 't'), std::string(60, 'h')));
}

// --- USER / PASS ---

TEST(Pop3Engine, UserPassLogin) {
  Harness h;
  EXPECT_EQ(h.login(), logged_in());
  ASSERT_EQ(h.logins.size(), 1u);
  EXPECT_EQ(h.logins[0].user, "alice");
  EXPECT_EQ(h.logins[0].password, "secret");
  EXPECT_EQ(h.logins[0].method, "USER");
  EXPECT_TRUE(h.engine().authenticated());
  EXPECT_EQ(h.engine().user(), "alice");
}

TEST(Pop3Engine, PasswordWithSpaces) {
  Harness h;
  h.passwords["alice"] = "my secret ";
  EXPECT_EQ(h.login("alice", "my secret "), logged_in());
}

TEST(Pop3Engine, PassNeedsUserImmediatelyBefore) {
  Harness h;
  EXPECT_EQ(h.send("PASS secret\r\n"), "-ERR No user name given, send USER first\r\n");
  EXPECT_EQ(h.send("USER alice\r\nNOOP\r\nPASS secret\r\n"),
            "+OK Send PASS\r\n-ERR Not logged in\r\n-ERR No user name given, send USER first\r\n");
  EXPECT_EQ(h.send("USER alice\r\nCAPA\r\n").substr(0, 15), "+OK Send PASS\r\n");
  EXPECT_EQ(h.send("PASS secret\r\n"), "-ERR No user name given, send USER first\r\n");
  // A second USER replaces the first.
  EXPECT_EQ(h.send("USER bob\r\nUSER alice\r\nPASS secret\r\n"),
            "+OK Send PASS\r\n+OK Send PASS\r\n+OK Maildrop has 3 messages (" + total() + " octets)\r\n");
  EXPECT_TRUE(h.logins.size() == 1 && h.logins[0].user == "alice");
}

TEST(Pop3Engine, BadCredentialsSameAnswerForUnknownUser) {
  Harness h;
  EXPECT_EQ(h.login("alice", "wrong"), "+OK Send PASS\r\n-ERR [AUTH] Authentication failed\r\n");
  EXPECT_EQ(h.login("nobody", "secret"), "+OK Send PASS\r\n-ERR [AUTH] Authentication failed\r\n");
  EXPECT_EQ(h.engine().login_failures(), 2u);
  EXPECT_FALSE(h.engine().authenticated());
  // The third failure ends the session (the default limit is 3).
  EXPECT_EQ(h.login("alice", "nope"),
            "+OK Send PASS\r\n-ERR [AUTH] Authentication failed (too many failures, closing connection)\r\n");
  EXPECT_TRUE(h.closed());
}

TEST(Pop3Engine, LoginFailureLimitConfigurable) {
  auto cfg = Harness::make_config();
  cfg.limits.login_failures = 1;
  Harness h(cfg);
  EXPECT_EQ(h.login("alice", "x"),
            "+OK Send PASS\r\n-ERR [AUTH] Authentication failed (too many failures, closing connection)\r\n");
  EXPECT_TRUE(h.closed());
}

TEST(Pop3Engine, LoginOutcomesWithResponseCodes) {
  Harness h;
  EXPECT_EQ(h.login("busy", "x"), "+OK Send PASS\r\n-ERR [IN-USE] Mailbox in use by another POP3 session\r\n");
  EXPECT_EQ(h.login("temp", "x"), "+OK Send PASS\r\n-ERR [SYS/TEMP] Temporary failure, try again later\r\n");
  EXPECT_EQ(h.login("early", "x"),
            "+OK Send PASS\r\n-ERR [LOGIN-DELAY] Minimum time between logins not yet elapsed\r\n");
  EXPECT_EQ(h.login("disabled", "x"), "+OK Send PASS\r\n-ERR [SYS/PERM] Mailbox not available\r\n");
  // None of these is the client's fault: no failure counted, still in AUTHORIZATION.
  EXPECT_EQ(h.engine().login_failures(), 0u);
  EXPECT_EQ(h.engine().errors(), 0u);
  EXPECT_EQ(h.login(), logged_in());
}

// --- Cleartext policy and STLS ---

EngineConfig tls_required() {
  auto cfg = Harness::make_config();
  cfg.cleartext_auth = false;
  cfg.stls_available = true;
  return cfg;
}

TEST(Pop3Engine, CleartextRefusedBeforeTls) {
  Harness h(tls_required());
  EXPECT_EQ(h.send("USER alice\r\n"), "-ERR [AUTH] Plaintext authentication disallowed without TLS, use STLS first\r\n");
  EXPECT_EQ(h.send("PASS secret\r\n"), "-ERR [AUTH] Plaintext authentication disallowed without TLS, use STLS first\r\n");
  EXPECT_EQ(h.send("AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n"),
            "-ERR [AUTH] Plaintext authentication disallowed without TLS, use STLS first\r\n");
  EXPECT_EQ(h.send("AUTH LOGIN\r\n"), "-ERR [AUTH] Plaintext authentication disallowed without TLS, use STLS first\r\n");
  EXPECT_EQ(h.send("AUTH\r\n"), "+OK\r\n.\r\n");  // nothing usable is listed
  EXPECT_TRUE(h.logins.empty());                   // no password was ever handed on
  EXPECT_EQ(h.send("STLS\r\n"), "+OK Begin TLS negotiation\r\n");
  EXPECT_TRUE(h.engine().tls_active());
  EXPECT_EQ(h.login(), logged_in());
}

TEST(Pop3Engine, CleartextRefusedWithoutStlsAvailable) {
  auto cfg = tls_required();
  cfg.stls_available = false;
  Harness h(cfg);
  EXPECT_EQ(h.send("USER alice\r\n"), "-ERR [AUTH] Plaintext authentication disallowed on this connection\r\n");
  EXPECT_EQ(h.send("STLS\r\n"), "-ERR STLS not available\r\n");
}

TEST(Pop3Engine, ImplicitTlsAllowsLogin) {
  auto cfg = tls_required();
  cfg.tls_active = true;
  Harness h(cfg);
  EXPECT_EQ(h.login(), logged_in());
  EXPECT_EQ(h.send("QUIT\r\n"), "+OK pop.example.org POP3 server signing off (3 messages left)\r\n");
}

TEST(Pop3Engine, StlsDiscardsPipelinedInput) {
  Harness h(tls_required());
  // CVE-2011-0411: commands sent with STLS in one packet must not run after the handshake.
  EXPECT_EQ(h.send("STLS\r\nUSER alice\r\nPASS secret\r\n"), "+OK Begin TLS negotiation\r\n");
  EXPECT_TRUE(h.tls_started);
  EXPECT_TRUE(h.logins.empty());
  EXPECT_FALSE(h.engine().authenticated());
  EXPECT_EQ(h.send("STLS\r\n"), "-ERR Already using TLS\r\n");
  EXPECT_EQ(h.login(), logged_in());
}

TEST(Pop3Engine, StlsForgetsUser) {
  auto cfg = tls_required();
  cfg.cleartext_auth = true;  // USER allowed before TLS here
  Harness u(cfg);
  EXPECT_EQ(u.send("USER alice\r\n"), "+OK Send PASS\r\n");
  EXPECT_EQ(u.send("STLS\r\n"), "+OK Begin TLS negotiation\r\n");
  EXPECT_EQ(u.send("PASS secret\r\n"), "-ERR No user name given, send USER first\r\n");
}

TEST(Pop3Engine, StlsHandshakeFailureCloses) {
  Harness h(tls_required());
  h.tls_ok = false;
  EXPECT_EQ(h.send("STLS\r\n"), "+OK Begin TLS negotiation\r\n");
  EXPECT_TRUE(h.closed());
}

// --- CAPA ---

TEST(Pop3Engine, CapaBeforeLogin) {
  Harness h;
  EXPECT_EQ(h.send("CAPA\r\n"),
            "+OK Capability list follows\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\nUTF8\r\n"
            "USER\r\nSASL SCRAM-SHA-256 SCRAM-SHA-1 PLAIN LOGIN\r\nIMPLEMENTATION valija\r\n.\r\n");
}

TEST(Pop3Engine, CapaFollowsTlsAndConfig) {
  auto cfg = tls_required();
  cfg.expire = ExpirePolicy{};
  cfg.login_delay = 900;
  cfg.implementation = "";
  Harness h(cfg);
  const std::string before =
      "+OK Capability list follows\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\nUTF8\r\n"
      "STLS\r\nEXPIRE NEVER\r\nLOGIN-DELAY 900\r\n.\r\n";
  EXPECT_EQ(h.send("CAPA\r\n"), before);  // no USER, no SASL: nothing usable in the clear
  h.send("STLS\r\n");
  EXPECT_EQ(h.send("CAPA\r\n"),
            "+OK Capability list follows\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\nUTF8\r\n"
            "USER\r\nSASL SCRAM-SHA-256 SCRAM-SHA-1 PLAIN LOGIN\r\nEXPIRE NEVER\r\nLOGIN-DELAY 900\r\n.\r\n");
  h.login();
  EXPECT_EQ(h.send("CAPA\r\n"),
            "+OK Capability list follows\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\nUTF8\r\n"
            "EXPIRE NEVER\r\nLOGIN-DELAY 900\r\n.\r\n");
  auto days = Harness::make_config();
  days.expire = ExpirePolicy{false, 30};
  Harness d(days);
  EXPECT_NE(d.send("CAPA\r\n").find("\r\nEXPIRE 30\r\n"), std::string::npos);
}

// --- AUTH (RFC 5034) ---

TEST(Pop3Engine, AuthListsMechanisms) {
  Harness h;
  EXPECT_EQ(h.send("AUTH\r\n"), "+OK\r\nSCRAM-SHA-256\r\nSCRAM-SHA-1\r\nPLAIN\r\nLOGIN\r\n.\r\n");
}

TEST(Pop3Engine, AuthPlainInitialResponse) {
  Harness h;
  // base64("\0alice\0secret")
  EXPECT_EQ(h.send("AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n"), "+OK Maildrop has 3 messages (" + total() + " octets)\r\n");
  ASSERT_EQ(h.logins.size(), 1u);
  EXPECT_EQ(h.logins[0].user, "alice");
  EXPECT_EQ(h.logins[0].method, "PLAIN");
}

TEST(Pop3Engine, AuthPlainChallengeThenResponse) {
  Harness h;
  EXPECT_EQ(h.send("auth plain\r\n"), "+ \r\n");  // empty challenge: "+" SP CRLF
  EXPECT_GT(h.engine().line_limit(), kCommandLineLimit);
  EXPECT_EQ(h.send("AGFsaWNlAHNlY3JldA==\r\n"), "+OK Maildrop has 3 messages (" + total() + " octets)\r\n");
  EXPECT_EQ(h.engine().line_limit(), kCommandLineLimit);
}

TEST(Pop3Engine, AuthPipelinedResponse) {
  Harness h;
  EXPECT_EQ(h.send("AUTH PLAIN\r\nAGFsaWNlAHNlY3JldA==\r\nSTAT\r\n"),
            "+ \r\n+OK Maildrop has 3 messages (" + total() + " octets)\r\n+OK 3 " + total() + "\r\n");
}

TEST(Pop3Engine, AuthLogin) {
  Harness h;
  EXPECT_EQ(h.send("AUTH LOGIN\r\n"), "+ VXNlcm5hbWU6\r\n");  // "Username:"
  EXPECT_EQ(h.send("YWxpY2U=\r\n"), "+ UGFzc3dvcmQ6\r\n");    // "alice" / "Password:"
  EXPECT_EQ(h.send("c2VjcmV0\r\n"), "+OK Maildrop has 3 messages (" + total() + " octets)\r\n");
  EXPECT_EQ(h.logins.at(0).method, "LOGIN");
}

TEST(Pop3Engine, AuthLoginWithInitialResponse) {
  Harness h;
  EXPECT_EQ(h.send("AUTH LOGIN YWxpY2U=\r\n"), "+ UGFzc3dvcmQ6\r\n");
  EXPECT_EQ(h.send("d3Jvbmc=\r\n"), "-ERR [AUTH] Authentication failed\r\n");
  EXPECT_EQ(h.engine().login_failures(), 1u);
}

TEST(Pop3Engine, AuthCancelAndMalformed) {
  Harness h;
  EXPECT_EQ(h.send("AUTH PLAIN\r\n*\r\n"), "+ \r\n-ERR Authentication cancelled\r\n");
  EXPECT_EQ(h.send("AUTH PLAIN\r\nnot base64!!\r\n"), "+ \r\n-ERR Authentication failed: invalid base64 character\r\n");
  EXPECT_EQ(h.send("AUTH PLAIN =\r\n"), "-ERR Authentication failed: PLAIN response without NUL separators\r\n");
  EXPECT_EQ(h.send("AUTH PLAIN *\r\n"), "-ERR Authentication failed: base64 length is not a multiple of 4\r\n");
  EXPECT_EQ(h.send("AUTH CRAM-MD5\r\n"), "-ERR Unsupported authentication mechanism\r\n");
  EXPECT_EQ(h.send("AUTH PL@IN\r\n"), "-ERR Invalid mechanism name (Syntax: AUTH [mechanism [initial-response]])\r\n");
  EXPECT_TRUE(h.logins.empty());
  // Still in AUTHORIZATION and usable.
  EXPECT_EQ(h.login(), logged_in());
}

TEST(Pop3Engine, AuthAuthzid) {
  Harness h;
  // base64("bob\0alice\0secret"): acting as someone else is refused.
  EXPECT_EQ(h.send("AUTH PLAIN Ym9iAGFsaWNlAHNlY3JldA==\r\n"), "-ERR [AUTH] Authorization identity not permitted\r\n");
  EXPECT_EQ(h.engine().login_failures(), 1u);
  EXPECT_TRUE(h.logins.empty());
  // base64("alice\0alice\0secret"): the same identity is fine.
  EXPECT_EQ(h.send("AUTH PLAIN YWxpY2UAYWxpY2UAc2VjcmV0\r\n"), "+OK Maildrop has 3 messages (" + total() + " octets)\r\n");
}

TEST(Pop3Engine, AuthResponseTooLong) {
  auto cfg = Harness::make_config();
  cfg.limits.sasl.max_response = 30;
  cfg.limits.command_line = 40;
  Harness h(cfg);
  EXPECT_EQ(h.send("AUTH LOGIN\r\n"), "+ VXNlcm5hbWU6\r\n");
  EXPECT_EQ(h.engine().line_limit(), 42u);  // 40 base64 octets + CRLF
  // A line past the reader's cap: the connection reports it, the exchange ends.
  EXPECT_EQ(h.send(auth::base64_encode(std::string(31, 'u')) + "\r\n"), "-ERR Authentication response too long\r\n");
  EXPECT_EQ(h.engine().line_limit(), 40u);
  // A reader that lets a longer line through: the SASL bound still holds.
  EXPECT_EQ(h.send("AUTH LOGIN\r\n"), "+ VXNlcm5hbWU6\r\n");
  EXPECT_EQ(h.engine().on_line(auth::base64_encode(std::string(31, 'u'))).out,
            "-ERR Authentication failed: response too long\r\n");
  EXPECT_EQ(h.login(), logged_in());
}

// --- APOP ---

TEST(Pop3Engine, ApopWhenConfigured) {
  auto cfg = Harness::make_config();
  cfg.apop = true;
  cfg.cleartext_auth = false;  // APOP sends a digest, not the password
  Harness h(cfg);
  EXPECT_EQ(h.send("APOP alice C4C9334BAC560ECC979E58001B3E22FB\r\n"),
            "+OK Maildrop has 3 messages (" + total() + " octets)\r\n");
  ASSERT_EQ(h.apops.size(), 1u);
  EXPECT_EQ(h.apops[0].user, "alice");
  EXPECT_EQ(h.apops[0].digest, "c4c9334bac560ecc979e58001b3e22fb");
  EXPECT_EQ(h.apops[0].timestamp, "<1896.697170952@pop.example.org>");
}

TEST(Pop3Engine, ApopRefusedDigest) {
  auto cfg = Harness::make_config();
  cfg.apop = true;
  Harness h(cfg);
  EXPECT_EQ(h.send("APOP alice 00000000000000000000000000000000\r\n"), "-ERR [AUTH] Authentication failed\r\n");
}

TEST(Pop3Engine, ApopOffByDefaultOrWithBadToken) {
  Harness h;
  EXPECT_EQ(h.send("APOP alice c4c9334bac560ecc979e58001b3e22fb\r\n"), "-ERR APOP not available\r\n");
  auto cfg = Harness::make_config();
  cfg.apop = true;
  Harness b(cfg, "bad token");
  EXPECT_EQ(b.greeting, "+OK pop.example.org POP3 server ready\r\n");
  EXPECT_EQ(b.send("APOP alice c4c9334bac560ecc979e58001b3e22fb\r\n"), "-ERR APOP not available\r\n");
  EXPECT_TRUE(b.apops.empty());
}

// --- TRANSACTION ---

TEST(Pop3Engine, StatListUidl) {
  Harness h;
  h.login();
  EXPECT_EQ(h.send("STAT\r\n"), "+OK 3 " + total() + "\r\n");
  EXPECT_EQ(h.send("LIST\r\n"), "+OK 3 messages (" + total() + " octets)\r\n1 " + sz(0) + "\r\n2 " + sz(1) + "\r\n3 " +
                                    sz(2) + "\r\n.\r\n");
  EXPECT_EQ(h.send("LIST 2\r\n"), "+OK 2 " + sz(1) + "\r\n");
  EXPECT_EQ(h.send("UIDL\r\n"), "+OK Unique-ID listing follows\r\n1 uid.1\r\n2 uid.2\r\n3 uid.3\r\n.\r\n");
  EXPECT_EQ(h.send("UIDL 3\r\n"), "+OK 3 uid.3\r\n");
  EXPECT_EQ(h.send("LIST 4\r\n"), "-ERR No such message\r\n");
  EXPECT_EQ(h.send("UIDL 4\r\n"), "-ERR No such message\r\n");
  EXPECT_EQ(h.send("LIST 0\r\n"), "-ERR Invalid message number\r\n");
  EXPECT_EQ(h.send("NOOP\r\n"), "+OK\r\n");
}

TEST(Pop3Engine, RetrStuffsAndTerminates) {
  Harness h;
  h.login();
  EXPECT_EQ(h.send("RETR 1\r\n"), "+OK " + sz(0) + " octets\r\nSubject: one\r\n\r\nHello\r\n.\r\n");
  EXPECT_EQ(h.send("RETR 2\r\n"),
            "+OK " + sz(1) + " octets\r\nSubject: two\r\n\r\n..dot line\r\nline 2\r\n..\r\nend\r\n.\r\n");
  ASSERT_EQ(h.sends.size(), 2u);
  EXPECT_EQ(h.sends[1].index, 1u);
  EXPECT_FALSE(h.sends[1].top_lines);
  EXPECT_EQ(h.engine().retrieved(), 2u);
  EXPECT_EQ(h.engine().retrieved_octets(), kMessages[0].size() + kMessages[1].size());
  EXPECT_EQ(h.send("RETR 9\r\n"), "-ERR No such message\r\n");
}

TEST(Pop3Engine, Top) {
  Harness h;
  h.login();
  EXPECT_EQ(h.send("TOP 3 0\r\n"), "+OK Top of message follows\r\nSubject: three\r\nX: y\r\n\r\n.\r\n");
  EXPECT_EQ(h.send("TOP 3 2\r\n"), "+OK Top of message follows\r\nSubject: three\r\nX: y\r\n\r\nbody1\r\nbody2\r\n.\r\n");
  // More lines than the body has: the whole message (SECURITY-CASES "TOP n with huge n").
  EXPECT_EQ(h.send("TOP 2 2147483647\r\n"),
            "+OK Top of message follows\r\nSubject: two\r\n\r\n..dot line\r\nline 2\r\n..\r\nend\r\n.\r\n");
  EXPECT_EQ(h.sends.back().top_lines, 2147483647u);
  EXPECT_EQ(h.send("TOP 2 2147483648\r\n"), "-ERR Invalid line count\r\n");
  EXPECT_EQ(h.send("TOP 4 1\r\n"), "-ERR No such message\r\n");
  EXPECT_EQ(h.send("TOP 1\r\n"), "-ERR Syntax: TOP msg lines\r\n");
  EXPECT_EQ(h.engine().retrieved(), 0u);  // TOP is not a retrieval
}

TEST(Pop3Engine, UnreadableMessageIsAnErrorNotTheEnd) {
  Harness h;
  h.login();
  h.unreadable.insert(1);
  EXPECT_EQ(h.send("RETR 2\r\n"), "-ERR [SYS/TEMP] Message 2 cannot be read now, try again later\r\n");
  EXPECT_EQ(h.send("TOP 2 0\r\n"), "-ERR [SYS/TEMP] Message 2 cannot be read now, try again later\r\n");
  EXPECT_EQ(h.send("RETR 1\r\n").substr(0, 4), "+OK ");
  EXPECT_EQ(h.engine().errors(), 0u);
}

TEST(Pop3Engine, DeleteMarksAndRset) {
  Harness h;
  h.login();
  EXPECT_EQ(h.send("DELE 2\r\n"), "+OK Message 2 deleted\r\n");
  std::string after = std::to_string(kMessages[0].size() + kMessages[2].size());
  EXPECT_EQ(h.send("STAT\r\n"), "+OK 2 " + after + "\r\n");
  EXPECT_EQ(h.send("LIST\r\n"), "+OK 2 messages (" + after + " octets)\r\n1 " + sz(0) + "\r\n3 " + sz(2) + "\r\n.\r\n");
  EXPECT_EQ(h.send("UIDL\r\n"), "+OK Unique-ID listing follows\r\n1 uid.1\r\n3 uid.3\r\n.\r\n");
  for (std::string cmd : {"DELE 2", "RETR 2", "TOP 2 1", "LIST 2", "UIDL 2"})
    EXPECT_EQ(h.send(cmd + "\r\n"), "-ERR Message 2 already deleted\r\n") << cmd;
  EXPECT_EQ(h.send("RSET\r\n"), "+OK Maildrop has 3 messages (" + total() + " octets)\r\n");
  EXPECT_EQ(h.send("STAT\r\n"), "+OK 3 " + total() + "\r\n");
  EXPECT_EQ(h.send("RETR 2\r\n").substr(0, 4), "+OK ");
}

TEST(Pop3Engine, QuitCommitsDeletions) {
  Harness h;
  h.login();
  h.send("DELE 1\r\nDELE 3\r\n");
  EXPECT_EQ(h.send("QUIT\r\n"), "+OK pop.example.org POP3 server signing off (2 messages deleted, 1 left)\r\n");
  ASSERT_EQ(h.commits.size(), 1u);
  EXPECT_EQ(h.commits[0], (std::vector<std::size_t>{0, 2}));
  EXPECT_EQ(h.engine().expunged(), 2u);
  EXPECT_TRUE(h.closed());
}

TEST(Pop3Engine, QuitWithoutDeletionsNeedsNoCommit) {
  Harness h;
  h.login();
  h.send("DELE 1\r\nRSET\r\n");
  EXPECT_EQ(h.send("QUIT\r\n"), "+OK pop.example.org POP3 server signing off (3 messages left)\r\n");
  EXPECT_TRUE(h.commits.empty());
  EXPECT_TRUE(h.closed());
}

TEST(Pop3Engine, CommitFailure) {
  Harness h;
  h.login();
  h.commit_ok = false;
  h.send("DELE 1\r\n");
  EXPECT_EQ(h.send("QUIT\r\n"), "-ERR [SYS/TEMP] Some deleted messages not removed, try again later\r\n");
  EXPECT_EQ(h.engine().expunged(), 0u);
  EXPECT_TRUE(h.closed());
}

TEST(Pop3Engine, DropOrTimeoutDeletesNothing) {
  Harness h;
  h.login();
  h.send("DELE 1\r\n");
  Step t = h.engine().on_timeout();  // RFC 1939 §3: no response, no UPDATE
  EXPECT_EQ(t.out, "");
  EXPECT_TRUE(std::holds_alternative<next::Close>(t.next));
  EXPECT_TRUE(h.commits.empty());

  Harness s;
  s.login();
  s.send("DELE 1\r\n");
  Step d = s.engine().on_shutdown();
  EXPECT_EQ(d.out, "-ERR [SYS/TEMP] Server shutting down, nothing deleted\r\n");
  EXPECT_TRUE(std::holds_alternative<next::Close>(d.next));
  EXPECT_TRUE(std::holds_alternative<next::Close>(s.engine().on_line("QUIT").next));
  EXPECT_TRUE(s.commits.empty());
}

TEST(Pop3Engine, QuitBeforeLogin) {
  Harness h;
  EXPECT_EQ(h.send("QUIT\r\n"), "+OK pop.example.org POP3 server signing off\r\n");
  EXPECT_TRUE(h.closed());
}

TEST(Pop3Engine, EmptyMaildrop) {
  Harness h;
  h.messages.clear();
  EXPECT_EQ(h.login(), "+OK Send PASS\r\n+OK Maildrop has 0 messages (0 octets)\r\n");
  EXPECT_EQ(h.send("STAT\r\n"), "+OK 0 0\r\n");
  EXPECT_EQ(h.send("LIST\r\n"), "+OK 0 messages (0 octets)\r\n.\r\n");
  EXPECT_EQ(h.send("UIDL\r\n"), "+OK Unique-ID listing follows\r\n.\r\n");
  EXPECT_EQ(h.send("RETR 1\r\n"), "-ERR No such message\r\n");
  EXPECT_EQ(h.send("QUIT\r\n"), "+OK pop.example.org POP3 server signing off (0 messages left)\r\n");
}

TEST(Pop3Engine, LargeMaildropShowsTheNewest) {
  auto cfg = Harness::make_config();
  cfg.limits.messages = 2;
  Harness h(cfg);
  EXPECT_EQ(h.login(), "+OK Send PASS\r\n+OK Maildrop has 2 messages (" +
                           std::to_string(kMessages[1].size() + kMessages[2].size()) + " octets)\r\n");
  EXPECT_EQ(h.send("UIDL\r\n"), "+OK Unique-ID listing follows\r\n1 uid.2\r\n2 uid.3\r\n.\r\n");
  h.send("RETR 1\r\n");
  EXPECT_EQ(h.sends.back().index, 1u);  // the caller's index, not the message number
  h.send("DELE 2\r\nQUIT\r\n");
  EXPECT_EQ(h.commits.at(0), (std::vector<std::size_t>{2}));
}

TEST(Pop3Engine, Utf8InBothStates) {
  Harness h;
  EXPECT_EQ(h.send("UTF8\r\n"), "+OK UTF8 enabled\r\n");
  EXPECT_TRUE(h.engine().utf8());
  h.passwords["j\xc3\xb6rg"] = "p\xc3\xa4ss";
  EXPECT_EQ(h.login("j\xc3\xb6rg", "p\xc3\xa4ss"), logged_in());
  EXPECT_EQ(h.send("utf8\r\n"), "+OK UTF8 enabled\r\n");
}

// --- Every command in every state ---

TEST(Pop3Engine, EveryCommandInAuthorization) {
  const std::pair<std::string, std::string> kTable[] = {
      {"STAT", "-ERR Not logged in\r\n"},         {"LIST", "-ERR Not logged in\r\n"},
      {"LIST 1", "-ERR Not logged in\r\n"},       {"RETR 1", "-ERR Not logged in\r\n"},
      {"DELE 1", "-ERR Not logged in\r\n"},       {"NOOP", "-ERR Not logged in\r\n"},
      {"RSET", "-ERR Not logged in\r\n"},         {"TOP 1 1", "-ERR Not logged in\r\n"},
      {"UIDL", "-ERR Not logged in\r\n"},         {"UIDL 1", "-ERR Not logged in\r\n"},
      {"STLS", "-ERR STLS not available\r\n"},    {"UTF8", "+OK UTF8 enabled\r\n"},
      {"USER x", "+OK Send PASS\r\n"},            {"PASS x", "-ERR No user name given, send USER first\r\n"},
      {"APOP x 0123456789abcdef0123456789abcdef", "-ERR APOP not available\r\n"},
      {"AUTH", "+OK\r\nSCRAM-SHA-256\r\nSCRAM-SHA-1\r\nPLAIN\r\nLOGIN\r\n.\r\n"}, {"XTND", "-ERR Unknown command\r\n"},
  };
  for (const auto& [cmd, reply] : kTable) {
    Harness h;
    EXPECT_EQ(h.send(cmd + "\r\n"), reply) << cmd;
    EXPECT_FALSE(h.closed()) << cmd;
  }
}

TEST(Pop3Engine, EveryCommandInTransaction) {
  const std::pair<std::string, std::string> kTable[] = {
      {"USER x", "-ERR Already logged in\r\n"},
      {"PASS x", "-ERR Already logged in\r\n"},
      {"APOP x 0123456789abcdef0123456789abcdef", "-ERR Already logged in\r\n"},
      {"AUTH", "-ERR Already logged in\r\n"},
      {"AUTH PLAIN AGFsaWNlAHNlY3JldA==", "-ERR Already logged in\r\n"},
      {"STLS", "-ERR Already logged in\r\n"},
      {"UTF8", "+OK UTF8 enabled\r\n"},
      {"NOOP", "+OK\r\n"},
      {"RSET", "+OK Maildrop has 3 messages (" + total() + " octets)\r\n"},
      {"DELE 1", "+OK Message 1 deleted\r\n"},
      {"XTND", "-ERR Unknown command\r\n"},
      {"STAT x", "-ERR No arguments allowed (Syntax: STAT)\r\n"},
  };
  for (const auto& [cmd, reply] : kTable) {
    Harness h;
    h.login();
    EXPECT_EQ(h.send(cmd + "\r\n"), reply) << cmd;
    EXPECT_FALSE(h.closed()) << cmd;
  }
}

// --- Errors and limits ---

TEST(Pop3Engine, UnknownCommandsThenTooManyErrors) {
  Harness h;  // limits.errors = 8
  for (int i = 0; i < 7; ++i) EXPECT_EQ(h.send("XYZZY\r\n"), "-ERR Unknown command\r\n");
  EXPECT_EQ(h.engine().errors(), 7u);
  EXPECT_FALSE(h.closed());
  EXPECT_EQ(h.send("XYZZY\r\n"), "-ERR Unknown command (too many errors, closing connection)\r\n");
  EXPECT_TRUE(h.closed());
}

TEST(Pop3Engine, ErrorsOfEveryKindCount) {
  Harness h;
  h.login();
  h.send("LIST 99\r\nRETR x\r\nDELE 0\r\nUSER a\r\nFOO\r\n\r\n");
  EXPECT_EQ(h.engine().errors(), 6u);
  EXPECT_EQ(h.send("STAT\r\n"), "+OK 3 " + total() + "\r\n");  // and the session is still usable
}

TEST(Pop3Engine, LongLines) {
  Harness h;
  // Past the parser's 512 (the harness reader allows SASL-length lines).
  EXPECT_EQ(h.send("USER " + std::string(600, 'a') + "\r\n"), "-ERR Line too long (limit 512 octets)\r\n");
  EXPECT_EQ(h.engine().on_line_too_long().out, "-ERR Line too long (limit 512 octets)\r\n");
  EXPECT_EQ(h.engine().errors(), 2u);
  EXPECT_EQ(h.login(), logged_in());
}

TEST(Pop3Engine, BadBytes) {
  Harness h;
  EXPECT_EQ(h.send("STAT\0\r\n"s), "-ERR Invalid character in command\r\n");
  EXPECT_EQ(h.send("\xff\xfe\r\n"), "-ERR Unknown command\r\n");
  EXPECT_EQ(h.send("USER \xc3\r\n"), "-ERR Invalid user name (Syntax: USER name)\r\n");
}

TEST(Pop3Engine, PipelinedTransaction) {
  Harness h;
  EXPECT_EQ(h.send("USER alice\r\nPASS secret\r\nSTAT\r\nDELE 1\r\nUIDL 1\r\nNOOP\r\nQUIT\r\n"),
            logged_in() + "+OK 3 " + total() + "\r\n+OK Message 1 deleted\r\n-ERR Message 1 already deleted\r\n+OK\r\n" +
                "+OK pop.example.org POP3 server signing off (1 messages deleted, 2 left)\r\n");
  EXPECT_EQ(h.commits.at(0), (std::vector<std::size_t>{0}));
}

TEST(Pop3Engine, CallbacksOutOfTurnClose) {
  // A connection bug must end the session, not corrupt it.
  Harness a;
  EXPECT_TRUE(std::holds_alternative<next::Close>(a.engine().on_login(LoginResult::Ok).next));
  Harness b;
  b.login();
  EXPECT_TRUE(std::holds_alternative<next::Close>(b.engine().on_sent().next));
  Harness c;
  EXPECT_TRUE(std::holds_alternative<next::Close>(c.engine().on_commit(true).next));
  Harness d;
  EXPECT_TRUE(std::holds_alternative<next::Close>(d.engine().on_send_failed().next));
  Harness e;
  EXPECT_TRUE(std::holds_alternative<next::Close>(e.engine().on_tls(true).next));
  // A line while a login check is due.
  Harness f;
  f.engine().on_line("USER alice");
  EXPECT_TRUE(std::holds_alternative<next::CheckLogin>(f.engine().on_line("PASS secret").next));
  EXPECT_TRUE(std::holds_alternative<next::Close>(f.engine().on_line("STAT").next));
}

}  // namespace
}  // namespace valija::pop3::proto
