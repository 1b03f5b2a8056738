#include "dns/mx.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace valija::dns {
namespace {

MxAnswer answer(std::vector<MxRecord> records) { return MxAnswer{Outcome::Answer, std::move(records), ""}; }

std::vector<unsigned char> bytes(std::string_view s) { return {s.begin(), s.end()}; }

std::vector<unsigned char> mx_rdata(std::uint16_t pref, std::string_view name) {
  std::vector<unsigned char> out{static_cast<unsigned char>(pref >> 8), static_cast<unsigned char>(pref & 0xFF)};
  auto w = to_wire_name(name);
  out.insert(out.end(), w.begin(), w.end());
  return out;
}

TEST(MxPlan, SortedByPreference) {
  std::mt19937_64 rng(1);
  auto p = plan_mx("example.org", answer({{30, "c.example.org"}, {10, "a.example.org"}, {20, "b.example.org"}}), rng);
  ASSERT_EQ(p.kind, MxPlan::Kind::Hosts);
  EXPECT_FALSE(p.implicit);
  ASSERT_EQ(p.hosts.size(), 3u);
  EXPECT_EQ(p.hosts[0].exchange, "a.example.org");
  EXPECT_EQ(p.hosts[1].exchange, "b.example.org");
  EXPECT_EQ(p.hosts[2].exchange, "c.example.org");
}

TEST(MxPlan, EqualPreferencesAreShuffledButStayInTheirGroup) {
  // RFC 5321 §5.1: hosts of equal preference in random order, each group before the next.
  std::map<std::string, int> first;
  for (std::uint64_t seed = 0; seed < 200; ++seed) {
    std::mt19937_64 rng(seed);
    auto p = plan_mx("example.org",
                     answer({{10, "a.example.org"}, {10, "b.example.org"}, {10, "c.example.org"}, {5, "best.example.org"},
                             {50, "last.example.org"}}),
                     rng);
    ASSERT_EQ(p.hosts.size(), 5u);
    EXPECT_EQ(p.hosts.front().exchange, "best.example.org");
    EXPECT_EQ(p.hosts.back().exchange, "last.example.org");
    std::set<std::string> middle{p.hosts[1].exchange, p.hosts[2].exchange, p.hosts[3].exchange};
    EXPECT_EQ(middle, (std::set<std::string>{"a.example.org", "b.example.org", "c.example.org"}));
    ++first[p.hosts[1].exchange];
  }
  // Each of the three comes first sometimes (200 draws: each ~67; 20 is far below).
  for (const char* h : {"a.example.org", "b.example.org", "c.example.org"}) EXPECT_GT(first[h], 20) << h;
}

TEST(MxPlan, ImplicitMxWhenNoRecords) {
  std::mt19937_64 rng(1);
  auto p = plan_mx("Example.ORG", MxAnswer{Outcome::NoData, {}, ""}, rng);
  ASSERT_EQ(p.kind, MxPlan::Kind::Hosts);
  EXPECT_TRUE(p.implicit);
  ASSERT_EQ(p.hosts.size(), 1u);
  EXPECT_EQ(p.hosts[0].exchange, "example.org");
  auto q = plan_mx("example.org", answer({}), rng);
  EXPECT_TRUE(q.implicit);
}

TEST(MxPlan, NullMx) {
  std::mt19937_64 rng(1);
  EXPECT_EQ(plan_mx("example.org", answer({{0, ""}}), rng).kind, MxPlan::Kind::NullMx);
  // RFC 7505 §3: a null MX must be alone; with others it still says no mail.
  EXPECT_EQ(plan_mx("example.org", answer({{10, "mx.example.org"}, {0, ""}}), rng).kind, MxPlan::Kind::NullMx);
}

TEST(MxPlan, NxDomainAndTemporary) {
  std::mt19937_64 rng(1);
  EXPECT_EQ(plan_mx("nope.example", MxAnswer{Outcome::NxDomain, {}, "NXDOMAIN"}, rng).kind, MxPlan::Kind::NoDomain);
  auto t = plan_mx("example.org", MxAnswer{Outcome::Temporary, {}, "SERVFAIL"}, rng);
  EXPECT_EQ(t.kind, MxPlan::Kind::TryLater);
  EXPECT_EQ(t.detail, "SERVFAIL");
}

TEST(MxPlan, DuplicatesOnceAtBestPreferenceAndBounded) {
  std::mt19937_64 rng(1);
  auto p = plan_mx("example.org", answer({{20, "mx.example.org"}, {10, "mx.example.org"}, {30, "b.example.org"}}), rng);
  ASSERT_EQ(p.hosts.size(), 2u);
  EXPECT_EQ(p.hosts[0], (MxRecord{10, "mx.example.org"}));
  EXPECT_EQ(p.hosts[1], (MxRecord{30, "b.example.org"}));
  std::vector<MxRecord> many;
  for (int i = 0; i < 100; ++i) many.push_back({static_cast<std::uint16_t>(i), "h" + std::to_string(i) + ".example.org"});
  auto b = plan_mx("example.org", answer(many), rng, 10);
  ASSERT_EQ(b.hosts.size(), 10u);
  EXPECT_EQ(b.hosts.back().exchange, "h9.example.org");
}

TEST(MxRdata, Parses) {
  auto r = parse_mx_rdata(mx_rdata(10, "MX1.Example.ORG"));
  ASSERT_TRUE(r) << r.error().detail;
  EXPECT_EQ(r->preference, 10);
  EXPECT_EQ(r->exchange, "mx1.example.org");
  auto null_mx = parse_mx_rdata(mx_rdata(0, "."));
  ASSERT_TRUE(null_mx);
  EXPECT_EQ(null_mx->exchange, "");
  auto high = parse_mx_rdata(mx_rdata(65535, "a.b"));
  ASSERT_TRUE(high);
  EXPECT_EQ(high->preference, 65535);
}

TEST(MxRdata, RejectsMalformed) {
  EXPECT_FALSE(parse_mx_rdata(bytes("")));
  EXPECT_FALSE(parse_mx_rdata(bytes(std::string("\0\x0a", 2))));                 // no name
  EXPECT_FALSE(parse_mx_rdata(bytes(std::string("\0\x0a\x05" "ab", 5))));        // label past the end
  EXPECT_FALSE(parse_mx_rdata(bytes(std::string("\0\x0a\xc0\x0c", 4))));         // compression pointer
  EXPECT_FALSE(parse_mx_rdata(bytes(std::string("\0\x0a\x01" "a\0" "x", 6))));   // bytes after the name
  EXPECT_FALSE(parse_mx_rdata(bytes(std::string("\0\x0a\x03" "a b\0", 7))));     // space in a label
  EXPECT_FALSE(parse_mx_rdata(bytes(std::string("\0\x0a\x03" "a.b\0", 7))));     // dot inside a label
  // 255 octets at most: five 63-octet labels are 5 * 64 + 1 = 321.
  std::vector<unsigned char> longname{0, 10};
  for (int i = 0; i < 5; ++i) {
    longname.push_back(63);
    longname.insert(longname.end(), 63, 'a');
  }
  longname.push_back(0);
  EXPECT_FALSE(parse_mx_rdata(longname));
}

TEST(WireName, RoundTrip) {
  std::size_t used = 0;
  auto w = to_wire_name("mail.example.org.");
  auto n = parse_wire_name(bytes(w), used);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, "mail.example.org");
  EXPECT_EQ(used, w.size());
  EXPECT_EQ(to_wire_name("a..b"), "");
  EXPECT_EQ(to_wire_name(std::string(64, 'a')), "");
}

}  // namespace
}  // namespace valija::dns
