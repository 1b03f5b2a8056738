// Recipient routing over a real SQLite store: accounts, aliases, subaddresses,
// catch-alls, loops and limits.
#include "delivery/router.hpp"
#include "base/testing/temp_dir.hpp"
#include "store/forwarding_store.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <string>
#include <vector>

namespace valija::delivery {
namespace {

namespace fs = std::filesystem;

struct TempDir : test::TempDir {
  TempDir() : test::TempDir("valija-router") {}
};

// Forwards to the real store and counts the directory lookups the router makes.
class CountingStore final : public store::ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  std::atomic<std::size_t> lookups{0};

  Result<std::optional<store::Domain>> find_domain(std::string_view n) override {
    ++lookups;
    return s_.find_domain(n);
  }
  Result<std::optional<store::Account>> find_account(std::string_view l, std::string_view d) override {
    ++lookups;
    return s_.find_account(l, d);
  }
  Result<std::optional<store::Alias>> find_alias(std::string_view l, std::string_view d) override {
    ++lookups;
    return s_.find_alias(l, d);
  }
};

class RouterTest : public testing::Test {
 protected:
  void SetUp() override {
    auto s = store::open_sqlite({dir_.path() + "/data", true});
    ASSERT_TRUE(s) << s.error().message();
    store_ = std::move(*s);
    for (const char* d : {"example.org", "other.test"}) ASSERT_TRUE(store_->add_domain(d));
    for (const char* a : {"ana", "bob", "carol"}) ASSERT_TRUE(store_->add_account(a, "example.org", "h", 0));
    ASSERT_TRUE(store_->add_account("zed", "other.test", "h", 0));
  }

  void alias(const std::string& source, std::vector<std::string> targets) {
    auto at = source.rfind('@');
    auto r = store_->add_alias(source.substr(0, at), source.substr(at + 1), targets);
    ASSERT_TRUE(r) << source << ": " << r.error().message();
  }

  static mail::Mailbox mb(const std::string& address) {
    auto m = mail::parse_mailbox(address, true);
    EXPECT_TRUE(m) << address;
    return m ? *m : mail::Mailbox{};
  }

  tl::expected<Route, RouteError> resolve(const std::string& address) {
    Router router(*store_, limits_);
    return router.resolve(mb(address));
  }

  // The accounts an address delivers to, sorted.
  std::vector<std::string> accounts(const std::string& address) {
    auto r = resolve(address);
    EXPECT_TRUE(r) << address << ": " << (r ? "" : r.error().detail);
    std::vector<std::string> out;
    if (!r) return out;
    for (const auto& t : r->accounts) out.push_back(t.address);
    std::sort(out.begin(), out.end());
    return out;
  }

  RouteFailure failure(const std::string& address) {
    auto r = resolve(address);
    EXPECT_FALSE(r) << address << " resolved";
    return r ? RouteFailure::Temporary : r.error().kind;
  }

  using V = std::vector<std::string>;
  TempDir dir_;
  std::unique_ptr<store::Store> store_;
  Limits limits_;
};

TEST_F(RouterTest, Account) {
  ASSERT_TRUE(store_->set_quota("ana", "example.org", 5000, 10));
  auto r = resolve("ana@example.org");
  ASSERT_TRUE(r) << r.error().detail;
  ASSERT_EQ(r->accounts.size(), 1u);
  const auto& t = r->accounts[0];
  EXPECT_EQ(t.address, "ana@example.org");
  EXPECT_EQ(t.account, (*store_->find_account("ana", "example.org"))->id);
  EXPECT_EQ(t.quota_bytes, 5000u);
  EXPECT_EQ(t.quota_messages, 10u);
  EXPECT_EQ(t.used_bytes, 0u);
  EXPECT_TRUE(r->external.empty());
  EXPECT_FALSE(r->steps.empty());
}

TEST_F(RouterTest, CaseInsensitive) {
  EXPECT_EQ(accounts("ANA@example.org"), V{"ana@example.org"});
  EXPECT_EQ(accounts("Ana@EXAMPLE.ORG"), V{"ana@example.org"});
  alias("team@example.org", {"ana@example.org"});
  EXPECT_EQ(accounts("TeAm@Example.Org"), V{"ana@example.org"});
}

TEST_F(RouterTest, AliasToSeveralAccounts) {
  alias("team@example.org", {"ana@example.org", "bob@example.org", "zed@other.test"});
  EXPECT_EQ(accounts("team@example.org"), (V{"ana@example.org", "bob@example.org", "zed@other.test"}));
}

TEST_F(RouterTest, AliasChain) {
  alias("a@example.org", {"b@example.org"});
  alias("b@example.org", {"c@other.test"});
  alias("c@other.test", {"carol@example.org", "Bob@Example.org"});
  EXPECT_EQ(accounts("a@example.org"), (V{"bob@example.org", "carol@example.org"}));
}

TEST_F(RouterTest, AccountReachedTwiceIsDeliveredOnce) {
  alias("team@example.org", {"ana@example.org", "bob@example.org"});
  alias("all@example.org", {"team@example.org", "ana@example.org", "ANA@example.org", "bob@example.org"});
  auto r = resolve("all@example.org");
  ASSERT_TRUE(r) << r.error().detail;
  std::vector<std::string> got;
  for (const auto& t : r->accounts) got.push_back(t.address);
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (V{"ana@example.org", "bob@example.org"}));
}

