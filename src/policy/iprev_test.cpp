#include "policy/iprev.hpp"

#include <gtest/gtest.h>

namespace valija::policy {
namespace {

using dns::Answer;
using dns::Outcome;

struct Table {
  std::map<dns::Query, Answer> zone;
  int rounds = 0;
  IprevOutcome run(const std::string& ip) {
    IprevCheck c(ip);
    dns::Answers answers;
    for (rounds = 1; rounds < 5; ++rounds) {
      auto r = c.evaluate(answers);
      if (auto* o = std::get_if<IprevOutcome>(&r)) return *o;
      for (const auto& q : std::get<std::vector<dns::Query>>(r)) {
        auto it = zone.find(q);
        answers.add(q, it != zone.end() ? it->second : Answer{Outcome::NxDomain, {}, "nx"});
      }
    }
    ADD_FAILURE();
    return {};
  }
  void set(std::string name, dns::RrType t, std::vector<std::string> v) {
    zone[dns::make_query(name, t)] = Answer{Outcome::Answer, std::move(v), ""};
  }
};

TEST(Iprev, PassesWhenAPtrNamePointsBack) {
  Table t;
  t.set("1.2.0.192.in-addr.arpa", dns::RrType::Ptr, {"wrong.example", "mail.example.org"});
  t.set("wrong.example", dns::RrType::A, {"198.51.100.1"});
  t.set("mail.example.org", dns::RrType::A, {"198.51.100.2", "192.0.2.1"});
  auto o = t.run("192.0.2.1");
  EXPECT_EQ(o.result, IprevResult::Pass);
  EXPECT_EQ(o.name, "mail.example.org");
  EXPECT_EQ(t.rounds, 3);  // PTR, then both names' addresses at once
  EXPECT_EQ(t.run("::ffff:192.0.2.1").result, IprevResult::Pass);
}

TEST(Iprev, Ipv6UsesAaaa) {
  Table t;
  t.set(*dns::ptr_name("2001:db8::25"), dns::RrType::Ptr, {"mx.example.org"});
  t.set("mx.example.org", dns::RrType::Aaaa, {"2001:db8:0:0::25"});
  EXPECT_EQ(t.run("2001:db8::25").result, IprevResult::Pass);
}

TEST(Iprev, FailsWithoutPtrOrMatchAndDefersOnDnsErrors) {
  Table t;
  EXPECT_EQ(t.run("192.0.2.9").result, IprevResult::Fail);
  t.set("9.2.0.192.in-addr.arpa", dns::RrType::Ptr, {"forged.example"});
  t.set("forged.example", dns::RrType::A, {"203.0.113.5"});
  auto o = t.run("192.0.2.9");
  EXPECT_EQ(o.result, IprevResult::Fail);
  EXPECT_EQ(o.name, "forged.example");
  t.zone[dns::make_query("forged.example", dns::RrType::A)] = Answer{Outcome::Temporary, {}, "SERVFAIL"};
  EXPECT_EQ(t.run("192.0.2.9").result, IprevResult::TempError);
  t.zone[dns::make_query("9.2.0.192.in-addr.arpa", dns::RrType::Ptr)] = Answer{Outcome::Temporary, {}, "timeout"};
  EXPECT_EQ(t.run("192.0.2.9").result, IprevResult::TempError);
  EXPECT_EQ(t.run("not-an-ip").result, IprevResult::PermError);
}

TEST(Iprev, FollowsAtMostTenNames) {
  Table t;
  std::vector<std::string> names;
  for (int i = 0; i < 20; ++i) names.push_back("n" + std::to_string(i) + ".example");
  t.set("1.2.0.192.in-addr.arpa", dns::RrType::Ptr, names);
  t.set("n15.example", dns::RrType::A, {"192.0.2.1"});
  EXPECT_EQ(t.run("192.0.2.1").result, IprevResult::Fail);
}

TEST(Blocklist, QueriesTheReversedAddressUnderTheZone) {
  EXPECT_EQ(blocklist_query("192.0.2.99", "bl.example")->name, "99.2.0.192.bl.example");
  EXPECT_EQ(blocklist_query("2001:db8::1", "bl.example")->name,
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.example");
  EXPECT_FALSE(blocklist_query("bogus", "bl.example"));
}

TEST(Blocklist, ListedOnlyFor127Answers) {
  EXPECT_EQ(blocklist_result(Answer{Outcome::NxDomain, {}, ""}).kind, BlocklistResult::Kind::NotListed);
  auto listed = blocklist_result(Answer{Outcome::Answer, {"127.0.0.2", "127.0.0.4"}, ""});
  EXPECT_EQ(listed.kind, BlocklistResult::Kind::Listed);
  EXPECT_EQ(listed.codes.size(), 2u);
  EXPECT_EQ(blocklist_result(Answer{Outcome::Answer, {"127.255.255.254"}, ""}).kind, BlocklistResult::Kind::Error);
  EXPECT_EQ(blocklist_result(Answer{Outcome::Answer, {"198.51.100.1"}, ""}).kind, BlocklistResult::Kind::NotListed);
  EXPECT_EQ(blocklist_result(Answer{Outcome::Temporary, {}, "SERVFAIL"}).kind, BlocklistResult::Kind::Error);
}

}  // namespace
}  // namespace valija::policy
