#include <gtest/gtest.h>

#include "queue/dsn.hpp"
#include "queue/schedule.hpp"
#include "queue/srs.hpp"

namespace valija::queue {
namespace {

using namespace std::chrono_literals;

// ---------------- retry schedule ----------------

TEST(Schedule, BackoffThenHourly) {
  RetryPolicy p;
  EXPECT_EQ(next_attempt(p, 1, 1000), 1000 + 300);
  EXPECT_EQ(next_attempt(p, 2, 1000), 1000 + 600);
  EXPECT_EQ(next_attempt(p, 3, 1000), 1000 + 1200);
  EXPECT_EQ(next_attempt(p, 4, 1000), 1000 + 2400);
  EXPECT_EQ(next_attempt(p, 5, 1000), 1000 + 3600);
  EXPECT_EQ(next_attempt(p, 500, 1000), 1000 + 3600);
}

TEST(Schedule, GiveUpAndWarn) {
  RetryPolicy p;
  std::int64_t created = 1'700'000'000;
  EXPECT_FALSE(expired(p, created, created + 5 * 86400 - 1));
  EXPECT_TRUE(expired(p, created, created + 5 * 86400));
  EXPECT_FALSE(warning_due(p, created, created + 4 * 3600 - 1));
  EXPECT_TRUE(warning_due(p, created, created + 4 * 3600));
  p.warn_after = 0s;
  EXPECT_FALSE(warning_due(p, created, created + 100 * 3600));
  p.delays = {};
  p.then_every = 0s;  // never a busy loop
  EXPECT_EQ(next_attempt(p, 1, 10), 11);
}

// ---------------- SRS ----------------

constexpr std::int64_t kNow = 1'795'000'000;  // 2026-11-18

TEST(Srs, ForwardAndReverse) {
  Srs srs("secret");
  auto fwd = srs.forward("ana", "example.com", "forwarder.example", kNow);
  ASSERT_TRUE(fwd);
  EXPECT_TRUE(fwd->starts_with("SRS0="));
  EXPECT_TRUE(fwd->ends_with("=example.com=ana"));
  EXPECT_EQ(fwd->size(), std::string("SRS0=HHHH=TT=example.com=ana").size());
  EXPECT_TRUE(Srs::is_srs(*fwd));
  auto back = srs.reverse(*fwd, kNow + 86400);
  ASSERT_TRUE(back) << back.error().detail;
  EXPECT_EQ(*back, "ana@example.com");
  // Case folded by some MTA on the way: still verifies.
  std::string lower = *fwd;
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto folded = srs.reverse(lower, kNow);
  ASSERT_TRUE(folded) << folded.error().detail;
  EXPECT_EQ(*folded, "ana@example.com");
}

TEST(Srs, LocalPartWithSeparatorsSurvives) {
  Srs srs("k");
  auto fwd = srs.forward("a=b+c-d", "example.com", "f.example", kNow);
  ASSERT_TRUE(fwd);
  auto back = srs.reverse(*fwd, kNow);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, "a=b+c-d@example.com");
}

TEST(Srs, RefusesForgedExpiredAndMalformed) {
  Srs srs("secret", 21);
  auto fwd = srs.forward("ana", "example.com", "f.example", kNow);
  ASSERT_TRUE(fwd);
  EXPECT_FALSE(Srs("other").reverse(*fwd, kNow));  // another key
  std::string tampered = *fwd;
  tampered.replace(tampered.size() - 3, 3, "bob");
  EXPECT_FALSE(srs.reverse(tampered, kNow));
  EXPECT_TRUE(srs.reverse(*fwd, kNow + 21 * 86400));
  auto old = srs.reverse(*fwd, kNow + 22 * 86400);
  ASSERT_FALSE(old);
  EXPECT_NE(old.error().detail.find("expired"), std::string::npos);
  for (const char* bad : {"SRS0", "SRS0=", "SRS0=abcd", "SRS0=abcd=XX", "SRS0=abcd=XX=example.com", "SRS0=abcd=XX=example.com=",
                          "SRS1=abcd", "SRS1=abcd=first", "SRS1=abcd==x", "ana", "SRS2=abcd=XX=d=l"})
    EXPECT_FALSE(srs.reverse(bad, kNow)) << bad;
}

TEST(Srs, SecondForwarderMakesSrs1AndItReversesToTheFirst) {
  Srs first("one"), second("two");
  auto srs0 = first.forward("ana", "example.com", "first.example", kNow);
  ASSERT_TRUE(srs0);
  auto srs1 = second.forward(*srs0, "first.example", "second.example", kNow);
  ASSERT_TRUE(srs1);
  EXPECT_TRUE(srs1->starts_with("SRS1="));
  EXPECT_NE(srs1->find("=first.example=="), std::string::npos);
  auto back = second.reverse(*srs1, kNow);
  ASSERT_TRUE(back) << back.error().detail;
  EXPECT_EQ(*back, *srs0 + "@first.example");
  // A third forwarder keeps the first one's name.
  Srs third("three");
  auto again = third.forward(*srs1, "second.example", "third.example", kNow);
  ASSERT_TRUE(again);
  auto back3 = third.reverse(*again, kNow);
  ASSERT_TRUE(back3);
  EXPECT_EQ(*back3, *srs0 + "@first.example");
}

// Found by fuzz_srs: a local part shaped like SRS1 but not one is rewritten as any
// other, so the bounce to it reverses to it.
TEST(Srs, MalformedSrs1IsRewrittenLikeAnyAddress) {
  Srs srs("k");
  for (std::string local : {"SRS1=x=a=b", "SRS1=xx", "SRS1=x==", "SRS1=x=first=", "SRS1=LHHHH#=HT=o"}) {
    auto fwd = srs.forward(local, "example.com", "f.example", kNow);
    ASSERT_TRUE(fwd) << local;
    auto back = srs.reverse(*fwd, kNow);
    ASSERT_TRUE(back) << local << " -> " << *fwd;
    EXPECT_EQ(*back, local + "@example.com");
  }
}

TEST(Srs, TooLongForALocalPart) {
  Srs srs("k");
  EXPECT_FALSE(srs.forward(std::string(50, 'a'), "example.com", "f.example", kNow));
}

// ---------------- DSN ----------------

DsnReport sample() {
  DsnReport r;
  r.reporting_mta = "mail.example.org";
  r.postmaster = "MAILER-DAEMON@mail.example.org";
  r.to = "ana@example.org";
  r.envid = "env-42";
  r.queue_id = "Q7";
  r.arrival = 1'795'000'000;
  r.date = 1'795'000'100;
  r.message_id = "dsn.Q7@mail.example.org";
  r.boundary = "b-Q7";
  DsnRecipient x;
  x.final_recipient = "bob@example.net";
  x.original_recipient = "rfc822;bob@example.net";
  x.action = DsnAction::Failed;
  x.status = "5.1.1";
  x.remote_mta = "mx.example.net";
  x.diagnostic = "550 5.1.1 <bob@example.net>: no such\r\nuser";
  x.last_attempt = 1'795'000'050;
  r.recipients.push_back(x);
  r.original = "Received: from a\r\nSubject: hello\r\nFrom: ana@example.org\r\n\r\nthe body\r\n";
  return r;
}

TEST(Dsn, FailureReport) {
  auto m = render_dsn(sample());
  EXPECT_NE(m.find("From: Mail Delivery System <MAILER-DAEMON@mail.example.org>\r\n"), std::string::npos);
  EXPECT_NE(m.find("To: <ana@example.org>\r\n"), std::string::npos);
  EXPECT_NE(m.find("Subject: Undelivered Mail Returned to Sender\r\n"), std::string::npos);
  EXPECT_NE(m.find("Auto-Submitted: auto-replied\r\n"), std::string::npos);
  EXPECT_NE(m.find("Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"b-Q7\""),
            std::string::npos);
  EXPECT_NE(m.find("Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mail.example.org\r\n"
                   "X-Valija-Queue-ID: Q7\r\nOriginal-Envelope-Id: env-42\r\n"
                   "Arrival-Date: Wed, 18 Nov 2026 11:06:40 +0000\r\n\r\n"
                   "Original-Recipient: rfc822;bob@example.net\r\n"
                   "Final-Recipient: rfc822; bob@example.net\r\nAction: failed\r\nStatus: 5.1.1\r\n"
                   "Remote-MTA: dns; mx.example.net\r\n"
                   "Diagnostic-Code: smtp; 550 5.1.1 <bob@example.net>: no such  user\r\n"
                   "Last-Attempt-Date: Wed, 18 Nov 2026 11:07:30 +0000\r\n"),
            std::string::npos)
      << m;
  // Headers only (RET not FULL): the body stays home.
  EXPECT_NE(m.find("Content-Type: text/rfc822-headers\r\n\r\nReceived: from a\r\nSubject: hello\r\n"
                   "From: ana@example.org\r\n\r\n--b-Q7--\r\n"),
            std::string::npos)
      << m;
  EXPECT_EQ(m.find("the body"), std::string::npos);
}

TEST(Dsn, FullMessageDelayAndSuccess) {
  auto r = sample();
  r.return_full = true;
  r.recipients[0].action = DsnAction::Delayed;
  r.recipients[0].status = "4.4.1";
  r.recipients[0].retry_until = 1'795'432'000;
  auto m = render_dsn(r);
  EXPECT_NE(m.find("Subject: Delayed Mail (still being retried)\r\n"), std::string::npos);
  EXPECT_NE(m.find("Action: delayed\r\nStatus: 4.4.1\r\n"), std::string::npos);
  EXPECT_NE(m.find("Will-Retry-Until: "), std::string::npos);
  EXPECT_NE(m.find("Content-Type: message/rfc822\r\n\r\nReceived: from a\r\n"), std::string::npos);
  EXPECT_NE(m.find("the body\r\n\r\n--b-Q7--\r\n"), std::string::npos);

  r.recipients[0].action = DsnAction::Delivered;
  r.recipients[0].status = "2.0.0";
  m = render_dsn(r);
  EXPECT_NE(m.find("Subject: Successful Mail Delivery Report\r\n"), std::string::npos);
  EXPECT_NE(m.find("Content-Description: Delivered Message\r\n"), std::string::npos);
}

TEST(Dsn, StatusFromReply) {
  EXPECT_EQ(status_of(550, "5.7.1"), "5.7.1");
  EXPECT_EQ(status_of(550, ""), "5.0.0");
  EXPECT_EQ(status_of(451, ""), "4.0.0");
  EXPECT_EQ(status_of(250, ""), "2.0.0");
}

}  // namespace
}  // namespace valija::queue
