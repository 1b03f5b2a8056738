#include "base/client_key.hpp"

#include <gtest/gtest.h>

namespace valija {
namespace {

TEST(ClientKey, GroupsIpv6By64) {
  EXPECT_EQ(client_key("192.0.2.1"), "192.0.2.1");
  EXPECT_EQ(client_key("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
  EXPECT_EQ(client_key("2001:db8:1:2::ffff"), "2001:db8:1:2::/64");
  EXPECT_EQ(client_key("::ffff:192.0.2.7"), "192.0.2.7");
}

}  // namespace
}  // namespace valija
