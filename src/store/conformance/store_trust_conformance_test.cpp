// Store conformance, mail-authentication data: DKIM keys (per domain, states, removal
// with the domain) and the greylist (delay, pass, expiry), across a reopen.
#include <gtest/gtest.h>

#include "store/conformance/store_conformance.hpp"

namespace valija::store::conformance {
namespace {

template <class Engine>
class StoreTrust : public StoreFixture<Engine> {
 protected:
  static DkimKey key(std::string domain, std::string selector, DkimKeyState state = DkimKeyState::Pending) {
    return DkimKey{std::move(domain), std::move(selector), "ed25519-sha256", "-----BEGIN PRIVATE KEY-----", "p==",
                   1700000000, state};
  }
};
TYPED_TEST_SUITE(StoreTrust, Engines, EngineNames);

TYPED_TEST(StoreTrust, DkimKeysPerDomainWithStates) {
  auto& s = this->s();
  this->domain("example.org");
  this->domain("example.net");
  ASSERT_TRUE(s.add_dkim_key(this->key("example.org", "s2026", DkimKeyState::Active)));
  ASSERT_TRUE(s.add_dkim_key(this->key("Example.ORG", "S2027")));
  ASSERT_TRUE(s.add_dkim_key(this->key("example.net", "s2026")));
  auto dup = s.add_dkim_key(this->key("example.org", "s2026"));
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, Errc::Exists);
  auto none = s.add_dkim_key(this->key("nowhere.example", "s1"));
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, Errc::NotFound);

  auto org = s.list_dkim_keys("example.org").value();
  ASSERT_EQ(org.size(), 2u);
  EXPECT_EQ(org[0].selector, "s2026");
  EXPECT_EQ(org[0].state, DkimKeyState::Active);
  EXPECT_EQ(org[1].selector, "s2027");
  EXPECT_EQ(org[1].private_key, "-----BEGIN PRIVATE KEY-----");
  EXPECT_EQ(s.list_dkim_keys(std::nullopt).value().size(), 3u);

  ASSERT_TRUE(s.set_dkim_key_state("example.org", "s2027", DkimKeyState::Active));
  ASSERT_TRUE(s.set_dkim_key_state("example.org", "s2026", DkimKeyState::Retired));
  EXPECT_FALSE(s.set_dkim_key_state("example.org", "nope", DkimKeyState::Active));
  this->reopen();
  org = this->s().list_dkim_keys("example.org").value();
  EXPECT_EQ(org[0].state, DkimKeyState::Retired);
  EXPECT_EQ(org[1].state, DkimKeyState::Active);

  ASSERT_TRUE(this->s().remove_dkim_key("example.org", "s2026"));
  EXPECT_FALSE(this->s().remove_dkim_key("example.org", "s2026"));
  ASSERT_TRUE(this->s().remove_domain("example.net", false));  // keys do not hold a domain
  EXPECT_EQ(this->s().list_dkim_keys(std::nullopt).value().size(), 1u);
}

TYPED_TEST(StoreTrust, GreylistDelaysThenPassesAndForgets) {
  auto& s = this->s();
  GreylistPolicy p;  // 300 s delay, 1 day to retry, 36 days remembered
  auto first = s.greylist("192.0.2.0/24 a@x.example b@y.example", 1000, p).value();
  EXPECT_FALSE(first.pass);
  EXPECT_EQ(first.retry_after, 300);
  auto early = s.greylist("192.0.2.0/24 a@x.example b@y.example", 1100, p).value();
  EXPECT_FALSE(early.pass);
  EXPECT_EQ(early.retry_after, 200);
  this->reopen();
  EXPECT_TRUE(this->s().greylist("192.0.2.0/24 a@x.example b@y.example", 1300, p).value().pass);
  // Remembered after passing, even past the retry window.
  EXPECT_TRUE(this->s().greylist("192.0.2.0/24 a@x.example b@y.example", 1300 + 2 * 86400, p).value().pass);
  // A triplet not retried within the window starts over.
  EXPECT_FALSE(this->s().greylist("other", 1000, p).value().pass);
  EXPECT_FALSE(this->s().greylist("other", 1000 + 86401, p).value().pass);
  // A pass unused for longer than its lifetime is forgotten.
  EXPECT_FALSE(this->s().greylist("192.0.2.0/24 a@x.example b@y.example", 1300 + 40 * 86400, p).value().pass);
}

}  // namespace
}  // namespace valija::store::conformance
