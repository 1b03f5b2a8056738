// The IMAP session over a real SQLite store, without sockets: commands in, responses
// out, as transcripts (STYLE.md "Tests"). Covers the command handlers, the search
// evaluator and FETCH rendering; the connection's own exchanges (LOGIN, IDLE, literals)
// are tested end to end (tests/e2e/test_imap_*.py).
#include "imap/server/session.hpp"

#include <gtest/gtest.h>

#include "base/testing/temp_dir.hpp"
#include "imap/proto/command.hpp"
#include "mail/mime.hpp"
#include "mail/mime_cache.hpp"

namespace valija::imap::server {
namespace {

class SessionTest : public testing::Test {
 protected:
  void SetUp() override {
    auto s = store::open_sqlite({dir_.path() + "/data", true});
    ASSERT_TRUE(s) << s.error().message();
    store_ = std::move(*s);
    ASSERT_TRUE(store_->add_domain("example.org"));
    auto a = store_->add_account("ana", "example.org", "hash", 0);
    ASSERT_TRUE(a);
    account_ = *a;
    session_ = make_session();
  }

  std::unique_ptr<Session> make_session() {
    SessionConfig c;
    c.tls = true;
    auto s = std::make_unique<Session>(c, *store_, [this](store::Delivery d) -> store::CopyResult {
      auto r = store_->deliver(std::span<const store::Delivery>(&d, 1));
      if (!r) return tl::unexpected(r.error());
      return (*r)[0][0];
    }, [this](const std::function<void()>& w) { return store_->batch(w); });  // as the server's writer does
    s->logged_in(account_);
    return s;
  }

  // Delivers a message as SMTP would (with its structure cached); returns its UID.
  std::uint32_t deliver(std::string_view body, std::string mailbox = "INBOX", std::string flags = "",
                        std::int64_t date = 1700000000) {
    store::Delivery d;
    d.body = body;
    d.internal_date = date;
    d.trace_id = "T";
    d.meta = mail::mime::encode(mail::mime::parse(body));
    store::Copy c;
    c.account = account_.id;
    c.mailbox = std::move(mailbox);
    c.prefix = "Delivered-To: ana@example.org\r\n";
    c.flags = std::move(flags);
    d.copies.push_back(c);
    auto r = store_->deliver(std::span<const store::Delivery>(&d, 1));
    EXPECT_TRUE(r && (*r)[0][0]);
    return r && (*r)[0][0] ? (*r)[0][0]->uid : 0;
  }

  // Runs one command line ("a FETCH 1 FLAGS") and returns every response line.
  std::string run(std::string_view line, Session* s = nullptr) {
    auto cmd = proto::parse_command(line);
    EXPECT_TRUE(cmd) << line << ": " << (cmd ? "" : cmd.error().text);
    if (!cmd) return "";
    Output out;
    (s ? s : session_.get())->execute(*cmd, out);
    for (auto& slice : out.slices) {  // the connection would stream these
      std::string data(slice.length, '\0');
      auto n = slice.reader->read_at(slice.offset, data.data(), data.size());
      EXPECT_TRUE(n && *n == slice.length);
      out.text.insert(slice.at, data);
    }
    return out.text;
  }

