#include "policy/dmarc.hpp"

#include <gtest/gtest.h>

namespace valija::policy::dmarc {
namespace {

using dns::Answer;
using dns::Outcome;


// Runs a check to its end against a table; unknown names are NXDOMAIN.
struct Zone {
  std::map<std::string, Answer> records;
  std::vector<std::string> asked;
  dmarc::Outcome run(const Input& in) {
    Check c(in);
    dns::Answers answers;
    for (int round = 0; round < 5; ++round) {
      auto r = c.evaluate(answers);
      if (auto* o = std::get_if<dmarc::Outcome>(&r)) return *o;
      for (const auto& q : std::get<std::vector<dns::Query>>(r)) {
        asked.push_back(q.name);
        auto it = records.find(q.name);
        answers.add(q, it != records.end() ? it->second : Answer{Outcome::NxDomain, {}, ""});
      }
    }
    ADD_FAILURE() << "no outcome";
    return {};
  }
  void set(std::string name, std::vector<std::string> txts) {
    records[name] = Answer{Outcome::Answer, std::move(txts), ""};
  }
};

TEST(DmarcRecord, ParsesRfc7489Tags) {
  auto r = parse_record("v=DMARC1; p=quarantine; sp=reject; adkim=s; aspf=r; pct=30; rua=mailto:a@x.example,mailto:b@x.example; fo=1").value();
  EXPECT_EQ(r.p, Policy::Quarantine);
  EXPECT_EQ(r.sp, Policy::Reject);
  EXPECT_EQ(r.adkim, Alignment::Strict);
  EXPECT_EQ(r.aspf, Alignment::Relaxed);
  EXPECT_EQ(r.pct, 30);
  EXPECT_EQ(r.rua.size(), 2u);
  EXPECT_EQ(r.fo, "1");
  EXPECT_EQ(parse_record("v=DMARC1;p=REJECT").value().p, Policy::Reject);  // ABNF literals: any case
}

TEST(DmarcRecord, InvalidOptionalValuesFallBackToDefaults) {
  auto r = parse_record("v=DMARC1; p=reject; pct=500; adkim=x; unknown=1").value();
  EXPECT_EQ(r.pct, 100);
  EXPECT_EQ(r.adkim, Alignment::Relaxed);
}

TEST(DmarcRecord, MissingPolicyIsNoneOnlyWithAReportAddress) {
  EXPECT_EQ(parse_record("v=DMARC1; rua=mailto:d@x.example").value().p, Policy::None);
  EXPECT_FALSE(parse_record("v=DMARC1; pct=10"));
  EXPECT_FALSE(parse_record("v=DMARC1; p=bogus"));
  EXPECT_FALSE(parse_record("v=DMARC1; p=reject; sp=bogus"));
  EXPECT_FALSE(parse_record("p=reject; v=DMARC1"));  // v= must come first
  EXPECT_FALSE(parse_record("v=DMARC10; p=reject"));
  EXPECT_FALSE(parse_record("v=spf1 -all"));
}

TEST(DmarcOrganizationalDomain, UsesThePublicSuffixList) {
  EXPECT_EQ(organizational_domain("mail.example.com"), "example.com");
  EXPECT_EQ(organizational_domain("a.b.example.co.uk"), "example.co.uk");
  EXPECT_EQ(organizational_domain("Example.COM."), "example.com");
  EXPECT_EQ(organizational_domain("co.uk"), "co.uk");
  EXPECT_TRUE(aligned("example.com", "mail.example.com", Alignment::Relaxed));
  EXPECT_FALSE(aligned("example.com", "mail.example.com", Alignment::Strict));
  EXPECT_TRUE(aligned("Example.com", "example.COM.", Alignment::Strict));
  EXPECT_FALSE(aligned("a.co.uk", "b.co.uk", Alignment::Relaxed));  // two registrants
  EXPECT_FALSE(aligned("", "", Alignment::Relaxed));
}

TEST(DmarcCheck, PassesOnAlignedSpfOrDkim) {
  Zone z;
  z.set("_dmarc.example.com", {"v=spf1 -all", "v=DMARC1; p=reject"});
  auto spf = z.run(Input{"example.com", "bounces.example.com", true, {}, 0});
  EXPECT_EQ(spf.status, Status::Pass);
  EXPECT_TRUE(spf.spf_aligned);
  auto dkim = z.run(Input{"example.com", "other.example", true, {"other.example", "news.example.com"}, 0});
  EXPECT_EQ(dkim.status, Status::Pass);
  EXPECT_FALSE(dkim.spf_aligned);
  EXPECT_TRUE(dkim.dkim_aligned);
}

TEST(DmarcCheck, FailsAndAppliesThePolicy) {
  Zone z;
  z.set("_dmarc.example.com", {"v=DMARC1; p=reject; aspf=s"});
  auto o = z.run(Input{"example.com", "bounces.example.com", true, {"attacker.example"}, 0});
  EXPECT_EQ(o.status, Status::Fail);
  EXPECT_EQ(o.requested, Policy::Reject);
  EXPECT_EQ(o.applied, Policy::Reject);
  EXPECT_EQ(o.policy_domain, "example.com");
  // An SPF pass that is not for MAIL FROM's domain does not count.
  EXPECT_EQ(z.run(Input{"example.com", "example.com", false, {}, 0}).status, Status::Fail);
}

TEST(DmarcCheck, PctSamplesAndSoftensTheRest) {
  Zone z;
  z.set("_dmarc.example.com", {"v=DMARC1; p=reject; pct=25"});
  EXPECT_EQ(z.run(Input{"example.com", "", false, {}, 24}).applied, Policy::Reject);
  EXPECT_EQ(z.run(Input{"example.com", "", false, {}, 25}).applied, Policy::Quarantine);
  z.set("_dmarc.example.com", {"v=DMARC1; p=quarantine; pct=0"});
  EXPECT_EQ(z.run(Input{"example.com", "", false, {}, 0}).applied, Policy::None);
}

TEST(DmarcCheck, SubdomainsUseTheOrganizationalRecordAndSp) {
  Zone z;
  z.set("_dmarc.example.com", {"v=DMARC1; p=none; sp=quarantine"});
  auto o = z.run(Input{"news.example.com", "", false, {}, 0});
  EXPECT_EQ(z.asked, (std::vector<std::string>{"_dmarc.news.example.com", "_dmarc.example.com"}));
  EXPECT_EQ(o.policy_domain, "example.com");
  EXPECT_EQ(o.requested, Policy::Quarantine);
  EXPECT_EQ(o.status, Status::Fail);
  // The subdomain's own record wins.
  z.set("_dmarc.news.example.com", {"v=DMARC1; p=reject"});
  EXPECT_EQ(z.run(Input{"news.example.com", "", false, {}, 0}).requested, Policy::Reject);
}

TEST(DmarcCheck, NoRecordSeveralRecordsAndErrors) {
  Zone z;
  EXPECT_EQ(z.run(Input{"example.com", "", false, {}, 0}).status, Status::None);
  EXPECT_EQ(z.run(Input{"", "", false, {}, 0}).status, Status::None);
  z.set("_dmarc.example.com", {"v=DMARC1; p=reject", "v=DMARC1; p=none"});
  EXPECT_EQ(z.run(Input{"example.com", "", false, {}, 0}).status, Status::None);
  z.set("_dmarc.example.com", {"v=DMARC1; p=sometimes"});
  EXPECT_EQ(z.run(Input{"example.com", "", false, {}, 0}).status, Status::PermError);
  z.records["_dmarc.example.com"] = Answer{Outcome::Temporary, {}, "SERVFAIL"};
  auto t = z.run(Input{"example.com", "", false, {}, 0});
  EXPECT_EQ(t.status, Status::TempError);
  EXPECT_EQ(t.applied, Policy::None);
}

}  // namespace
}  // namespace valija::policy::dmarc