TEST_F(RouterTest, CatchAll) {
  alias("@example.org", {"carol@example.org"});
  EXPECT_EQ(accounts("whoever@example.org"), V{"carol@example.org"});
  // Existing addresses still win.
  EXPECT_EQ(accounts("ana@example.org"), V{"ana@example.org"});
  // Other domains are unaffected.
  EXPECT_EQ(failure("whoever@other.test"), RouteFailure::Unknown);
}

TEST_F(RouterTest, Subaddress) {
  EXPECT_EQ(accounts("ana+lists@example.org"), V{"ana@example.org"});
  EXPECT_EQ(accounts("ANA+Lists@example.org"), V{"ana@example.org"});
  EXPECT_EQ(accounts("ana+a+b@example.org"), V{"ana@example.org"});
  EXPECT_EQ(accounts("ana+@example.org"), V{"ana@example.org"});
  alias("team@example.org", {"bob@example.org"});
  EXPECT_EQ(accounts("team+x@example.org"), V{"bob@example.org"});
  // "+x" alone has no base address.
  EXPECT_EQ(failure("+x@example.org"), RouteFailure::Unknown);
}

TEST_F(RouterTest, ExactAddressBeatsSubaddressBeatsCatchAll) {
  ASSERT_TRUE(store_->add_account("ana+special", "example.org", "h", 0));
  alias("bob+sales@example.org", {"carol@example.org"});
  alias("@example.org", {"zed@other.test"});
  EXPECT_EQ(accounts("ana+special@example.org"), V{"ana+special@example.org"});
  EXPECT_EQ(accounts("bob+sales@example.org"), V{"carol@example.org"});
  EXPECT_EQ(accounts("ana+other@example.org"), V{"ana@example.org"});
  EXPECT_EQ(accounts("bob+other@example.org"), V{"bob@example.org"});
  EXPECT_EQ(accounts("nobody+x@example.org"), V{"zed@other.test"});
  EXPECT_EQ(accounts("nobody@example.org"), V{"zed@other.test"});
}

TEST_F(RouterTest, Unknown) {
  EXPECT_EQ(failure("nobody@example.org"), RouteFailure::Unknown);
  EXPECT_EQ(failure("nobody+tag@example.org"), RouteFailure::Unknown);
  EXPECT_EQ(failure("ana@other.test"), RouteFailure::Unknown);
}

TEST_F(RouterTest, NonLocalDomain) {
  EXPECT_EQ(failure("ana@elsewhere.test"), RouteFailure::NotLocal);
  EXPECT_EQ(failure("ana@sub.example.org"), RouteFailure::NotLocal);
}

TEST_F(RouterTest, AddressLiteralIsNotLocal) {
  EXPECT_EQ(failure("ana@[192.0.2.1]"), RouteFailure::NotLocal);
  EXPECT_EQ(failure("ana@[IPv6:2001:db8::1]"), RouteFailure::NotLocal);
}

TEST_F(RouterTest, IsLocal) {
  Router router(*store_, limits_);
  EXPECT_TRUE(*router.is_local("example.org"));
  EXPECT_TRUE(*router.is_local("Other.TEST"));
  EXPECT_FALSE(*router.is_local("elsewhere.test"));
}

TEST_F(RouterTest, AliasLoopWithoutAccountsIsLoop) {
  alias("a@example.org", {"b@example.org"});
  alias("b@example.org", {"a@example.org"});
  EXPECT_EQ(failure("a@example.org"), RouteFailure::Loop);
  alias("self@example.org", {"self@example.org"});
  EXPECT_EQ(failure("self@example.org"), RouteFailure::Loop);
}

