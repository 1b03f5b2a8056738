// Unit tests of the SPF parts: record syntax, macros (RFC 7208 §7.4 exactly), the
// evaluator's queries and errors, and the Received-SPF field. Whole scenarios over zone
// data are in spf_suite_test.cpp (tests/data/spf).
#include "policy/spf.hpp"

#include <gtest/gtest.h>

#include "policy/spf_detail.hpp"
#include "policy/spf_test_util.hpp"

namespace valija::policy::spf {
namespace {

using dns::RrType;
using testing::Zone;

TEST(SpfResult, Names) {
  EXPECT_EQ(name(Result::None), "none");
  EXPECT_EQ(name(Result::Neutral), "neutral");
  EXPECT_EQ(name(Result::Pass), "pass");
  EXPECT_EQ(name(Result::Fail), "fail");
  EXPECT_EQ(name(Result::SoftFail), "softfail");
  EXPECT_EQ(name(Result::TempError), "temperror");
  EXPECT_EQ(name(Result::PermError), "permerror");
}

// --- Records ---

TEST(SpfRecord, Selection) {  // RFC 7208 §4.5
  EXPECT_TRUE(is_spf_record("v=spf1"));
  EXPECT_TRUE(is_spf_record("v=spf1 -all"));
  EXPECT_TRUE(is_spf_record("V=SPF1 -all"));
  EXPECT_FALSE(is_spf_record("v=spf10 -all"));
  EXPECT_FALSE(is_spf_record("v=spf1-all"));
  EXPECT_FALSE(is_spf_record(" v=spf1 -all"));
  EXPECT_FALSE(is_spf_record("v=spf1\t-all"));
  EXPECT_FALSE(is_spf_record("spf2.0/pra -all"));
}

TEST(SpfRecord, ParsesEveryMechanism) {
  auto r = parse_record(
      "v=spf1 +all -include:_spf.example.com ~a ?a:%{d}.example.org/24//64 mx/28 mx:mx.example.org//48 ptr "
      "ptr:example.net ip4:192.0.2.0/24 ip6:2001:db8::/32 exists:%{ir}.%{v}._spf.%{d} redirect=_spf.example.com "
      "exp=explain._spf.%{d} moo.cow-far_out=man:dog/cat");
  ASSERT_TRUE(r) << r.error().detail;
  ASSERT_EQ(r->directives.size(), 11u);
  const auto& d = r->directives;
  EXPECT_EQ(d[0].mechanism, Mechanism::All);
  EXPECT_EQ(d[0].qualifier, Qualifier::Pass);
  EXPECT_EQ(d[1].mechanism, Mechanism::Include);
  EXPECT_EQ(d[1].qualifier, Qualifier::Fail);
  EXPECT_EQ(d[1].domain_spec, "_spf.example.com");
  EXPECT_EQ(d[1].term, "-include:_spf.example.com");
  EXPECT_EQ(d[2].qualifier, Qualifier::SoftFail);
  EXPECT_EQ(d[2].domain_spec, "");
  EXPECT_EQ(d[3].qualifier, Qualifier::Neutral);
  EXPECT_EQ(d[3].domain_spec, "%{d}.example.org");
  EXPECT_EQ(d[3].cidr4, 24);
  EXPECT_EQ(d[3].cidr6, 64);
  EXPECT_EQ(d[4].mechanism, Mechanism::Mx);
  EXPECT_EQ(d[4].cidr4, 28);
  EXPECT_EQ(d[4].cidr6, 128);
  EXPECT_EQ(d[5].cidr4, 32);
  EXPECT_EQ(d[5].cidr6, 48);
  EXPECT_EQ(d[6].mechanism, Mechanism::Ptr);
  EXPECT_EQ(d[7].domain_spec, "example.net");
  EXPECT_EQ(d[8].mechanism, Mechanism::Ip4);
  EXPECT_EQ(d[8].cidr4, 24);
  EXPECT_EQ(d[8].network[0], 192);
  EXPECT_EQ(d[8].network[2], 2);
  EXPECT_EQ(d[9].mechanism, Mechanism::Ip6);
  EXPECT_EQ(d[9].cidr6, 32);
  EXPECT_EQ(d[9].network[1], 0x01);
  EXPECT_EQ(d[10].mechanism, Mechanism::Exists);
  EXPECT_EQ(r->redirect, "_spf.example.com");
  EXPECT_EQ(r->exp, "explain._spf.%{d}");
}

TEST(SpfRecord, NamesIgnoreCaseAndSpacesRepeat) {
  auto r = parse_record("v=spf1   IP4:192.0.2.1   Include:example.com  REDIRECT=example.org  ");
  ASSERT_TRUE(r) << r.error().detail;
  EXPECT_EQ(r->directives.size(), 2u);
  EXPECT_EQ(r->directives[1].mechanism, Mechanism::Include);
  EXPECT_EQ(r->redirect, "example.org");
  auto empty = parse_record("v=spf1");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->directives.empty());
}

TEST(SpfRecord, OddButValidDomainSpecs) {
  // macro-literal allows ':' and '/'; a '/' not followed by digits is not a CIDR length.
  auto r = parse_record("v=spf1 a:foo:bar/baz.example.com a:example.com. exists:%{l}%% a:1-2.example.1-2");
  ASSERT_TRUE(r) << r.error().detail;
  EXPECT_EQ(r->directives[0].domain_spec, "foo:bar/baz.example.com");
  EXPECT_EQ(r->directives[0].cidr4, 32);
}

TEST(SpfRecord, SyntaxErrors) {
  for (const char* bad : {
           "v=spf1 -all:foo",              // all takes nothing
           "v=spf1 all/24",
           "v=spf1 foo",                   // unknown mechanism
           "v=spf1 redirect:example.com",  // a modifier written as a mechanism
           "v=spf1 include",               // include needs a domain-spec
           "v=spf1 include:",
           "v=spf1 exists",
           "v=spf1 a:",
           "v=spf1 a:foo-bar",             // no "." toplabel
           "v=spf1 a:museum",
           "v=spf1 a:museum.",
           "v=spf1 a:example.123",         // numeric toplabel
           "v=spf1 a:example.-com",
           "v=spf1 a:example.com-",
           "v=spf1 a:example.com..",
           "v=spf1 a/33",
           "v=spf1 a//129",
           "v=spf1 a/024",
           "v=spf1 a/24/64",
           "v=spf1 mx/",
           "v=spf1 ptr/24",
           "v=spf1 ip4",
           "v=spf1 ip4:",
           "v=spf1 ip4:192.0.2",
           "v=spf1 ip4:192.0.2.1/33",
           "v=spf1 ip4:192.0.2.1/",
           "v=spf1 ip4:192.0.02.1",
           "v=spf1 ip4:192.0.2.1/08",
           "v=spf1 ip4:2001:db8::1",
           "v=spf1 ip6:192.0.2.1",
           "v=spf1 ip6:2001:db8::g",
           "v=spf1 ip6:2001:db8::/129",
           "v=spf1 include:example.com/24",
           "v=spf1 exists:%{x}.example.com",
           "v=spf1 exists:%{c}.example.com",  // c, r, t only in explanations
           "v=spf1 exists:%{r}.example.com",
           "v=spf1 exists:%{t}.example.com",
           "v=spf1 exists:%{d0}.example.com",
           "v=spf1 exists:%{d.example.com",
           "v=spf1 exists:%d.example.com",
           "v=spf1 exists:%.example.com",
           "v=spf1 exists:%{dr!}.example.com",
           "v=spf1 redirect=",
           "v=spf1 exp=",
           "v=spf1 redirect=a.example.com redirect=b.example.com",
           "v=spf1 exp=a.example.com exp=b.example.com",
           "v=spf1 redirect=%{c}.example.com",
           "v=spf1 moo.cow/far_out=man:dog/cat",
           "v=spf1 moo.cow:far_out=man:dog/cat",
           "v=spf1 foo=%{x}",
           "v=spf1 foo=%",
           "v=spf1 -",
           "v=spf1 ip4:192.0.2.1\t-all",
           "v=spf1 a:\xc3\xa9.example.com",
           "v=spf1 -all\r\n",
       }) {
    EXPECT_FALSE(parse_record(bad)) << bad;
  }
}

TEST(SpfRecord, Bounds) {
  std::string many = "v=spf1";
  for (std::size_t i = 0; i < kMaxTerms; ++i) many += " ?all";
  EXPECT_TRUE(parse_record(many));
  EXPECT_FALSE(parse_record(many + " ?all"));
  std::string long_record = "v=spf1 " + std::string(kMaxRecordLength, ' ') + "-all";
  EXPECT_FALSE(parse_record(long_record));
  EXPECT_FALSE(parse_record("not spf"));
}

// --- Macros ---

MacroContext rfc_context(std::string ip) {  // RFC 7208 §7.4
  MacroContext ctx;
  ctx.sender = "strong-bad@email.example.com";
  ctx.local = "strong-bad";
  ctx.sender_domain = "email.example.com";
  ctx.domain = "email.example.com";
  ctx.ip = std::move(ip);
  ctx.helo = "mx.example.org";
  ctx.validated = "mx.example.org";
  return ctx;
}

std::string expanded(std::string_view m, const MacroContext& ctx, bool explanation = false) {
  auto r = expand(m, ctx, explanation);
  return r ? *r : "ERROR: " + r.error().detail;
}

TEST(SpfMacro, Rfc7208Examples) {
  auto ctx = rfc_context("192.0.2.3");
  const std::pair<const char*, const char*> cases[] = {
      {"%{s}", "strong-bad@email.example.com"},
      {"%{o}", "email.example.com"},
      {"%{d}", "email.example.com"},
      {"%{d4}", "email.example.com"},
      {"%{d3}", "email.example.com"},
      {"%{d2}", "example.com"},
      {"%{d1}", "com"},
      {"%{dr}", "com.example.email"},
      {"%{d2r}", "example.email"},
      {"%{l}", "strong-bad"},
      {"%{l-}", "strong.bad"},
      {"%{lr}", "strong-bad"},
      {"%{lr-}", "bad.strong"},
      {"%{l1r-}", "strong"},
      {"%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com"},
      {"%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com"},
      {"%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", "bad.strong.lp.3.2.0.192.in-addr._spf.example.com"},
      {"%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", "3.2.0.192.in-addr.strong.lp._spf.example.com"},
      {"%{d2}.trusted-domains.example.net", "example.com.trusted-domains.example.net"},
  };
  for (const auto& [m, want] : cases) EXPECT_EQ(expanded(m, ctx), want) << m;
  auto v6 = rfc_context("2001:db8::cb01");
  EXPECT_EQ(expanded("%{ir}.%{v}._spf.%{d2}", v6),
            "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com");
}

TEST(SpfMacro, LettersAndEscapes) {
  auto ctx = rfc_context("192.0.2.3");
  ctx.receiver = "mail.example.net";
  ctx.now = 1700000000;
  EXPECT_EQ(expanded("%{h}", ctx), "mx.example.org");
  EXPECT_EQ(expanded("%{p}", ctx), "mx.example.org");
  EXPECT_EQ(expanded("%{p2}", ctx), "example.org");
  EXPECT_EQ(expanded("%{i}", ctx), "192.0.2.3");
  EXPECT_EQ(expanded("%{v}", ctx), "in-addr");
  EXPECT_EQ(expanded("%{c} %{r} %{t}", ctx, true), "192.0.2.3 mail.example.net 1700000000");
  EXPECT_EQ(expanded("%%%_%-", ctx), "% %20");
  EXPECT_EQ(expanded("%{S}", ctx), "strong-bad%40email.example.com");
  EXPECT_EQ(expanded("%{L}", rfc_context("192.0.2.3")), "strong-bad");
  ctx.local = "a b/c~d";
  EXPECT_EQ(expanded("%{L}", ctx), "a%20b%2Fc~d");
  EXPECT_EQ(expanded("%{l/}", ctx), "a b.c~d");
  EXPECT_EQ(expanded("%{L/}", ctx), "a%20b.c~d");
  EXPECT_EQ(expanded("%{d99}", ctx), "email.example.com");
  EXPECT_EQ(expanded("%{d2147483648}", ctx), "email.example.com");
  EXPECT_EQ(expanded("%{dR}", ctx), "com.example.email");
  EXPECT_EQ(expanded("%{D}", ctx), "email.example.com");
  ctx.sender = "a+b=c@x";
  EXPECT_EQ(expanded("%{s+=}", ctx), "a.b.c@x");
  EXPECT_EQ(expanded("%{s1+=}", ctx), "c@x");
  EXPECT_EQ(expanded("%{s@}", ctx), "ERROR: invalid macro syntax (RFC 7208 section 7.1)");  // '@' is no delimiter
  EXPECT_EQ(expanded("x%{d1}y", ctx), "xcomy");
}

TEST(SpfMacro, UnknownReceiverAndValidated) {
  MacroContext ctx;
  ctx.ip = "192.0.2.3";
  ctx.validated.clear();
  EXPECT_EQ(expanded("%{r}", ctx, true), "unknown");
  EXPECT_EQ(expanded("%{p}", ctx), "unknown");
}

TEST(SpfMacro, Addresses) {
  auto mapped = rfc_context("::ffff:192.0.2.3");  // counts as IPv4
  EXPECT_EQ(expanded("%{i} %{v} %{c}", mapped, true), "192.0.2.3 in-addr 192.0.2.3");
  auto v6 = rfc_context("2001:DB8:0:0::cb01");
  EXPECT_EQ(expanded("%{c} %{v}", v6, true), "2001:db8::cb01 ip6");
  EXPECT_EQ(expanded("%{i2}", v6), "0.1");
  EXPECT_EQ(expanded("%{i2r}", v6), "0.2");
}

TEST(SpfMacro, ExplanationOnlyLetters) {
  auto ctx = rfc_context("192.0.2.3");
  for (const char* m : {"%{c}", "%{r}", "%{t}", "a b"}) {
    EXPECT_FALSE(expand(m, ctx, false)) << m;
    EXPECT_TRUE(expand(m, ctx, true)) << m;
  }
  EXPECT_FALSE(valid_macro_string("%{s", true));
  EXPECT_FALSE(valid_macro_string("%", true));
  EXPECT_FALSE(valid_macro_string("%{s0}", true));
  EXPECT_FALSE(valid_macro_string("\x01", true));
  EXPECT_FALSE(valid_macro_string("caf\xc3\xa9", true));
  EXPECT_TRUE(valid_macro_string("", true));
}

TEST(SpfMacro, ExpansionIsBounded) {
  auto ctx = rfc_context("192.0.2.3");
  ctx.local = std::string(2000, 'x');
  std::string m;
  for (int i = 0; i < 10; ++i) m += "%{L}";
  EXPECT_FALSE(expand(m, ctx, false));
}

TEST(SpfDomains, DomainSpecSyntax) {
  for (const char* ok : {"example.com", "example.com.", "%{d}", "x.%{d}", "%{l}.%%", "_spf.example.com", "a.1-2"})
    EXPECT_TRUE(valid_domain_spec(ok)) << ok;
  for (const char* bad : {"", "example", "example.123", "example.com..", "%{d}com", "example.c_m", "%{d}."})
    EXPECT_FALSE(valid_domain_spec(bad)) << bad;
}

TEST(SpfDomains, TargetNames) {  // RFC 7208 §7.3, §4.8
  using detail::target_name;
  EXPECT_EQ(target_name("Example.COM."), "example.com");
  EXPECT_FALSE(target_name(""));
  EXPECT_FALSE(target_name("a..example.com"));
  EXPECT_FALSE(target_name(".example.com"));
  EXPECT_FALSE(target_name(std::string(64, 'a') + ".example.com"));
  EXPECT_TRUE(target_name(std::string(63, 'a') + ".example.com"));
  EXPECT_FALSE(target_name("a b.example.com"));
  EXPECT_FALSE(target_name("a\\.example.com"));
  // Longer than 253: labels are dropped from the left until it fits.
  std::string label(60, 'x');
  std::string fits = std::string(58, 'y') + "." + label + "." + label + "." + label + ".example.com";
  ASSERT_EQ(fits.size(), 253u);
  EXPECT_EQ(target_name("1." + fits), fits);
  EXPECT_EQ(target_name("1." + fits + "."), fits);
  EXPECT_EQ(target_name("z" + fits), label + "." + label + "." + label + ".example.com");
  EXPECT_FALSE(target_name(std::string(300, 'a')));
}

TEST(SpfDomains, CheckHostDomains) {  // RFC 7208 §4.3
  using detail::valid_domain;
  EXPECT_TRUE(valid_domain("example.com"));
  EXPECT_TRUE(valid_domain("example.com."));
  EXPECT_TRUE(valid_domain("_spf.example.com"));
  EXPECT_FALSE(valid_domain("example"));
  EXPECT_FALSE(valid_domain("[192.0.2.1]"));
  EXPECT_FALSE(valid_domain("192.0.2.1"));
  EXPECT_FALSE(valid_domain("a..example.com"));
  EXPECT_FALSE(valid_domain(std::string(64, 'a') + ".example.com"));
  EXPECT_FALSE(valid_domain(""));
  EXPECT_TRUE(detail::within("mx.Example.com", "example.com"));
  EXPECT_TRUE(detail::within("example.com.", "EXAMPLE.com"));
  EXPECT_FALSE(detail::within("notexample.com", "example.com"));
  EXPECT_FALSE(detail::within("com", "example.com"));
}

// --- Evaluation ---

Input input(std::string ip, std::string sender, std::string helo = "mail.example.net") {
  Input in;
  in.ip = std::move(ip);
  in.sender = std::move(sender);
  in.helo = std::move(helo);
  in.receiver = "mx.example.org";
  return in;
}

TEST(SpfCheck, FirstRoundAsksOnlyTheSenderRecord) {
  Check check(input("192.0.2.1", "a@example.com"), Identity::MailFrom);
  auto step = check.evaluate(dns::Answers{});
  auto* q = std::get_if<std::vector<dns::Query>>(&step);
  ASSERT_TRUE(q);
  ASSERT_EQ(q->size(), 1u);
  EXPECT_EQ((*q)[0], dns::make_query("example.com", RrType::Txt));
}

TEST(SpfCheck, MxAsksAllExchangesAtOnce) {
  Zone z;
  z.add("example.com", RrType::Txt, "v=spf1 mx -all");
  for (const char* mx : {"mx1.example.com", "mx2.example.com", "mx3.example.com"}) z.add("example.com", RrType::Mx, mx);
  z.add("mx1.example.com", RrType::A, "192.0.2.10");
  z.add("mx2.example.com", RrType::A, "192.0.2.20");
  z.add("mx3.example.com", RrType::A, "192.0.2.30");
  testing::Trace trace;
  auto o = testing::run(Check(input("192.0.2.30", "a@example.com"), Identity::MailFrom), z, &trace);
  EXPECT_EQ(o.result, Result::Pass);
  EXPECT_EQ(o.mechanism, "mx");
  ASSERT_EQ(trace.asked.size(), 3u);  // TXT, MX, then the three A lookups together
  EXPECT_EQ(trace.asked[2].size(), 3u);
  for (const auto& q : trace.asked[2]) EXPECT_EQ(q.type, RrType::A);
}

TEST(SpfCheck, PtrAndValidatedNameAskForwardLookupsAtOnce) {
  Zone z;
  z.add("example.com", RrType::Txt, "v=spf1 ptr exists:%{p}.p.example.org -all");
  auto reverse = *dns::ptr_name("192.0.2.5");
  for (const char* n : {"a.example.com", "b.example.com", "c.example.net"}) z.add(reverse, RrType::Ptr, n);
  z.add("c.example.net", RrType::A, "192.0.2.5");
  z.add("c.example.net.p.example.org", RrType::A, "127.0.0.2");
  testing::Trace trace;
  auto o = testing::run(Check(input("192.0.2.5", "a@example.com"), Identity::MailFrom), z, &trace);
  EXPECT_EQ(o.result, Result::Pass);
  EXPECT_EQ(o.mechanism, "exists:%{p}.p.example.org");
  // TXT; PTR; "ptr" validates only the names below example.com, together; %{p} then
  // validates the one left; the exists lookup.
  ASSERT_EQ(trace.asked.size(), 5u);
  EXPECT_EQ(trace.asked[1], std::vector<dns::Query>{dns::make_query(reverse, RrType::Ptr)});
  EXPECT_EQ(trace.asked[2], (std::vector<dns::Query>{dns::make_query("a.example.com", RrType::A),
                                                     dns::make_query("b.example.com", RrType::A)}));
  EXPECT_EQ(trace.asked[3], std::vector<dns::Query>{dns::make_query("c.example.net", RrType::A)});
}

TEST(SpfCheck, MxStopsAskingOnceAnEarlierExchangeMatches) {
  Zone z;
  z.add("example.com", RrType::Txt, "v=spf1 mx -all");
  z.add("example.com", RrType::Mx, "mx1.example.com");
  z.add("example.com", RrType::Mx, "mx2.example.com");
  z.add("mx1.example.com", RrType::A, "192.0.2.10");
  Check check(input("192.0.2.10", "a@example.com"), Identity::MailFrom);
  dns::Answers answers;
  for (auto q : {dns::make_query("example.com", RrType::Txt), dns::make_query("example.com", RrType::Mx),
                 dns::make_query("mx1.example.com", RrType::A)})
    answers.add(q, z.resolve(q));
  // mx2's address is not known, but mx1 (judged first) already matches.
  auto step = check.evaluate(answers);
  ASSERT_TRUE(std::holds_alternative<Outcome>(step));
  EXPECT_EQ(std::get<Outcome>(step).result, Result::Pass);
}

TEST(SpfCheck, MxOrderDecidesBetweenTimeoutAndMatch) {
  Zone z;
  z.add("example.com", RrType::Txt, "v=spf1 mx -all");
  z.add("example.com", RrType::Mx, "mx1.example.com");
  z.add("example.com", RrType::Mx, "mx2.example.com");
  z.timeout("mx1.example.com", RrType::A);
  z.add("mx2.example.com", RrType::A, "192.0.2.20");
  // The first exchange's DNS error comes first: temperror, whichever answer arrived first.
  auto o = testing::run(Check(input("192.0.2.20", "a@example.com"), Identity::MailFrom), z);
  EXPECT_EQ(o.result, Result::TempError);
}

TEST(SpfCheck, TemporaryAnswersAreTempError) {
  struct Case {
    const char* record;
    const char* name;
    RrType type;
  } cases[] = {
      {"v=spf1 -all", "example.com", RrType::Txt},
      {"v=spf1 a -all", "example.com", RrType::A},
      {"v=spf1 mx -all", "example.com", RrType::Mx},
      {"v=spf1 exists:x.example.org -all", "x.example.org", RrType::A},
      {"v=spf1 include:x.example.org -all", "x.example.org", RrType::Txt},
      {"v=spf1 redirect=x.example.org", "x.example.org", RrType::Txt},
  };
  for (const auto& c : cases) {
    Zone z;
    if (std::string_view(c.name) != "example.com" || c.type != RrType::Txt) z.add("example.com", RrType::Txt, c.record);
    z.timeout(c.name, c.type);
    auto o = testing::run(Check(input("192.0.2.1", "a@example.com"), Identity::MailFrom), z);
    EXPECT_EQ(o.result, Result::TempError) << c.record;
    EXPECT_FALSE(o.problem.empty());
  }
}

TEST(SpfCheck, DeterministicReplay) {
  Zone z;
  z.add("example.com", RrType::Txt, "v=spf1 include:a.example.org mx:example.net ip4:192.0.2.0/24 -all");
  z.add("a.example.org", RrType::Txt, "v=spf1 a -all");
  z.add("example.net", RrType::Mx, "mx.example.net");
  Check check(input("192.0.2.7", "a@example.com"), Identity::MailFrom);
  dns::Answers answers;
  for (int i = 0; i < 20; ++i) {
    auto first = check.evaluate(answers);
    auto again = check.evaluate(answers);
    ASSERT_EQ(first.index(), again.index());
    if (auto* o = std::get_if<Outcome>(&first)) {
      EXPECT_EQ(o->result, Result::Pass);
      EXPECT_EQ(o->mechanism, "ip4:192.0.2.0/24");
      EXPECT_EQ(o->lookups, 3);  // include, the included record's "a", mx
      return;
    }
    auto& qs = std::get<std::vector<dns::Query>>(first);
    EXPECT_EQ(qs, std::get<std::vector<dns::Query>>(again));
    for (const auto& q : qs) answers.add(q, z.resolve(q));
  }
  FAIL() << "did not finish";
}

TEST(SpfCheck, NullSenderAndHeloIdentity) {
  Zone z;
  z.add("mail.example.net", RrType::Txt, "v=spf1 ip4:192.0.2.1 -all");
  auto o = testing::run(Check(input("192.0.2.1", "", "mail.example.net"), Identity::MailFrom), z);
  EXPECT_EQ(o.result, Result::Pass);
  EXPECT_EQ(o.domain, "mail.example.net");
  EXPECT_EQ(o.sender, "postmaster@mail.example.net");
  auto h = testing::run(Check(input("192.0.2.2", "a@example.com", "Mail.Example.NET"), Identity::Helo), z);
  EXPECT_EQ(h.result, Result::Fail);
  EXPECT_EQ(h.identity, Identity::Helo);
  EXPECT_EQ(h.domain, "mail.example.net");
  EXPECT_EQ(h.mechanism, "-all");
}

TEST(SpfCheck, BadClientAddress) {
  auto step = Check(input("not-an-ip", "a@example.com"), Identity::MailFrom).evaluate(dns::Answers{});
  ASSERT_TRUE(std::holds_alternative<Outcome>(step));
  EXPECT_EQ(std::get<Outcome>(step).result, Result::None);
  EXPECT_FALSE(std::get<Outcome>(step).problem.empty());
}

TEST(SpfCheck, ExplanationIsOnePrintableLine) {
  Zone z;
  z.add("example.com", RrType::Txt, "v=spf1 -all exp=why.example.com");
  z.add("why.example.com", RrType::Txt, "%{l} may not send from %{i}");
  Input in = input("192.0.2.1", "\"a\r\nb\"@example.com");
  auto o = testing::run(Check(in, Identity::MailFrom), z);
  EXPECT_EQ(o.result, Result::Fail);
  EXPECT_EQ(o.explanation, "\"a??b\" may not send from 192.0.2.1");
  z = Zone();
  z.add("example.com", RrType::Txt, "v=spf1 -all exp=why.example.com");
  z.add("why.example.com", RrType::Txt, std::string(1000, 'x'));
  o = testing::run(Check(input("192.0.2.1", "a@example.com"), Identity::MailFrom), z);
  EXPECT_EQ(o.explanation.size(), kMaxExplanation + 3);
}

TEST(SpfCheck, LookupLimitBoundsAnIncludeLoop) {
  Zone z;
  z.add("example.com", RrType::Txt, "v=spf1 include:example.com -all");
  auto o = testing::run(Check(input("192.0.2.1", "a@example.com"), Identity::MailFrom), z);
  EXPECT_EQ(o.result, Result::PermError);
  EXPECT_EQ(o.lookups, kMaxLookups);
}

// --- Received-SPF ---

std::string unfolded(std::string s) {
  for (std::size_t at; (at = s.find("\r\n ")) != std::string::npos;) s.replace(at, 2, "");
  return s;
}

// Every line ends in CRLF; no bare CR or LF; every line after the first is a continuation.
void expect_well_formed(const std::string& h) {
  ASSERT_GE(h.size(), 2u);
  EXPECT_EQ(h.substr(h.size() - 2), "\r\n");
  for (std::size_t i = 0; i < h.size(); ++i) {
    if (h[i] == '\r') {
      ASSERT_LT(i + 1, h.size());
      EXPECT_EQ(h[i + 1], '\n') << h;
      if (i + 2 < h.size()) {
        EXPECT_EQ(h[i + 2], ' ') << h;
      }
    } else if (h[i] == '\n') {
      EXPECT_TRUE(i > 0 && h[i - 1] == '\r') << h;
    } else {
      auto u = static_cast<unsigned char>(h[i]);
      EXPECT_TRUE(u >= 0x20 && u <= 0x7E) << h;
    }
  }
}

TEST(SpfReceived, Example) {
  Outcome o;
  o.result = Result::Pass;
  o.sender = "a@b.example";
  Input in = input("192.0.2.1", "a@b.example", "mx.b.example");
  in.receiver = "mail.example.org";
  auto h = received_spf(o, in);
  expect_well_formed(h);
  EXPECT_EQ(unfolded(h),
            "Received-SPF: pass (mail.example.org: domain of a@b.example designates 192.0.2.1 as permitted sender) "
            "client-ip=192.0.2.1; envelope-from=\"a@b.example\"; helo=mx.b.example; receiver=mail.example.org; "
            "identity=mailfrom\r\n");
  std::size_t from = 0;
  for (std::size_t at; (at = h.find("\r\n", from)) != std::string::npos; from = at + 2) EXPECT_LE(at - from, 78u);
}

TEST(SpfReceived, ErrorsAndMechanism) {
  Outcome o;
  o.result = Result::PermError;
  o.identity = Identity::Helo;
  o.sender = "postmaster@mx.b.example";
  o.problem = "more than 10 DNS-querying terms";
  auto h = unfolded(received_spf(o, input("2001:db8::1", "", "mx.b.example")));
  EXPECT_NE(h.find("Received-SPF: permerror (mx.example.org: permanent error"), std::string::npos) << h;
  EXPECT_NE(h.find("client-ip=\"2001:db8::1\";"), std::string::npos) << h;
  EXPECT_NE(h.find("problem=\"more than 10 DNS-querying terms\";"), std::string::npos) << h;
  EXPECT_NE(h.find("identity=helo\r\n"), std::string::npos) << h;
  o.result = Result::Fail;
  o.mechanism = "-all";
  h = unfolded(received_spf(o, input("192.0.2.1", "", "mx.b.example")));
  EXPECT_EQ(h.find("problem="), std::string::npos) << h;
  EXPECT_NE(h.find("identity=helo; mechanism=-all\r\n"), std::string::npos) << h;
  o.mechanism = "ip4:192.0.2.0/24";
  h = unfolded(received_spf(o, input("192.0.2.1", "", "mx.b.example")));
  EXPECT_NE(h.find("mechanism=\"ip4:192.0.2.0/24\"\r\n"), std::string::npos) << h;
}

TEST(SpfReceived, HostileValuesCannotBreakTheField) {
  Outcome o;
  o.result = Result::Neutral;
  o.sender = "x\"y\\z(@evil.example";
  o.mechanism = "a:\"x\r\nX-Injected: 1";
  Input in = input("192.0.2.1", o.sender, "evil\r\nX-Injected: yes");
  in.receiver = "mx.example.org\r\nX-Injected: too";
  auto h = received_spf(o, in);
  expect_well_formed(h);
  EXPECT_EQ(h.find("\nX-Injected"), std::string::npos) << h;
  auto u = unfolded(h);
  EXPECT_EQ(u.find("helo="), std::string::npos) << u;      // left out, not quoted with a CRLF in it
  EXPECT_EQ(u.find("receiver="), std::string::npos) << u;
  EXPECT_EQ(u.find("mechanism="), std::string::npos) << u;
  EXPECT_NE(u.find("envelope-from=\"x\\\"y\\\\z(@evil.example\""), std::string::npos) << u;
  EXPECT_NE(u.find("domain of x\"y\\\\z\\(@evil.example"), std::string::npos) << u;
  // Overlong values are left out; the comment is cut.
  in.helo = std::string(5000, 'h');
  o.sender = std::string(5000, 's');
  h = received_spf(o, in);
  expect_well_formed(h);
  EXPECT_LT(h.size(), 1000u);
}

}  // namespace
}  // namespace valija::policy::spf
