#include "auth/throttle.hpp"

#include <gtest/gtest.h>

namespace valija::auth {
namespace {

using namespace std::chrono_literals;

TEST(Throttle, DelaysGrowThenLockout) {
  ThrottleLimits l;
  l.failures = 4;
  l.base_delay = 100ms;
  l.max_delay = 300ms;
  Throttle t(l);
  auto now = Throttle::Clock::time_point{} + 1h;
  bool locked = false;
  EXPECT_FALSE(t.locked("192.0.2.1", now));
  EXPECT_EQ(t.failed("192.0.2.1", now, locked), 100ms);
  EXPECT_FALSE(locked);
  EXPECT_EQ(t.failed("192.0.2.1", now, locked), 200ms);
  EXPECT_EQ(t.failed("192.0.2.1", now, locked), 300ms);  // capped
  EXPECT_FALSE(t.locked("192.0.2.1", now));
  EXPECT_EQ(t.failed("192.0.2.1", now, locked), 300ms);
  EXPECT_TRUE(locked);
  EXPECT_TRUE(t.locked("192.0.2.1", now + 899s));
  EXPECT_FALSE(t.locked("192.0.2.2", now));  // other addresses are not affected
  EXPECT_FALSE(t.locked("192.0.2.1", now + 901s));
}

// Failures per account are counted apart from addresses, with their own threshold.
TEST(Throttle, AccountsAreCountedApartFromAddresses) {
  ThrottleLimits l;
  l.failures = 100;
  l.account_failures = 3;
  Throttle t(l);
  auto now = Throttle::Clock::time_point{} + 1h;
  bool locked = false;
  auto ana = Throttle::account_key("Ana@Example.ORG");
  EXPECT_EQ(ana, "ana@example.org");
  for (int i = 0; i < 2; ++i) t.failed(Throttle::Scope::Account, ana, now, locked);
  EXPECT_FALSE(locked);
  EXPECT_FALSE(t.locked(Throttle::Scope::Account, ana, now));
  t.failed(Throttle::Scope::Account, ana, now, locked);
  EXPECT_TRUE(locked);
  EXPECT_TRUE(t.locked(Throttle::Scope::Account, ana, now + 10s));
  EXPECT_FALSE(t.locked(Throttle::Scope::Account, "bob@example.org", now));
  EXPECT_FALSE(t.locked(ana, now));  // the address table has nothing of it
  EXPECT_EQ(t.tracked(Throttle::Scope::Account), 1u);
  EXPECT_EQ(t.tracked(Throttle::Scope::Address), 0u);
  EXPECT_FALSE(t.locked(Throttle::Scope::Account, ana, now + 901s));
}

TEST(Throttle, AccountCountingCanBeOff) {
  ThrottleLimits l;
  l.account_failures = 0;
  Throttle t(l);
  auto now = Throttle::Clock::time_point{} + 1h;
  bool locked = false;
  for (int i = 0; i < 50; ++i) EXPECT_EQ(t.failed(Throttle::Scope::Account, "ana@example.org", now, locked).count(), 0);
  EXPECT_FALSE(t.locked(Throttle::Scope::Account, "ana@example.org", now));
  EXPECT_EQ(t.tracked(Throttle::Scope::Account), 0u);
}

TEST(Throttle, WindowForgetsOldFailures) {
  ThrottleLimits l;
  l.failures = 3;
  l.window = 60s;
  Throttle t(l);
  auto now = Throttle::Clock::time_point{} + 1h;
  bool locked = false;
  t.failed("a", now, locked);
  t.failed("a", now + 10s, locked);
  // The window started at the first failure; 61 s later it starts over.
  EXPECT_EQ(t.failed("a", now + 61s, locked), l.base_delay);
  EXPECT_FALSE(locked);
  t.failed("a", now + 62s, locked);
  t.failed("a", now + 63s, locked);
  EXPECT_TRUE(locked);
}

TEST(Throttle, Ipv6CountsPerSlash64) {
  EXPECT_EQ(Throttle::key_of("192.0.2.7"), "192.0.2.7");
  EXPECT_EQ(Throttle::key_of("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
  EXPECT_EQ(Throttle::key_of("2001:db8:1:2:bbbb:cccc:dddd:eeee"), "2001:db8:1:2::/64");
  EXPECT_NE(Throttle::key_of("2001:db8:1:3::1"), Throttle::key_of("2001:db8:1:2::1"));
  EXPECT_EQ(Throttle::key_of("::1"), "::/64");
  EXPECT_EQ(Throttle::key_of("not an address"), "not an address");
}

TEST(Throttle, FullTableSparesLockedOutAddresses) {
  ThrottleLimits l;
  l.max_addresses = 10;
  l.failures = 2;
  Throttle t(l);
  auto now = Throttle::Clock::time_point{} + 1h;
  bool locked = false;
  t.failed("attacker", now, locked);
  t.failed("attacker", now, locked);
  ASSERT_TRUE(locked);
  // A flood of fresh addresses to push it out.
  for (int i = 0; i < 100; ++i) t.failed("flood" + std::to_string(i), now + std::chrono::seconds(i + 1), locked);
  EXPECT_LE(t.tracked(), 10u);
  EXPECT_TRUE(t.locked("attacker", now + 200s));
}

TEST(Throttle, MemoryIsBounded) {
  ThrottleLimits l;
  l.max_addresses = 100;
  Throttle t(l);
  auto now = Throttle::Clock::time_point{} + 1h;
  bool locked = false;
  for (int i = 0; i < 1000; ++i) t.failed("10.0.0." + std::to_string(i), now + std::chrono::milliseconds(i), locked);
  EXPECT_LE(t.tracked(), 100u);
  // The newest are the ones kept.
  EXPECT_EQ(t.failed("10.0.0.999", now + 2s, locked), l.base_delay * 2);
}

}  // namespace
}  // namespace valija::auth