TEST_F(RouterTest, AliasLoopWithAnAccountDelivers) {
  alias("a@example.org", {"b@example.org", "ana@example.org"});
  alias("b@example.org", {"a@example.org", "bob@example.org"});
  EXPECT_EQ(accounts("a@example.org"), (V{"ana@example.org", "bob@example.org"}));
  EXPECT_EQ(accounts("b@example.org"), (V{"ana@example.org", "bob@example.org"}));
}

TEST_F(RouterTest, ChainDepthLimit) {
  limits_.alias_depth = 3;
  // Three alias hops reach the account: allowed.
  alias("h1@example.org", {"h2@example.org"});
  alias("h2@example.org", {"h3@example.org"});
  alias("h3@example.org", {"ana@example.org"});
  EXPECT_EQ(accounts("h1@example.org"), V{"ana@example.org"});
  // Four are deeper than the limit.
  alias("h0@example.org", {"h1@example.org"});
  EXPECT_EQ(failure("h0@example.org"), RouteFailure::Loop);
}

TEST_F(RouterTest, DefaultDepthLimit) {
  ASSERT_EQ(limits_.alias_depth, 10u);
  for (int i = 0; i < 12; ++i)
    alias("d" + std::to_string(i) + "@example.org", {"d" + std::to_string(i + 1) + "@example.org"});
  alias("d12@example.org", {"ana@example.org"});
  EXPECT_EQ(accounts("d3@example.org"), V{"ana@example.org"});  // 10 hops
  EXPECT_EQ(failure("d2@example.org"), RouteFailure::Loop);     // 11 hops
}

TEST_F(RouterTest, FanOutLimit) {
  limits_.alias_fanout = 2;
  alias("two@example.org", {"ana@example.org", "bob@example.org"});
  alias("three@example.org", {"ana@example.org", "bob@example.org", "carol@example.org"});
  alias("dups@example.org", {"two@example.org", "ana@example.org", "bob@example.org"});
  EXPECT_EQ(accounts("two@example.org"), (V{"ana@example.org", "bob@example.org"}));
  EXPECT_EQ(failure("three@example.org"), RouteFailure::FanOut);
  // The same account counts once.
  EXPECT_EQ(accounts("dups@example.org"), (V{"ana@example.org", "bob@example.org"}));
}

TEST_F(RouterTest, ExternalTargetsCollected) {
  alias("fwd@example.org", {"ana@example.org", "someone@elsewhere.test", "other@far.example"});
  alias("fwd2@example.org", {"fwd@example.org", "someone@elsewhere.test"});
  auto r = resolve("fwd2@example.org");
  ASSERT_TRUE(r) << r.error().detail;
  ASSERT_EQ(r->accounts.size(), 1u);
  EXPECT_EQ(r->accounts[0].address, "ana@example.org");
  auto ext = r->external;
  std::sort(ext.begin(), ext.end());
  EXPECT_EQ(ext, (V{"other@far.example", "someone@elsewhere.test"}));
}

TEST_F(RouterTest, OnlyExternalTargets) {
  alias("away@example.org", {"me@elsewhere.test"});
  auto r = resolve("away@example.org");
  ASSERT_TRUE(r) << r.error().detail;
  EXPECT_TRUE(r->accounts.empty());
  EXPECT_EQ(r->external, V{"me@elsewhere.test"});
}

TEST_F(RouterTest, UnknownTargetInAliasIsSkipped) {
  alias("team@example.org", {"ana@example.org", "typo@example.org", "gone@other.test"});
  EXPECT_EQ(accounts("team@example.org"), V{"ana@example.org"});
  alias("dead@example.org", {"typo@example.org"});
  EXPECT_FALSE(resolve("dead@example.org"));
}

// A catch-all whose targets are gone must not make every unknown recipient cost a
// number of lookups that grows with the factorial of the number of targets: each
// address only needs expanding once.
TEST_F(RouterTest, DeadCatchAllTargetsExpandOnce) {
  alias("@example.org", {"old1@example.org", "old2@example.org", "old3@example.org", "old4@example.org",
                         "old5@example.org"});
  CountingStore counting(*store_);
  Router router(counting, limits_);
  auto r = router.resolve(mb("random@example.org"));
  EXPECT_FALSE(r);
  // 6 addresses, a handful of lookups each.
  EXPECT_LE(counting.lookups.load(), 60u) << "lookups for one recipient";
}

TEST_F(RouterTest, LiveCatchAllTargetInOtherDomain) {
  alias("@example.org", {"zed@other.test"});
  alias("@other.test", {"carol@example.org"});
  EXPECT_EQ(accounts("x@example.org"), V{"zed@other.test"});
  EXPECT_EQ(accounts("x@other.test"), V{"carol@example.org"});
}

}  // namespace
}  // namespace valija::delivery