  test::TempDir dir_{"valija-imap-session"};
  std::unique_ptr<store::Store> store_;
  store::Account account_;
  std::unique_ptr<Session> session_;
};

constexpr std::string_view kPlain =
    "From: =?ISO-8859-1?Q?Jos=E9?= <jose@example.net>\r\nTo: ana@example.org\r\n"
    "Subject: =?UTF-8?B?QcOxbyBudWV2bw==?=\r\nDate: Tue, 1 Jul 2003 10:52:37 +0200\r\n"
    "X-Custom: Blue Whale\r\nMessage-ID: <m1@example.net>\r\n\r\nHello there\r\n";

// "año" in ISO-8859-1, base64: "Feliz año nuevo\r\n".
constexpr std::string_view kLatin1 =
    "From: bob@example.net\r\nTo: ana@example.org\r\nSubject: greetings\r\n"
    "Date: Wed, 2 Jul 2003 08:00:00 +0000\r\nMIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=ISO-8859-1\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    "RmVsaXogYfFvIG51ZXZvDQo=\r\n";

constexpr std::string_view kMultipart =
    "From: carol@example.net\r\nTo: ana@example.org\r\nSubject: report\r\n"
    "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
    "preamble\r\n--b1\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nSee attached.\r\n"
    "--b1\r\nContent-Type: application/octet-stream; name=\"a.bin\"\r\nContent-Transfer-Encoding: base64\r\n"
    "Content-Disposition: attachment; filename=\"a.bin\"\r\n\r\nAAECAw==\r\n--b1--\r\n";

TEST_F(SessionTest, SelectReportsTheMailbox) {
  deliver(kPlain);
  deliver(kLatin1, "INBOX", "\\Seen $Work");
  auto out = run("a SELECT INBOX");
  EXPECT_NE(out.find("* 2 EXISTS\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("* 2 RECENT\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("* OK [UNSEEN 1]"), std::string::npos) << out;
  EXPECT_NE(out.find("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work)\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("* OK [UIDNEXT 3]"), std::string::npos) << out;
  EXPECT_NE(out.find("a OK [READ-WRITE] SELECT completed\r\n"), std::string::npos) << out;
  // \Recent went to this session only.
  auto other = make_session();
  auto out2 = run("b EXAMINE INBOX", other.get());
  EXPECT_NE(out2.find("* 0 RECENT\r\n"), std::string::npos) << out2;
  EXPECT_NE(out2.find("b OK [READ-ONLY] EXAMINE completed\r\n"), std::string::npos) << out2;
}

TEST_F(SessionTest, FetchEnvelopeStructureAndSections) {
  deliver(kMultipart);
  run("a SELECT INBOX");
  auto out = run("a FETCH 1 (UID RFC822.SIZE BODYSTRUCTURE)");
  EXPECT_NE(out.find("* 1 FETCH (UID 1 RFC822.SIZE " + std::to_string(kMultipart.size() + 31) + " BODYSTRUCTURE ((\"text\""),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("\"mixed\" (\"boundary\" \"b1\")"), std::string::npos) << out;
  out = run("a FETCH 1 (BODY.PEEK[1] BODY.PEEK[2.MIME] BINARY.PEEK[2] BINARY.SIZE[2])");
  EXPECT_NE(out.find("BODY[1] {13}\r\nSee attached. "), std::string::npos) << out;  // the CRLF before a delimiter is the delimiter's
  EXPECT_NE(out.find("BODY[2.MIME] {"), std::string::npos) << out;
  EXPECT_NE(out.find(std::string("BINARY[2] ~{4}\r\n") + std::string("\0\1\2\3", 4)), std::string::npos) << out;
  EXPECT_NE(out.find("BINARY.SIZE[2] 4"), std::string::npos) << out;
  EXPECT_EQ(out.find("\\Seen"), std::string::npos) << out;  // PEEK
  out = run("a FETCH 1 (BODY[HEADER.FIELDS (Subject)] BODY[]<0.13> BODY[9])");
  EXPECT_NE(out.find("BODY[HEADER.FIELDS (Subject)] {19}\r\nSubject: report\r\n\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("BODY[]<0> {13}\r\nDelivered-To:"), std::string::npos) << out;
  EXPECT_NE(out.find("BODY[9] NIL"), std::string::npos) << out;
  EXPECT_NE(out.find("FLAGS (\\Seen \\Recent)"), std::string::npos) << out;  // BODY[] set \Seen
}

TEST_F(SessionTest, FetchEnvelopeComesFromTheCache) {
  deliver(kPlain);
  run("a SELECT INBOX");
  auto out = run("a FETCH 1 ENVELOPE");
  EXPECT_NE(out.find("ENVELOPE (\"Tue, 1 Jul 2003 10:52:37 +0200\" \"=?UTF-8?B?QcOxbyBudWV2bw==?=\" "
                     "((\"=?ISO-8859-1?Q?Jos=E9?=\" NIL \"jose\" \"example.net\"))"),
            std::string::npos)
      << out;
}

TEST_F(SessionTest, SearchDecodesHeadersBodiesAndCharsets) {
  deliver(kPlain);
  deliver(kLatin1, "INBOX", "\\Seen");
  deliver(kMultipart, "INBOX", "\\Flagged", 1800000000);
  run("a SELECT INBOX");
  EXPECT_EQ(run("a SEARCH CHARSET UTF-8 BODY \"A\xC3\x91O\""), "* SEARCH 2\r\na OK SEARCH completed\r\n");
  EXPECT_EQ(run("a SEARCH SUBJECT \"nuevo\""), "* SEARCH 1\r\na OK SEARCH completed\r\n");
  EXPECT_EQ(run("a SEARCH FROM \"jos\xC3\xA9\""), "* SEARCH 1\r\na OK SEARCH completed\r\n");
  EXPECT_EQ(run("a SEARCH HEADER X-Custom whale"), "* SEARCH 1\r\na OK SEARCH completed\r\n");
  EXPECT_EQ(run("a SEARCH UNSEEN"), "* SEARCH 1 3\r\na OK SEARCH completed\r\n");
  EXPECT_EQ(run("a SEARCH OR FLAGGED SEEN"), "* SEARCH 2 3\r\na OK SEARCH completed\r\n");
  EXPECT_EQ(run("a SEARCH NOT (FLAGGED SEEN)"), "* SEARCH 1 2 3\r\na OK SEARCH completed\r\n");
  EXPECT_EQ(run("a SEARCH SINCE 1-Jan-2027"), "* SEARCH 3\r\na OK SEARCH completed\r\n");
  EXPECT_EQ(run("a SEARCH SENTON 2-Jul-2003"), "* SEARCH 2\r\na OK SEARCH completed\r\n");
  EXPECT_EQ(run("a SEARCH TEXT attached"), "* SEARCH 3\r\na OK SEARCH completed\r\n");
  EXPECT_EQ(run("a UID SEARCH 2:*"), "* SEARCH 2 3\r\na OK SEARCH completed\r\n");
  EXPECT_EQ(run("a SEARCH RETURN (MIN MAX COUNT) UNSEEN"),
            "* ESEARCH (TAG \"a\") MIN 1 MAX 3 COUNT 2\r\na OK SEARCH completed\r\n");
  EXPECT_EQ(run("a SEARCH RETURN (SAVE) FLAGGED"), "a OK SEARCH completed, result saved\r\n");
  EXPECT_NE(run("a FETCH $ (UID)").find("* 3 FETCH (UID 3)"), std::string::npos);
  EXPECT_EQ(run("a SEARCH CHARSET X-NOPE ALL"), "a NO [BADCHARSET (US-ASCII UTF-8)] Unsupported charset\r\n");
}

TEST_F(SessionTest, StoreCopyMoveAndExpunge) {
  deliver(kPlain);
  deliver(kLatin1);
  run("a SELECT INBOX");
  EXPECT_EQ(run("a STORE 1 +FLAGS (\\Deleted $Done)"), "* 1 FETCH (FLAGS (\\Deleted $Done \\Recent))\r\na OK STORE completed\r\n");
  EXPECT_EQ(run("a STORE 9 +FLAGS (\\Seen)"), "a BAD Message sequence number out of range\r\n");
  auto archive = store_->find_mailbox(account_.id, "Archive");
  auto uv = (*archive)->uidvalidity;
  EXPECT_EQ(run("a COPY 1:2 Archive"), "a OK [COPYUID " + std::to_string(uv) + " 1:2 1:2] COPY completed\r\n");
  EXPECT_EQ(run("a COPY 1 Nowhere"), "a NO [TRYCREATE] No such mailbox\r\n");
  auto moved = run("a UID MOVE 2 Trash");
  EXPECT_NE(moved.find("* 2 EXPUNGE\r\n"), std::string::npos) << moved;
  EXPECT_EQ(run("a EXPUNGE"), "* 1 EXPUNGE\r\na OK EXPUNGE completed\r\n");
  EXPECT_EQ(run("a NOOP"), "a OK NOOP completed\r\n");
}

TEST_F(SessionTest, UidCommandsTakeUids) {
  deliver(kPlain);
  deliver(kLatin1);
  deliver(kMultipart);
  run("a SELECT INBOX");
  run("a STORE 1 +FLAGS (\\Deleted)");
  run("a EXPUNGE");  // now UID 2 is message 1, UID 3 message 2
  EXPECT_EQ(run("a UID STORE 3 +FLAGS (\\Flagged)"),
            "* 2 FETCH (UID 3 FLAGS (\\Flagged \\Recent))\r\na OK STORE completed\r\n");
  EXPECT_EQ(run("a UID STORE 9 +FLAGS (\\Flagged)"), "a OK STORE completed\r\n");  // no such UID: nothing
  auto archive = store_->find_mailbox(account_.id, "Archive");
  EXPECT_EQ(run("a UID COPY 3 Archive"), "a OK [COPYUID " + std::to_string((*archive)->uidvalidity) + " 3 1] COPY completed\r\n");
  auto moved = run("a UID MOVE 2 Trash");
  EXPECT_NE(moved.find("* 1 EXPUNGE\r\n"), std::string::npos) << moved;
  EXPECT_EQ(run("a FETCH 1 (UID)"), "* 1 FETCH (UID 3)\r\na OK FETCH completed\r\n");
}

TEST_F(SessionTest, ChangesFromAnotherSessionArriveWhereAllowed) {
  deliver(kPlain);
  deliver(kLatin1);
  run("a SELECT INBOX");
  auto other = make_session();
  run("b SELECT INBOX", other.get());
  run("b STORE 1 +FLAGS (\\Deleted)", other.get());
  run("b EXPUNGE", other.get());
  deliver(kMultipart);
  session_->change_flag()->store(true);
  // A non-UID FETCH may not carry the EXPUNGE: message 1 keeps its number.
  auto out = run("a FETCH 2 (UID)");
  EXPECT_EQ(out, "* 2 FETCH (UID 2)\r\n* 3 EXISTS\r\n* 3 RECENT\r\na OK FETCH completed\r\n");
  // Copying it would be a partial copy: refused whole (RFC 9051 §6.4.7).
  EXPECT_EQ(run("a COPY 1:2 Archive"), "a NO [EXPUNGEISSUED] Some of the requested messages no longer exist\r\n");
  EXPECT_EQ(run("a NOOP"), "* 1 EXPUNGE\r\na OK NOOP completed\r\n");
  EXPECT_EQ(run("a FETCH 2 (UID)"), "* 2 FETCH (UID 3)\r\na OK FETCH completed\r\n");
}

TEST_F(SessionTest, MailboxCommands) {
  EXPECT_EQ(run("a CREATE Work/2026/"), "a OK CREATE completed\r\n");
  EXPECT_EQ(run("a CREATE work/2026"), "a OK CREATE completed\r\n");  // names are case-sensitive
  EXPECT_EQ(run("a CREATE Work"), "a NO [ALREADYEXISTS] Mailbox already exists\r\n");
  EXPECT_EQ(run("a CREATE \"../x\""), "a NO [CANNOT] " + std::string("") +
                                          run("z CREATE \"../x\"").substr(std::string("z NO [CANNOT] ").size()));
  EXPECT_EQ(run("a CREATE Entw&APw-rfe"), "a OK CREATE completed\r\n");
  EXPECT_NE(run("a LIST \"\" Entw*").find("* LIST (\\HasNoChildren) \"/\" Entw&APw-rfe\r\n"), std::string::npos);
  EXPECT_EQ(run("a DELETE INBOX"), "a NO [CANNOT] INBOX cannot be deleted\r\n");
  EXPECT_EQ(run("a DELETE Work"), "a OK DELETE completed\r\n");
  EXPECT_NE(run("a LIST \"\" Work").find("(\\Noselect \\HasChildren)"), std::string::npos);
  EXPECT_EQ(run("a SELECT Work"), "a NO [NONEXISTENT] No such mailbox\r\n");
  EXPECT_EQ(run("a RENAME Work Job"), "a OK RENAME completed\r\n");
  EXPECT_NE(run("a STATUS Job/2026 (MESSAGES UIDNEXT SIZE)").find("* STATUS Job/2026 (MESSAGES 0 UIDNEXT 1 SIZE 0)"),
            std::string::npos);
  EXPECT_EQ(run("a CREATE Everything (USE (\\All))"), "a OK CREATE completed\r\n");
  EXPECT_NE(run("a LIST (SPECIAL-USE) \"\" *").find("* LIST (\\HasNoChildren \\All) \"/\" Everything"), std::string::npos);
}

TEST_F(SessionTest, QuotaAndAppendLimits) {
  ASSERT_TRUE(store_->set_quota("ana", "example.org", 300, 0));
  deliver(kPlain);
  EXPECT_NE(run("a GETQUOTAROOT INBOX").find("* QUOTA \"\" (STORAGE 1 0)"), std::string::npos);
  run("a SELECT INBOX");
  EXPECT_EQ(run("a COPY 1 Archive"), "a NO [OVERQUOTA] Quota exceeded\r\n");
}

}  // namespace
}  // namespace valija::imap::server
